"""Production refusals beyond tests/service/test_dev_mode_e2e.py (which starts with every
problem at once): each problem alone is named alone, the boundary of the secret's length, and
a refusal is a clean exit, not workers failing in a loop."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from accidents.users.signing_key import MIN_SECRET_BYTES, secret_problem
from tests.conftest import Project
from tests.hardening.conftest import users_command
from tests.service.conftest import launch

pytestmark = pytest.mark.e2e

GOOD_SECRET = "a-production-secret-of-more-than-32-bytes"


def seed_default_users(project: Project, users_db: str) -> None:
    script = ("from accidents.settings import get_settings\n"
              "from accidents.users.startup import open_store, seed_development_users\n"
              "seed_development_users(open_store(get_settings()))\n")
    project.run(sys.executable, "-c", script, ACCIDENTS_USERS_DB_URL=users_db)


def refusal(project: Project, tmp_path: Path, users_db: str, secret: str) -> str:
    """Start in production; return the log of a start that must end by itself, non-zero."""
    started = time.monotonic()
    server = launch(project, tmp_path / "server.log", ACCIDENTS_ENV="production",
                    ACCIDENTS_JWT_SECRET=secret, ACCIDENTS_USERS_DB_URL=users_db)
    try:
        returncode = server.process.wait(timeout=180)
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    assert returncode != 0, log[-2000:]
    assert time.monotonic() - started < 180
    assert "Service PriorityService initialized" not in log  # no worker ever served
    return log


@pytest.mark.parametrize("secret, problem", [
    ("x" * (MIN_SECRET_BYTES - 1), f"shorter than {MIN_SECRET_BYTES} bytes"),
    ("é" * 15 + "x", f"shorter than {MIN_SECRET_BYTES} bytes"),  # 31 bytes in UTF-8
    (" CHANGE-ME ", "a default placeholder value"),
    ("", "is not set"),
])
def test_secret_problem_names_each_unsafe_secret(secret: str, problem: str) -> None:
    assert problem in secret_problem(secret)


def test_secret_of_minimum_length_accepted() -> None:
    assert secret_problem("x" * MIN_SECRET_BYTES) is None


def test_production_refuses_one_default_password_naming_only_it(
        hardening_project: Project, tmp_path: Path) -> None:
    users_db = f"sqlite:///{tmp_path / 'users.db'}"
    seed_default_users(hardening_project, users_db)
    users_command(hardening_project, users_db, "passwd", "admin",
                  password="the admin's new pass phrase")
    log = refusal(hardening_project, tmp_path, users_db, GOOD_SECRET)
    assert ("the product refuses to start in production: user 'user' still has its default "
            "password") in log
    assert "user 'admin' still has" not in log
    assert "ACCIDENTS_JWT_SECRET" not in log


def test_production_refuses_placeholder_secret_naming_only_it(
        hardening_project: Project, tmp_path: Path) -> None:
    users_db = f"sqlite:///{tmp_path / 'users.db'}"
    users_command(hardening_project, users_db, "add", "ops", "--role", "admin",
                  password="an operator's pass phrase")
    log = refusal(hardening_project, tmp_path, users_db, "Please-Change-This-Secret-In-Production")
    assert ("the product refuses to start in production: ACCIDENTS_JWT_SECRET is a default "
            "placeholder value") in log
    assert "default password" not in log
