"""The users store, passwords, tokens and the development secret, without a server."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from accidents.settings import Settings
from accidents.users import Claims, TokenError, TokenIssuer, User, UserError, UserStore
from accidents.users.passwords import PasswordPolicyError
from accidents.users.signing_key import SigningKeyError, development_secret
from accidents.users.standing import UserStanding
from accidents.users.startup import UnsafeProductionError, prepare_users

SECRET = "a-secret-of-the-unit-tests-at-least-32-bytes"


@pytest.fixture
def store(tmp_path: Path) -> UserStore:
    users = UserStore(f"sqlite:///{tmp_path / 'users.db'}")
    users.create_schema()
    return users


def test_standing_answers_from_cache_until_it_expires(store: UserStore) -> None:
    """The service checks a cached standing on its event loop, else reads in a thread."""
    now = [1000.0]
    standing = UserStanding(store, cache_seconds=5, clock=lambda: now[0])
    store.add("alice", "correct horse", "user")
    claims = Claims("alice", "user", datetime.now(UTC) + timedelta(minutes=5),
                    int(time.time()) + 1)
    assert not standing.is_cached("alice")
    standing.check(claims)
    assert standing.is_cached("alice")
    store.remove("alice")
    now[0] += 4.9
    assert standing.is_cached("alice")
    standing.check(claims)  # still the cached standing: no error within the cache time
    now[0] += 0.2
    assert not standing.is_cached("alice")
    with pytest.raises(TokenError, match="its user no longer exists"):
        standing.check(claims)
    assert standing.is_cached("alice")


@pytest.mark.parametrize("password", ["a" * 73, "é" * 37, "pass word " * 50])
def test_authenticate_long_password(store: UserStore, password: str) -> None:
    store.add("alice", password, "user")
    assert store.authenticate("alice", password) == User("alice", "user")
    assert store.authenticate("alice", password[:-1]) is None


def test_authenticate_over_limit_password_refused(store: UserStore) -> None:
    store.add("alice", "correct horse", "user")
    assert store.authenticate("alice", "x" * 5000) is None
    with pytest.raises(PasswordPolicyError, match="at most 1024 bytes"):
        store.set_password("alice", "é" * 600)


def test_authenticate_unknown_user_none(store: UserStore) -> None:
    assert store.authenticate("nobody", "whatever1") is None


@pytest.mark.parametrize("username, role, message", [
    ("bad name", "user", "invalid username"), ("bob", "root", "invalid role"),
])
def test_add_user_invalid_refused(store: UserStore, username: str, role: str,
                                  message: str) -> None:
    with pytest.raises(UserError, match=message):
        store.add(username, "long enough", role)


def test_add_user_twice_refused(store: UserStore) -> None:
    store.add("bob", "long enough", "admin")
    with pytest.raises(UserError, match="already exists"):
        store.add("bob", "other password", "user")
    assert store.list() == [User("bob", "admin")]


def test_issue_token_expiry_in_utc_whatever_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    try:
        issuer = TokenIssuer(SECRET, timedelta(minutes=30))
        token = issuer.issue(User("admin", "admin"))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "admin" and claims["role"] == "admin"
    assert claims["exp"] - claims["iat"] == 1800
    assert abs(claims["exp"] - (time.time() + 1800)) < 5
    assert issuer.verify(token).expires_at.tzinfo == UTC


@pytest.mark.parametrize("claims, message", [
    ({"sub": 7}, "invalid token"),
    ({"exp": None}, "invalid token: Token is missing the \"exp\" claim"),
    ({"role": "root"}, "invalid token: unknown role"),
    ({"exp": datetime.now(UTC) - timedelta(seconds=1)}, "the token has expired; log in again"),
])
def test_verify_token_bad_claims_refused(claims: dict, message: str) -> None:
    now = datetime.now(UTC)
    full = {"sub": "admin", "role": "admin", "iat": now, "exp": now + timedelta(minutes=5)}
    full.update(claims)
    token = jwt.encode({key: value for key, value in full.items() if value is not None},
                       SECRET, algorithm="HS256")
    with pytest.raises(TokenError) as error:
        TokenIssuer(SECRET, timedelta(minutes=5)).verify(token)
    assert str(error.value) == message


def test_verify_token_other_secret_or_algorithm_refused() -> None:
    issuer = TokenIssuer(SECRET, timedelta(minutes=5))
    other = TokenIssuer("another-secret-also-longer-than-32-bytes", timedelta(minutes=5))
    token = other.issue(User("admin", "admin"))
    with pytest.raises(TokenError, match="invalid token"):
        issuer.verify(token)
    now = int(time.time())
    claims = {"sub": "admin", "role": "admin", "iat": now, "exp": now + 60}
    with pytest.raises(TokenError, match="invalid token"):
        issuer.verify(jwt.encode(claims, SECRET * 2, algorithm="HS512"))


def test_development_secret_same_for_racing_processes(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path\n"
            "from accidents.users.signing_key import development_secret\n"
            "sys.stdout.write(development_secret(Path(sys.argv[1])))\n")
    processes = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "var")],
                                  stdout=subprocess.PIPE, text=True) for _ in range(6)]
    secrets = {process.communicate(timeout=120)[0] for process in processes}
    assert len(secrets) == 1
    key_file = tmp_path / "var" / "jwt_secret"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == secrets.pop()
    assert sorted(path.name for path in key_file.parent.iterdir()) == ["jwt_secret"]
    assert development_secret(tmp_path / "var") == key_file.read_text().strip()


def test_development_secret_readable_by_others_refused(tmp_path: Path) -> None:
    development_secret(tmp_path)
    os.chmod(tmp_path / "jwt_secret", 0o644)
    with pytest.raises(SigningKeyError, match="readable by others"):
        development_secret(tmp_path)


def settings_for(tmp_path: Path, **values) -> Settings:
    return Settings(project_dir=tmp_path, users_db_url=f"sqlite:///{tmp_path / 'users.db'}",
                    **values)


def test_prepare_users_development_seeds_defaults(tmp_path: Path) -> None:
    store, issuer = prepare_users(settings_for(tmp_path))
    assert store.list() == [User("admin", "admin"), User("user", "user")]
    assert store.authenticate("user", "user123") == User("user", "user")
    assert issuer.expires_in == 1800
    # A second start keeps the users as they are.
    store.remove("user")
    prepare_users(settings_for(tmp_path))
    assert store.list() == [User("admin", "admin")]


def test_prepare_users_production_names_every_problem(tmp_path: Path) -> None:
    prepare_users(settings_for(tmp_path))
    with pytest.raises(UnsafeProductionError) as error:
        prepare_users(settings_for(tmp_path, env="production", jwt_secret="x" * 31))
    assert str(error.value) == (
        "the product refuses to start in production: ACCIDENTS_JWT_SECRET is shorter than "
        "32 bytes; user 'admin' still has its default password; user 'user' still has its "
        "default password"
    )


def test_prepare_users_production_safe_starts(tmp_path: Path) -> None:
    store, _ = prepare_users(settings_for(tmp_path))
    store.set_password("admin", "a much better password")
    store.remove("user")
    _, issuer = prepare_users(settings_for(tmp_path, env="production", jwt_secret="k" * 32))
    assert issuer.verify(issuer.issue(User("admin", "admin"))).username == "admin"


def test_users_command_manages_users(tmp_path: Path) -> None:
    env = {**os.environ, "ACCIDENTS_PROJECT_DIR": str(tmp_path),
           "ACCIDENTS_USERS_DB_URL": f"sqlite:///{tmp_path / 'users.db'}"}

    def users(*arguments: str, password: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "accidents.users", *arguments], env=env,
                              input=password and password + "\n", capture_output=True,
                              text=True, timeout=120)

    assert users("add", "carol", "--role", "admin", "--password-stdin",
                 password="first password").stdout == "added carol (admin)\n"
    assert users("passwd", "carol", "--password-stdin", password="second password").returncode == 0
    short = users("add", "dave", "--password-stdin", password="short")
    assert short.returncode == 1
    assert short.stderr == "error: the password must have at least 8 characters\n"
    assert users("list").stdout == "carol\tadmin\n"
    store = UserStore(env["ACCIDENTS_USERS_DB_URL"])
    assert store.authenticate("carol", "second password") == User("carol", "admin")
    assert store.authenticate("carol", "first password") is None
    assert users("remove", "carol").returncode == 0
    missing = users("remove", "carol")
    assert (missing.returncode, missing.stderr) == (1, "error: no user 'carol'\n")
