"""The service's routes over HTTP on a real `bentoml serve` (two workers, TZ far from UTC)."""

from __future__ import annotations

import base64
import json
import time

import httpx
import jwt
import pytest

from accidents.features import FEATURES, PRIORITY_LABELS
from tests.service.conftest import SECRET, SEED_FEATURES, Server

pytestmark = pytest.mark.e2e


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forge(claims: dict, secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def unsigned(claims: dict) -> str:
    """A token with `alg: none` and no signature."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def valid_claims(role: str = "admin", lifetime: int = 600) -> dict:
    now = int(time.time())
    return {"sub": "admin", "role": role, "iat": now, "exp": now + lifetime}


# Login -------------------------------------------------------------------------------------------

def test_log_in_returns_bearer_token_in_utc(server: Server) -> None:
    with server.client() as client:
        before = time.time()
        answer = client.post(
            "/auth/token", content="username=admin&password=admin123",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    body = answer.json()
    assert answer.status_code == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 1800
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"])
    assert claims["sub"] == "admin" and isinstance(claims["sub"], str)
    assert claims["role"] == "admin"
    # The server runs 14 hours ahead of UTC: expiry must still be 30 minutes from now.
    assert claims["exp"] - claims["iat"] == 1800
    assert abs(claims["iat"] - before) < 60


@pytest.mark.parametrize("username, password", [("admin", "wrong-password"),
                                                ("nobody", "admin123")])
def test_log_in_wrong_credentials_same_answer(server: Server, username: str,
                                              password: str) -> None:
    with server.client() as client:
        answer = client.post("/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 401
    assert answer.json() == {"detail": "incorrect username or password"}
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("password", ["a" * 73, "é" * 37, "x" * 5000])
def test_log_in_long_password_refused_without_error(server: Server, password: str) -> None:
    with server.client() as client:
        answer = client.post("/auth/token", data={"username": "admin", "password": password})
    assert answer.status_code == 401
    assert answer.json() == {"detail": "incorrect username or password"}


def test_log_in_missing_field_names_it(server: Server) -> None:
    with server.client() as client:
        answer = client.post("/auth/token", data={"username": "admin"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "password"]


# Predict -----------------------------------------------------------------------------------------

def test_predict_seed_body_answers_class_label_probability(server: Server,
                                                           user_token: str) -> None:
    with server.client() as client:
        answer = client.post(
            "/predict", content=json.dumps({"features": SEED_FEATURES}),
            headers={**bearer(user_token), "Content-Type": "application/json"},
        )
    body = answer.json()
    assert answer.status_code == 200, answer.text
    assert set(body) == {"priority", "label", "probability", "model_version"}
    assert body["priority"] in (0, 1)
    assert body["label"] == PRIORITY_LABELS[body["priority"]]
    assert 0.0 <= body["probability"] <= 1.0
    assert body["model_version"].startswith("accidents-priority:")


def test_predict_by_name_matches_by_position(server: Server, user_token: str) -> None:
    with server.client(headers=bearer(user_token)) as client:
        by_position = client.post("/predict", json={"features": SEED_FEATURES}).json()
        by_name = client.post(
            "/predict", json={"features": dict(zip(FEATURES, SEED_FEATURES, strict=True))}
        ).json()
    assert by_name == by_position


def test_predict_batch_answers_each_row(server: Server, user_token: str) -> None:
    other = list(SEED_FEATURES)
    other[FEATURES.index("victim_age")] = 19
    other[FEATURES.index("vma")] = 130
    rows = [SEED_FEATURES, dict(zip(FEATURES, other, strict=True)), SEED_FEATURES]
    with server.client(headers=bearer(user_token)) as client:
        batch = client.post("/predict", json={"features": rows}).json()
        single = client.post("/predict", json={"features": SEED_FEATURES}).json()
        second = client.post("/predict", json={"features": other}).json()
    assert len(batch["predictions"]) == 3
    assert batch["predictions"][0] == batch["predictions"][2]
    assert batch["predictions"][0]["probability"] == single["probability"]
    assert batch["predictions"][1]["probability"] == second["probability"]
    assert batch["model_version"] == single["model_version"]


BAD_BODIES = {
    "27 features": ({"features": SEED_FEATURES[:27]}, "has 27 values; expected 28"),
    "29 features": ({"features": [*SEED_FEATURES, 1]}, "has 29 values; expected 28"),
    "a string": ({"features": ["10", *SEED_FEATURES[1:]]},
                 "features[0] (place) must be a finite number, got the string '10'"),
    "null": ({"features": [*SEED_FEATURES[:5], None, *SEED_FEATURES[6:]]},
             "features[5] (victim_age) must be a finite number, got null"),
    "a boolean": ({"features": [True, *SEED_FEATURES[1:]]}, "got true"),
    "nested lists": ({"features": [[SEED_FEATURES]]}, "features[0] has 1 values"),
    "numbers and rows": ({"features": [SEED_FEATURES, 1]}, "features mixes numbers and rows"),
    "no rows": ({"features": []}, "features is empty"),
    "features null": ({"features": None}, "got null"),
    "missing name": ({"features": dict(zip(FEATURES[1:], SEED_FEATURES[1:], strict=True))},
                     "missing: place"),
    "unknown name": ({"features": {**dict(zip(FEATURES, SEED_FEATURES, strict=True)),
                                   "speed": 3}}, "unknown: speed"),
    "no features": ({"rows": [SEED_FEATURES]}, "Field required"),
    "extra field": ({"features": SEED_FEATURES, "model": "x"}, "Extra inputs"),
    "too many rows": ({"features": [SEED_FEATURES] * 1001}, "at most 1000 per request"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_predict_bad_body_answers_422_naming_problem(server: Server, user_token: str,
                                                    case: str) -> None:
    body, message = BAD_BODIES[case]
    with server.client(headers=bearer(user_token)) as client:
        answer = client.post("/predict", json=body)
    assert answer.status_code == 422, answer.text
    assert message in json.dumps(answer.json()["detail"])


@pytest.mark.parametrize("text, message", [
    ('{"features": [NaN' + ", 1" * 27 + "]}", "features[0] (place) must be a finite number"),
    ('{"features": [Infinity' + ", 1" * 27 + "]}", "must be a finite number, got inf"),
    ('{"features": [1e400' + ", 1" * 27 + "]}", "must be a finite number"),
    ("", "Field required"),
    ('{"features": [1, 2', "JSON decode error"),
    ("[]", "valid dictionary"),
])
def test_predict_bad_json_answers_422(server: Server, user_token: str, text: str,
                                      message: str) -> None:
    with server.client() as client:
        answer = client.post("/predict", content=text, headers={
            **bearer(user_token), "Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert message in json.dumps(answer.json()["detail"])


@pytest.mark.parametrize("chunked", [False, True])
def test_predict_huge_body_answers_413(server: Server, user_token: str, chunked: bool) -> None:
    payload = json.dumps({"features": [SEED_FEATURES] * 30_000}).encode()
    assert len(payload) > 2_000_000
    content = iter([payload[i:i + 65536] for i in range(0, len(payload), 65536)]) \
        if chunked else payload
    with server.client() as client:
        answer = client.post("/predict", content=content, headers={
            **bearer(user_token), "Content-Type": "application/json"})
    assert answer.status_code == 413
    assert "over the limit of 1048576 bytes" in answer.json()["detail"]


# Tokens and roles --------------------------------------------------------------------------------

def test_predict_without_token_answers_401(server: Server) -> None:
    with server.client() as client:
        answer = client.post("/predict", json={"features": SEED_FEATURES})
    assert answer.status_code == 401
    assert "not authenticated" in answer.json()["detail"]


@pytest.mark.parametrize("case", ["tampered", "alg none", "other secret", "expired",
                                  "sub not a string", "no exp", "unknown role", "garbage",
                                  "basic scheme"])
def test_predict_bad_token_answers_401(server: Server, user_token: str, case: str) -> None:
    header, payload, signature = user_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tokens = {
        "tampered": lambda: ".".join([header, base64.urlsafe_b64encode(json.dumps(
            {**claims, "role": "admin"}).encode()).rstrip(b"=").decode(), signature]),
        "alg none": lambda: unsigned(valid_claims()),
        "other secret": lambda: forge(valid_claims(), "another-secret-of-at-least-32-bytes!!"),
        "expired": lambda: forge(valid_claims(lifetime=-10)),
        "sub not a string": lambda: forge({**valid_claims(), "sub": 1}),
        "no exp": lambda: forge({key: value for key, value in valid_claims().items()
                                 if key != "exp"}),
        "unknown role": lambda: forge(valid_claims(role="root")),
        "garbage": lambda: "not-a-token",
    }
    headers = {"Authorization": f"Basic {user_token}"} if case == "basic scheme" \
        else bearer(tokens[case]())
    with server.client() as client:
        answer = client.post("/predict", json={"features": SEED_FEATURES}, headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == "Bearer"
    if case == "expired":
        assert answer.json()["detail"] == "the token has expired; log in again"


def test_retrain_as_user_answers_403(server: Server, user_token: str) -> None:
    with server.client(headers=bearer(user_token)) as client:
        started = client.post("/retrain")
        status = client.get("/retrain/0123456789abcdef0123456789abcdef")
    assert started.status_code == 403 and status.status_code == 403
    assert started.json()["detail"] == "admins only: user has the role 'user'"


def test_retrain_without_token_answers_401(server: Server) -> None:
    with server.client() as client:
        assert client.post("/retrain").status_code == 401
        assert client.get("/retrain/0123456789abcdef0123456789abcdef").status_code == 401


@pytest.mark.parametrize("run_id", ["0123456789abcdef0123456789abcdef", "..%2F..%2Fetc",
                                    "x" * 64])
def test_retrain_status_unknown_run_answers_404(server: Server, admin_token: str,
                                                run_id: str) -> None:
    with server.client(headers=bearer(admin_token)) as client:
        answer = client.get(f"/retrain/{run_id}")
    assert answer.status_code == 404


# Operations and docs -----------------------------------------------------------------------------

def test_probes_and_metrics_answer_without_login(server: Server, user_token: str) -> None:
    with server.client(headers=bearer(user_token)) as client:
        client.post("/predict", json={"features": SEED_FEATURES})
    with server.client() as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "accidents_predictions_total" in metrics.text
    assert "accidents_logins_total" in metrics.text


def test_predictions_get_no_trace_span_logins_do(server: Server, user_token: str) -> None:
    """ACCIDENTS_TRACE_PREDICTIONS is off by default: BentoML's access log then names no
    trace for /predict, and still does for the other routes."""
    with server.client(headers=bearer(user_token)) as client:
        assert client.post("/predict", json={"features": SEED_FEATURES}).status_code == 200
    server.login("user", "user123")
    deadline = time.monotonic() + 10
    while True:
        lines = server.log_path.read_text(errors="replace").splitlines()
        predictions = [line for line in lines if "path=/predict," in line]
        logins = [line for line in lines if "path=/auth/token," in line]
        if (predictions and logins) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert predictions and all("trace=" not in line for line in predictions)
    assert logins and all("trace=" in line for line in logins)


def test_docs_list_every_route_and_bearer_scheme(server: Server) -> None:
    with server.client() as client:
        page = client.get("/docs")
        schema = client.get("/openapi.json").json()
    assert page.status_code == 200 and "swagger" in page.text.lower()
    assert {"/auth/token", "/predict", "/retrain", "/retrain/{run_id}", "/healthz", "/readyz",
            "/metrics"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "An access token from `POST /auth/token`, sent as "
                       "`Authorization: Bearer <token>`.",
    }
    assert schema["paths"]["/predict"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/auth/token"]["post"]


def test_mounted_app_leaves_bentoml_routes_alone(server: Server) -> None:
    with server.client() as client:
        answer = client.get("/readyz")
        missing = client.get("/no-such-route")
    assert answer.status_code == 200 and answer.text == "\n"
    assert missing.status_code == 404


def test_login_does_not_block_predictions(server: Server, user_token: str) -> None:
    """Eight logins (argon2, ~60 ms of CPU each) run while predictions keep answering."""
    import concurrent.futures

    def log_in() -> int:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            return client.post("/auth/token", data={"username": "user",
                                                    "password": "user123"}).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool, \
            server.client(headers=bearer(user_token)) as client:
        logins = [pool.submit(log_in) for _ in range(8)]
        slowest = 0.0
        while not all(login.done() for login in logins):
            started = time.perf_counter()
            assert client.post("/predict", json={"features": SEED_FEATURES}).status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
        assert [login.result() for login in logins] == [200] * 8
    assert slowest < 0.5
