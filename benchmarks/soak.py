"""Soak: the product's service at a steady rate for a long time, predictions and logins mixed.

    python benchmarks/soak.py                     # 10 minutes at 50 requests/s
    python benchmarks/soak.py --seconds 120       # a shorter run
    python benchmarks/soak.py --project PATH      # a project where the pipeline already ran

Requests leave on a fixed schedule (open loop: a slow answer does not slow the sender), one in
ten a login (argon2), the rest a one-row prediction with the token of the last login. Memory is
the resident size of the whole server (BentoML's process and its workers), measured once the
warm-up is over and again at the end. Prints the figures and exits 1 if a target is missed:
zero errors and memory growth under 10 %. Traffic goes to loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import servers  # noqa: E402

from tests.conftest import make_project  # noqa: E402

TARGET_GROWTH = 0.10
WARM_UP_SHARE = 0.1
SECRET = "secret-of-the-soak-benchmark-only-0123456789abcdef"
FEATURES = [10, 3, 1, 0.0, 2021, 60, 2, 1, 1, 3, 2, 1, 1, 50, 7, 12, 5, 77, 77317, 2, 1, 0, 6,
            48.60, 2.89, 17, 2, 1]


@dataclass
class SoakResult:
    seconds: float
    rate: float
    requests: int
    logins: int
    predictions: int
    errors: int
    error_kinds: dict[str, int]
    achieved_rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    login_p50_ms: float
    predict_p50_ms: float
    predict_p99_ms: float
    rss_start_mib: float
    rss_end_mib: float
    rss_peak_mib: float

    @property
    def growth(self) -> float:
        return (self.rss_end_mib - self.rss_start_mib) / self.rss_start_mib

    @property
    def passed(self) -> bool:
        return self.errors == 0 and self.growth < TARGET_GROWTH


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, resident KiB) of every process that can be read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            rss = next((int(line.split()[1]) for line in (entry / "status").read_text()
                        .splitlines() if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError, IndexError):
            continue  # the process ended while being read
        found[int(entry.name)] = (parent, rss)
    return found


def tree_rss_mib(root: int) -> float:
    """Resident memory of the server: its process and all descendants (BentoML's workers
    start sessions of their own, so the process group would miss them), in MiB."""
    processes = _processes()
    tree, added = {root}, True
    while added:
        children = {pid for pid, (parent, _) in processes.items() if parent in tree} - tree
        tree |= children
        added = bool(children)
    return sum(processes[pid][1] for pid in tree if pid in processes) / 1024


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def soak(url: str, server_pid: int, seconds: float, rate: float,
               login_every: int) -> SoakResult:
    latencies: dict[str, list[float]] = {"login": [], "predict": []}
    errors: dict[str, int] = {}
    token = {"value": servers.log_in(url, "user", "user123")}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    total = int(seconds * rate)
    warm_up_end = int(total * WARM_UP_SHARE)
    memory = {"start": 0.0, "peak": 0.0}

    async def one(client: httpx.AsyncClient, index: int) -> None:
        kind = "login" if index % login_every == 0 else "predict"
        started = time.perf_counter()
        try:
            if kind == "login":
                answer = await client.post("/auth/token", data={"username": "user",
                                                                "password": "user123"})
                if answer.status_code == 200:
                    token["value"] = answer.json()["access_token"]
            else:
                answer = await client.post(
                    "/predict", json={"features": FEATURES},
                    headers={"Authorization": f"Bearer {token['value']}"})
            if answer.status_code != 200:
                errors[f"{kind} {answer.status_code}"] = errors.get(
                    f"{kind} {answer.status_code}", 0) + 1
        except httpx.HTTPError as error:
            errors[f"{kind} {type(error).__name__}"] = errors.get(
                f"{kind} {type(error).__name__}", 0) + 1
        latencies[kind].append((time.perf_counter() - started) * 1000)

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        tasks = []
        begin = time.perf_counter()
        for index in range(total):
            delay = begin + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if index == warm_up_end:
                memory["start"] = tree_rss_mib(server_pid)
            if index % int(rate) == 0:
                memory["peak"] = max(memory["peak"], tree_rss_mib(server_pid))
            tasks.append(asyncio.create_task(one(client, index)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    end = tree_rss_mib(server_pid)
    everything = latencies["login"] + latencies["predict"]
    return SoakResult(
        seconds=round(elapsed, 1), rate=rate, requests=len(everything),
        logins=len(latencies["login"]), predictions=len(latencies["predict"]),
        errors=sum(errors.values()), error_kinds=errors,
        achieved_rate=round(len(everything) / elapsed, 1),
        p50_ms=round(statistics.median(everything), 2),
        p99_ms=round(percentile(everything, 0.99), 2), max_ms=round(max(everything), 2),
        login_p50_ms=round(statistics.median(latencies["login"]), 2),
        predict_p50_ms=round(statistics.median(latencies["predict"]), 2),
        predict_p99_ms=round(percentile(latencies["predict"], 0.99), 2),
        rss_start_mib=round(memory["start"], 1), rss_end_mib=round(end, 1),
        rss_peak_mib=round(max(memory["peak"], end), 1),
    )


def format_result(result: SoakResult) -> str:
    rows = [
        ("duration", f"{result.seconds:.0f} s at {result.rate:.0f} requests/s "
                     f"(achieved {result.achieved_rate:.1f})"),
        ("requests", f"{result.requests} ({result.predictions} predictions, "
                     f"{result.logins} logins)"),
        ("errors", f"{result.errors} {result.error_kinds or ''}".strip()),
        ("latency p50 / p99 / max", f"{result.p50_ms:.1f} / {result.p99_ms:.1f} / "
                                    f"{result.max_ms:.1f} ms"),
        ("prediction p50 / p99", f"{result.predict_p50_ms:.1f} / {result.predict_p99_ms:.1f} ms"),
        ("login p50", f"{result.login_p50_ms:.1f} ms"),
        ("server memory (RSS)", f"{result.rss_start_mib:.0f} MiB after warm-up -> "
                                f"{result.rss_end_mib:.0f} MiB at the end "
                                f"({result.growth:+.1%}; peak {result.rss_peak_mib:.0f} MiB)"),
        ("verdict", "passed (0 errors, growth < 10 %)" if result.passed else "FAILED"),
    ]
    return "| figure | value |\n|---|---|\n" + "\n".join(f"| {name} | {value} |"
                                                       for name, value in rows)


def prepare_project(work: Path, source: Path | None) -> Path:
    """A private copy of `source` (its stores included), or a new project where the pipeline
    ran on the shared 2021 sample."""
    target = work / "project"
    if source is not None:
        shutil.copytree(source, target, symlinks=True,
                        ignore=shutil.ignore_patterns("mlflow.db", "mlruns", "mlartifacts", "var"))
        return target
    shared = Path(os.environ.get("ACCIDENTS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    project = make_project(target, shared / "baac-2021-sample")
    project.dvc("repro")
    return target


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--login-every", type=int, default=10,
                        help="one request in this many is a login")
    parser.add_argument("--project", type=Path,
                        help="a project folder where `dvc repro` ran (default: make one)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    work = Path(tempfile.mkdtemp(prefix="accidents-soak-"))
    try:
        project = prepare_project(work, arguments.project)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("ACCIDENTS_", "BENTOML_"))}
        env.update({"ACCIDENTS_PROJECT_DIR": str(project),
                    "BENTOML_HOME": str(project / ".bentoml"),
                    "ACCIDENTS_JWT_SECRET": SECRET,
                    "ACCIDENTS_USERS_DB_URL": f"sqlite:///{work / 'users.db'}",
                    "ACCIDENTS_SERVICE_WORKERS": "2", "OMP_NUM_THREADS": "1"})
        with servers.product_server(project, env, work / "service.log") as running:
            result = asyncio.run(soak(running.url, running.process.pid, arguments.seconds,
                                      arguments.rate, arguments.login_every))
    except servers.ServerError as error:
        print(f"soak failed: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"# Soak of the product's service\n\n{format_result(result)}")
    if arguments.json:
        arguments.json.write_text(json.dumps({**asdict(result), "growth": result.growth,
                                              "passed": result.passed}, indent=2) + "\n")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
