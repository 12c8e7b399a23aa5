"""The secret that signs access tokens: a setting in production, a generated file in development."""

from __future__ import annotations

import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

MIN_SECRET_BYTES = 32
KEY_FILE = "jwt_secret"
#: Values seen in examples and compose files: never acceptable in production.
PLACEHOLDER_SECRETS = frozenset({
    "secret", "changeme", "change-me", "change_me", "development", "dev-secret",
    "please-change-this-secret-in-production", "change-me-to-a-long-random-secret",
})


class SigningKeyError(RuntimeError):
    """The development key file exists but cannot be used."""


def secret_problem(secret: str | None) -> str | None:
    """Why `secret` is unfit for production, or None when it is fit."""
    if not secret:
        return "ACCIDENTS_JWT_SECRET is not set"
    if secret.strip().lower() in PLACEHOLDER_SECRETS:
        return "ACCIDENTS_JWT_SECRET is a default placeholder value"
    if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        return f"ACCIDENTS_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def development_secret(var_dir: Path) -> str:
    """The generated development secret, created once under `var_dir` (mode 0600).

    Several workers start at once: each writes a complete candidate file and hard-links it
    into place; `link` fails when the file exists, so the first one wins and all read it.
    """
    path = var_dir / KEY_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        handle, candidate = tempfile.mkstemp(dir=var_dir, prefix=f".{KEY_FILE}.")  # mode 0600
        try:
            with os.fdopen(handle, "w") as file:
                file.write(secrets.token_urlsafe(48) + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.link(candidate, path)
            log.warning("generated a development token secret in %s; set ACCIDENTS_JWT_SECRET "
                        "in production", path)
        except FileExistsError:
            pass
        finally:
            os.unlink(candidate)
    return _read_key_file(path)


def _read_key_file(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SigningKeyError(f"{path} is readable by others (mode {mode:o}); run chmod 600 on it")
    secret = path.read_text().strip()
    if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        raise SigningKeyError(f"{path} holds a secret shorter than {MIN_SECRET_BYTES} bytes; "
                              "delete the file to generate a new one")
    return secret
