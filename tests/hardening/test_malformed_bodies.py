"""Bodies that no client should send: each gets a 4xx naming the problem, and the service
keeps answering right after (both workers)."""

from __future__ import annotations

import json

import pytest

from tests.hardening.conftest import bearer, token_of
from tests.service.conftest import SEED_FEATURES, Server

pytestmark = pytest.mark.e2e

SEED = json.dumps(SEED_FEATURES)
ONES = ", 1" * 27
JSON = "application/json"

#: name -> (body, content type, status, text the answer must contain)
BODIES: dict[str, tuple[bytes | str, str | None, int, str]] = {
    "not JSON": ("features=1,2,3", JSON, 422, "Expecting value"),
    "truncated JSON": ('{"features": [1, 2', JSON, 422, "JSON decode error"),
    "invalid UTF-8": (b'{"features": "\xff\xfe"}', JSON, 422, "must be a list of 28 numbers"),
    "JSON array": (f"[{SEED}]", JSON, 422, "valid dictionary"),
    "JSON string": ('"features"', JSON, 422, "valid dictionary"),
    "JSON number": ("28", JSON, 422, "valid dictionary"),
    "JSON null": ("null", JSON, 422, "Field required"),
    "duplicated key": (f'{{"features": {SEED}, "features": {SEED}}}', JSON, 422,
                       "duplicated key 'features'"),
    "duplicated feature name": (
        '{"features": {"place": 1, "place": 2}}', JSON, 422, "duplicated key 'place'"),
    "huge float": (f'{{"features": [1e999{ONES}]}}', JSON, 422, "must be a finite number"),
    "huge integer": (f'{{"features": [{"9" * 400}{ONES}]}}', JSON, 422,
                     "must be a finite number"),
    "integer of 5000 digits": (f'{{"features": [{"9" * 5000}{ONES}]}}', JSON, 422,
                               "Exceeds the limit (4300 digits)"),
    "NaN": (f'{{"features": [NaN{ONES}]}}', JSON, 422, "must be a finite number, got nan"),
    "-Infinity": (f'{{"features": [-Infinity{ONES}]}}', JSON, 422,
                  "must be a finite number, got -inf"),
    "nesting 900 deep in an extra field": (
        f'{{"features": {SEED}, "x": {"[" * 900}{"]" * 900}}}', JSON, 422, "Extra inputs"),
    "nesting 100000 deep": ("[" * 100_000, JSON, 422, "the JSON nests too deeply"),
    "nested features": (f'{{"features": {"[" * 500}{"]" * 500}}}', JSON, 422,
                        "features[0] has 1 values"),
    "text/plain": (f'{{"features": {SEED}}}', "text/plain", 415,
                   "the body must be JSON, sent with 'Content-Type: application/json'"),
    "form": ("features=1", "application/x-www-form-urlencoded", 415, "got 'application/x-www"),
    "no content type": (f'{{"features": {SEED}}}', None, 415, "(got 'none')"),
    "10 MB": (b'{"features": [' + b"1, " * 3_500_000 + b"1]}", JSON, 413,
              "over the limit of 1048576 bytes"),
}


@pytest.fixture(scope="module")
def token(hardening_server: Server) -> str:
    return token_of(hardening_server, "user", "user123")


@pytest.mark.parametrize("case", list(BODIES))
def test_malformed_body_answers_4xx_naming_problem(hardening_server: Server, token: str,
                                                   case: str) -> None:
    body, content_type, status, message = BODIES[case]
    headers = bearer(token)
    if content_type is not None:
        headers["Content-Type"] = content_type
    with hardening_server.fresh_client() as client:
        answer = client.post("/predict", content=body, headers=headers)
        assert answer.status_code == status, answer.text[:500]
        assert message in answer.text, answer.text[:500]
        after = [client.post("/predict", json={"features": SEED_FEATURES}, headers=bearer(token))
                 for _ in range(4)]
    assert [answer.status_code for answer in after] == [200] * 4


def test_malformed_bodies_leave_service_ready(hardening_server: Server, token: str) -> None:
    with hardening_server.client() as client:
        assert client.get("/readyz").status_code == 200
        log = hardening_server.log_tail(400)
    assert "Traceback" not in log
    assert "Exception in ASGI application" not in log


@pytest.mark.parametrize("body, message", [
    ("username=admin&password=x&username=user", "incorrect username or password"),
    ("username=" + "a" * 600_000 + "&password=x", "incorrect username or password"),
    ('{"username": "admin", "password": "admin123"}', "Field required"),
])
def test_malformed_login_form_answers_4xx(hardening_server: Server, body: str,
                                          message: str) -> None:
    with hardening_server.fresh_client() as client:
        answer = client.post("/auth/token", content=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= answer.status_code < 500, answer.text[:300]
    assert message in answer.text
