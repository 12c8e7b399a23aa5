"""Servers and workers started by the orchestration tests: loopback only, always stopped."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.processes import stop_process_group, wait_until_answers


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
        stop_process_group(self.process)
        self._output.close()

    def wait_http(self, url: str, timeout: float) -> None:
        """Wait until `url` answers 200; fail with the server's log if it dies or never does."""
        if (problem := wait_until_answers(self.process, url, timeout)) is not None:
            raise AssertionError(f"server {problem}\n" + self.output()[-4000:])
