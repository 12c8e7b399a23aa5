"""Attacks on login and tokens against the real service: forged tokens, tokens of removed or
changed users, and brute force across both workers (the count lives in the users store)."""

from __future__ import annotations

import base64
import json
import re
import time

import httpx
import jwt
import pytest

from tests.conftest import Project
from tests.hardening.conftest import (
    USER_CACHE_SECONDS,
    USER_LIMIT,
    WINDOW_SECONDS,
    bearer,
    token_of,
    users_command,
)
from tests.service.conftest import SECRET, SEED_FEATURES, Server

pytestmark = pytest.mark.e2e


def predict(server: Server, token: str) -> httpx.Response:
    with server.fresh_client() as client:
        return client.post("/predict", json={"features": SEED_FEATURES}, headers=bearer(token))


def log_in(server: Server, username: str, password: str) -> httpx.Response:
    with server.fresh_client() as client:
        return client.post("/auth/token", data={"username": username, "password": password})


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# Forged tokens -----------------------------------------------------------------------------------

def forged_tokens(user_token: str) -> dict[str, str]:
    claims = claims_of(user_token)
    as_admin = {**claims, "role": "admin"}
    now = int(time.time())
    return {
        "alg none, role admin": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(as_admin)}.",
        "alg None spelled oddly": f"{b64({'alg': 'nOnE', 'typ': 'JWT'})}.{b64(as_admin)}.",
        "role admin re-signed with a guessed key": jwt.encode(
            as_admin, "secret-of-the-service-tests-only-0123456789abcdeF", algorithm="HS256"),
        "role admin re-signed with another long key": jwt.encode(
            as_admin, "x" * 48, algorithm="HS256"),
        "right key, HS384 not allowed": jwt.encode(claims, SECRET, algorithm="HS384"),
        "expired": jwt.encode({**claims, "exp": now - 5}, SECRET, algorithm="HS256"),
        "no exp": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, SECRET,
                             algorithm="HS256"),
        "no iat": jwt.encode({k: v for k, v in claims.items() if k != "iat"}, SECRET,
                             algorithm="HS256"),
        "iat in the future": jwt.encode({**claims, "iat": now + 3600}, SECRET,
                                        algorithm="HS256"),
        "sub a number": jwt.encode({**claims, "sub": 7}, SECRET, algorithm="HS256"),
        "sub a list": jwt.encode({**claims, "sub": ["user"]}, SECRET, algorithm="HS256"),
        "sub null": jwt.encode({**claims, "sub": None}, SECRET, algorithm="HS256"),
        "sub names no user": jwt.encode({**claims, "sub": "ghost"}, SECRET, algorithm="HS256"),
        "signature of another token": ".".join(
            user_token.split(".")[:2] + [jwt.encode(as_admin, SECRET).split(".")[2]]),
        "three dots": "...",
    }


@pytest.fixture(scope="module")
def user_token(hardening_server: Server) -> str:
    return token_of(hardening_server, "user", "user123")


@pytest.mark.parametrize("case", list(forged_tokens(
    jwt.encode({"sub": "user", "role": "user", "iat": 0, "exp": 1}, SECRET))))
