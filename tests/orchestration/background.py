"""Servers and workers started by the orchestration tests: loopback only, always stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Background:
    """A command run in its own process group, its output in `log`; stopped on exit."""

    def __init__(self, command: list[str], log: Path, cwd: Path, env: dict[str, str]) -> None:
        self.log = log
        self._output = log.open("w")
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=self._output,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._output.close()

    def wait_http(self, url: str, timeout: float) -> None:
        """Wait until `url` answers 200; fail with the server's log if it dies or never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{url}: server exited {self.process.returncode}\n"
                                     + self.output()[-4000:])
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise AssertionError(f"{url} did not answer in {timeout} s\n" + self.output()[-4000:])
