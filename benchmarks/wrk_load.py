"""Load a `/predict` endpoint with wrk (Debian's package) and read its figures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).with_name("predict.lua")
RESULT_PREFIX = "BENCH_RESULT "
#: A real accident of the 2021 data in the 28-feature order: the seed's `/predict` body.
FEATURES_EXAMPLE = [10, 3, 1, 0.0, 2021, 60, 2, 1, 1, 3, 2, 1, 1, 50, 7, 12, 5, 77, 77317, 2, 1,
                    0, 6, 48.60, 2.89, 17, 2, 1]


class LoadError(RuntimeError):
    """wrk is missing, failed, or printed no result."""


@dataclass(frozen=True)
class LoadResult:
    server: str
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    #: CPU time the server used per answered request (all its processes, both cores).
    server_cpu_ms: float | None = None

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LoadError("wrk not found; install it with `apt-get install -y wrk`")
    return path


def run_wrk(server: str, url: str, connections: int, seconds: float,
            token: str | None = None) -> LoadResult:
    """`connections` clients, each sending its next request once the last one is answered.

    One wrk thread drives every connection: on 2 cores the load generator then takes as
    little CPU as it can from the server it measures.
    """
    body = json.dumps({"features": FEATURES_EXAMPLE})
    command = [wrk_path(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "--latency", "-s", str(LUA_SCRIPT), f"{url}/predict"]
    env = {**os.environ, "BENCH_BODY": body, "BENCH_TOKEN": token or ""}
    finished = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=seconds + 60)
    if finished.returncode != 0:
        raise LoadError(f"wrk exited {finished.returncode}: {finished.stderr.strip()}")
    return parse_result(server, connections, finished.stdout)


def parse_result(server: str, connections: int, output: str) -> LoadResult:
    lines = [line for line in output.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        raise LoadError(f"wrk printed no result line:\n{output}")
    figures = json.loads(lines[-1][len(RESULT_PREFIX):])
    errors = sum(figures[name] for name in ("connect_errors", "read_errors", "write_errors",
                                             "status_errors", "timeouts"))
    return LoadResult(
        server=server, connections=connections, requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6, p50_ms=figures["p50_us"] / 1000,
        p95_ms=figures["p95_us"] / 1000, p99_ms=figures["p99_us"] / 1000, errors=errors,
    )


def format_load_table(results: list[LoadResult], reference: str = "baseline",
                      reference_connections: int = 32) -> str:
    """One Markdown table; the ratio column compares throughput with `reference` at the same
    number of clients, and the line under it states the ratio at `reference_connections`."""
    base = {result.connections: result.throughput for result in results
            if result.server == reference}
    lines = ["| server | clients | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | errors "
             "| server CPU per request (ms) | × baseline |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for result in results:
        ratio = (f"{result.throughput / base[result.connections]:.1f}"
                 if base.get(result.connections) else "–")
        cpu = "–" if result.server_cpu_ms is None else f"{result.server_cpu_ms:.2f}"
        lines.append(f"| {result.server} | {result.connections} | {result.throughput:.1f} | "
                     f"{result.p50_ms:.1f} | {result.p95_ms:.1f} | {result.p99_ms:.1f} | "
                     f"{result.errors} | {cpu} | {ratio} |")
    return "\n".join(lines)