def test_forged_token_answers_401(hardening_server: Server, user_token: str, case: str) -> None:
    token = forged_tokens(user_token)[case]
    with hardening_server.fresh_client() as client:
        answers = [client.post("/predict", json={"features": SEED_FEATURES},
                               headers=bearer(token)),
                   client.post("/retrain", headers=bearer(token))]
    for answer in answers:
        assert answer.status_code == 401, (case, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["detail"]
    assert predict(hardening_server, user_token).status_code == 200


def test_forged_token_detail_names_reason(hardening_server: Server, user_token: str) -> None:
    tokens = forged_tokens(user_token)
    details = {case: predict(hardening_server, tokens[case]).json()["detail"]
               for case in ("expired", "no exp", "sub names no user")}
    assert details == {
        "expired": "the token has expired; log in again",
        "no exp": 'invalid token: Token is missing the "exp" claim',
        "sub names no user": "invalid token: its user no longer exists",
    }


# Tokens of users who changed -----------------------------------------------------------------

def wait_for_status(server: Server, token: str, status: int) -> httpx.Response:
    """The user cache holds a user's standing USER_CACHE_SECONDS on each worker."""
    deadline = time.monotonic() + USER_CACHE_SECONDS + 5
    while True:
        answers = [predict(server, token) for _ in range(4)]  # both workers, likely
        if all(answer.status_code == status for answer in answers) \
                or time.monotonic() > deadline:
            return answers[-1]
        time.sleep(0.3)


def test_token_of_removed_user_answers_401(hardening_server: Server, hardening_project: Project,
                                           hardening_users_db: str) -> None:
    users_command(hardening_project, hardening_users_db, "add", "leaver",
                  password="a long pass phrase")
    token = token_of(hardening_server, "leaver", "a long pass phrase")
    assert predict(hardening_server, token).status_code == 200
    said = users_command(hardening_project, hardening_users_db, "remove", "leaver")
    assert "refuses its tokens within" in said
    answer = wait_for_status(hardening_server, token, 401)
    assert answer.status_code == 401
    assert answer.json()["detail"] == "invalid token: its user no longer exists"


def test_token_issued_before_password_change_answers_401(
        hardening_server: Server, hardening_project: Project, hardening_users_db: str) -> None:
    users_command(hardening_project, hardening_users_db, "add", "mover",
                  password="the first pass phrase")
    old = token_of(hardening_server, "mover", "the first pass phrase")
    assert predict(hardening_server, old).status_code == 200
    time.sleep(1.1)  # `iat` counts whole seconds: the change falls in a later second
    users_command(hardening_project, hardening_users_db, "passwd", "mover",
                  password="the second pass phrase")
    answer = wait_for_status(hardening_server, old, 401)
    assert answer.status_code == 401
    assert answer.json()["detail"] == ("the token was issued before the user's password or "
                                       "role changed; log in again")
    assert log_in(hardening_server, "mover", "the first pass phrase").status_code == 401
    new = token_of(hardening_server, "mover", "the second pass phrase")
    assert predict(hardening_server, new).status_code == 200


def test_admin_token_after_demotion_answers_401(
        hardening_server: Server, hardening_project: Project, hardening_users_db: str) -> None:
    users_command(hardening_project, hardening_users_db, "add", "chief", "--role", "admin",
                  password="an admin pass phrase")
    token = token_of(hardening_server, "chief", "an admin pass phrase")
    assert claims_of(token)["role"] == "admin"
    time.sleep(1.1)
    users_command(hardening_project, hardening_users_db, "role", "chief", "user")
    answer = wait_for_status(hardening_server, token, 401)
    assert answer.status_code == 401
    with hardening_server.fresh_client() as client:
        assert client.get("/retrain/0123456789abcdef0123456789abcdef",
                          headers=bearer(token)).status_code == 401
    assert claims_of(token_of(hardening_server, "chief", "an admin pass phrase"))["role"] == "user"


# Brute force -----------------------------------------------------------------------------------

def worker_indexes_logging(server: Server, username: str) -> set[str]:
    pattern = re.compile(rf"\[entry_service:PriorityService:(\d+)\] failed login for "
                         rf"'{re.escape(username)}'")
    return set(pattern.findall(server.log_path.read_text(errors="replace")))


def test_failed_logins_for_one_user_answer_429_across_workers(
        hardening_server: Server, hardening_project: Project, hardening_users_db: str) -> None:
    users_command(hardening_project, hardening_users_db, "add", "target",
                  password="the target's pass phrase")
    statuses = [log_in(hardening_server, "target", f"guess-{n}").status_code
                for n in range(USER_LIMIT + 3)]
    # Exactly USER_LIMIT failures pass, though they were spread over both workers: a count
    # per worker would have let twice as many through.
    assert statuses == [401] * USER_LIMIT + [429] * 3
    assert worker_indexes_logging(hardening_server, "target") == {"1", "2"}

    refused = log_in(hardening_server, "target", "the target's pass phrase")
    assert refused.status_code == 429  # even the right password, while locked
    assert refused.json()["detail"] == "too many failed logins for this user; try again later"
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= WINDOW_SECONDS

    # Other users log in meanwhile, from the same client.
    assert token_of(hardening_server, "user", "user123")
    time.sleep(retry_after + 0.5)
    assert token_of(hardening_server, "target", "the target's pass phrase")


def test_failed_logins_from_one_client_answer_429(hardening_server: Server) -> None:
    """Many names from one address: the client's limit; it lifts after Retry-After."""
    from tests.hardening.conftest import CLIENT_LIMIT

    statuses = []
    for n in range(CLIENT_LIMIT + 2):
        statuses.append(log_in(hardening_server, f"sprayed-{n}", "password1").status_code)
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429
    assert 401 not in statuses[statuses.index(429):]
    refused = log_in(hardening_server, "user", "user123")
    assert refused.status_code == 429
    assert refused.json()["detail"] == "too many failed logins from this client; try again later"
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= WINDOW_SECONDS
    time.sleep(retry_after + 0.5)
    assert token_of(hardening_server, "user", "user123")


def test_throttled_logins_are_counted_in_metrics(hardening_server: Server) -> None:
    with hardening_server.client() as client:
        metrics = client.get("/metrics").text
    throttled = re.search(r'accidents_logins_total\{[^}]*outcome="throttled"[^}]*\} ([\d.]+)',
                          metrics)
    assert throttled is not None and float(throttled.group(1)) >= 1
