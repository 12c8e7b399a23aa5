"""Servers that the tests and benchmarks start: on a free loopback port, always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answers(process: subprocess.Popen, url: str, timeout: float) -> str | None:
    """Poll `url` until it answers 200: None then, else why not (the server exited, or
    `timeout` seconds went by)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with {process.returncode}"
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return None
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return f"did not answer {url} in {timeout:.0f} s"


def stop_process_group(process: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM to the process group of `process` (started with `start_new_session=True`),
    SIGKILL if it is still there after `grace` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
