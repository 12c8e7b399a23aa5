"""The product's benchmarks, printed as Markdown tables: `python benchmarks/run.py`.

1. Pipeline: each DVC stage on the shared 2021 sample, a no-op `dvc repro`, and `train` on
   the public template's full split (in a throwaway copy of the project).
2. Serving: wrk loads the seed-style baseline (benchmarks/baseline_api.py) and the product's
   BentoML service, one after the other on loopback, at 1, 8 and 32 clients.

`--seconds 2` makes a short smoke run; `--parts serving --servers baseline` skips the project
copy. Data comes from `$ACCIDENTS_SHARED_DATA` (default `../shared/data`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import pipeline_timings  # noqa: E402
import servers  # noqa: E402
import wrk_load  # noqa: E402

from tests.conftest import make_project  # noqa: E402

TARGET_RATIO = 20.0
TARGET_P99_MS = 25.0


def shared_data() -> Path:
    return Path(os.environ.get("ACCIDENTS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def machine() -> str:
    cpu = "unknown processor"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return (f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def load_average() -> str:
    """Other work on the machine skews every figure: the tables say how busy it was."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def run_pipeline(work: Path, sample_dir: Path, split_dir: Path) -> tuple[object, list]:
    project = make_project(work / "project", sample_dir)
    timings = pipeline_timings.time_stages(project)
    timings += pipeline_timings.time_no_op(project)
    timings += pipeline_timings.time_full_split(project, split_dir)
    print("## Pipeline\n")
    print(pipeline_timings.format_timings(timings))
    report = json.loads((project.path / "metrics" / "evaluation.json").read_text())
    print(f"\nFull-split evaluation: {report['decision']} ({report['reason']}); candidate "
          f"AUC-ROC {report['candidate']['roc_auc']:.4f}, F1 {report['candidate']['f1']:.4f}\n",
          flush=True)
    return project, timings


def load_levels(running: servers.Running, connections: list[int], seconds: float,
                token: str | None = None) -> list[wrk_load.LoadResult]:
    name, url = running.name, running.url
    status, body = servers.predict_once(url, wrk_load.FEATURES_EXAMPLE, token)
    if status != 200:
        raise servers.ServerError(f"{name}: a first /predict answered {status}: {body[:300]!r}")
    wrk_load.run_wrk(name, url, max(connections), min(seconds, 2.0), token)  # warm-up
    results = []
    for count in connections:
        cpu_before = running.cpu_seconds()
        result = wrk_load.run_wrk(name, url, count, seconds, token)
        cpu_ms = (running.cpu_seconds() - cpu_before) * 1000 / max(result.requests, 1)
        result = dataclasses.replace(result, server_cpu_ms=cpu_ms)
        print(f"  {name}, {count} clients: {result.throughput:.1f} requests/s, "
              f"p99 {result.p99_ms:.1f} ms, {result.errors} errors, "
              f"{cpu_ms:.2f} ms of server CPU a request", flush=True)
        results.append(result)
    return results


def run_serving(work: Path, split_dir: Path, project, names: list[str], connections: list[int],
                seconds: float, service_env: dict[str, str]) -> list[wrk_load.LoadResult]:
    print(f"## Serving\n\nBefore: {load_average()}\n", flush=True)
    wrk_load.wrk_path()
    results = []
    if "baseline" in names:
        model = servers.train_seed_forest(split_dir, work / "seed_forest.joblib")
        with servers.baseline_server(model, work / "baseline.log") as running:
            results += load_levels(running, connections, seconds)
    if "service" in names:
        env = {**project.env, **service_env}
        with servers.product_server(project.path, env, work / "service.log") as running:
            token = servers.log_in(running.url, "admin", "admin123")
            results += load_levels(running, connections, seconds, token)
    print(f"\nAfter: {load_average()}\n")
    print(wrk_load.format_load_table(results))
    print(verdict(results, max(connections)))
    return results


def verdict(results: list[wrk_load.LoadResult], most: int) -> str:
    """The issue's targets, where both servers ran: ratio at the most clients, p99 at 8."""
    by_key = {(result.server, result.connections): result for result in results}
    base, service = by_key.get(("baseline", most)), by_key.get(("service", most))
    if base is None or service is None or base.throughput == 0:
        return ""
    ratio = service.throughput / base.throughput
    lines = [f"\nService throughput at {most} clients: {ratio:.1f}× the baseline "
             f"(target ≥ {TARGET_RATIO:.0f}×)."]
    if ("service", 8) in by_key:
        lines.append(f"Service p99 at 8 clients: {by_key[('service', 8)].p99_ms:.1f} ms "
                     f"(target ≤ {TARGET_P99_MS:.0f} ms).")
    errors = sum(result.errors for result in results if result.server == "service")
    lines.append(f"Service errors: {errors} (target 0).")
    return "\n".join(lines)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="load time per level")
    parser.add_argument("--connections", default="1,8,32",
                        help="comma-separated numbers of concurrent clients")
    parser.add_argument("--parts", default="pipeline,serving",
                        help="comma-separated: pipeline, serving")
    parser.add_argument("--servers", default="baseline,service",
                        help="comma-separated: baseline, service")
    parser.add_argument("--service-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the service (e.g. ACCIDENTS_SERVICE_WORKERS=1)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    parts = set(arguments.parts.split(","))
    names = [name for name in arguments.servers.split(",") if name]
    connections = [int(count) for count in arguments.connections.split(",")]
    service_env = dict(item.split("=", 1) for item in arguments.service_env)
    sample_dir = shared_data() / "baac-2021-sample"
    split_dir = shared_data() / "baac-2021-preprocessed"
    for folder in (sample_dir, split_dir):
        if not folder.is_dir():
            print(f"{folder}: not found; set ACCIDENTS_SHARED_DATA", file=sys.stderr)
            return 1
    work = Path(tempfile.mkdtemp(prefix="accidents-bench-"))
    print(f"# Benchmarks of the product\n\nMachine: {machine()}; {load_average()}\n",
          flush=True)
    try:
        project = None
        if "pipeline" in parts or ("serving" in parts and "service" in names):
            project, _ = run_pipeline(work, sample_dir, split_dir)
        if "serving" in parts:
            run_serving(work, split_dir, project, names, connections, arguments.seconds,
                        service_env)
    except (servers.ServerError, wrk_load.LoadError) as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    finally:
        if arguments.keep:
            print(f"\nWork folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
