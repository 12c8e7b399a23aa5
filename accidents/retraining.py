"""Retrain runs asked for by an admin: one at a time, never inside the request that asks.

Locally, `Retrains.start` takes an exclusive `flock` on `var/retrains/retrain.lock` and starts
`python -m accidents.retraining <run-id>`, which inherits the locked descriptor and so holds
the lock for its whole run: the lock is free again the moment that process ends, however it
ends, and every service worker sees the same lock. Each run has a status record,
`var/retrains/<run-id>.json`, written atomically, and a log beside it.

When `PREFECT_API_URL` is set and the deployment `settings.prefect_deployment` exists, the run
is submitted to that deployment instead (`run_deployment(..., timeout=0)`), and its status is
the Prefect flow run's state.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from accidents.files import atomic_path
from accidents.settings import Settings, get_settings

log = logging.getLogger(__name__)

#: Local runs are `uuid4().hex`; Prefect flow runs keep their UUID with dashes.
RUN_ID_PATTERN = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")
ACTIVE_STATES = ("starting", "running", "scheduled", "pending")
#: Longest wait on the Prefect API inside a request, so `/retrain` stays fast when it is down.
PREFECT_TIMEOUT_SECONDS = 5.0
EPHEMERAL_STARTUP_TIMEOUT = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
#: How long a request that lost the lock waits for the winner to name its run.
HOLDER_WAIT_SECONDS = 2.0


class RetrainRunning(Exception):
    """Another retrain is running; `run_id` names it."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"a retrain is already running: {run_id}")
        self.run_id = run_id


class RetrainUnavailable(Exception):
    """The retrain cannot be submitted (the Prefect API does not answer, the process fails)."""


@dataclass
class RetrainRecord:
    """What a person needs to know about one retrain run."""

    run_id: str
    mode: str
    state: str
    started_at: str
    finished_at: str | None = None
    pid: int | None = None
    decision: str | None = None
    promoted: bool | None = None
    reason: str | None = None
    registry_version: str | None = None
    error: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetrainRecord:
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def finish(self, state: str, **changes: Any) -> None:
        self.state = state
        self.finished_at = _now()
        for name, value in changes.items():
            setattr(self, name, value)

    def take_report(self, report: dict[str, Any]) -> None:
        """Copy the promotion decision of the evaluate stage's report."""
        self.decision = report.get("decision")
        self.promoted = report.get("promoted")
        self.reason = report.get("reason")
        self.registry_version = report.get("registry_version")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def is_run_id(text: str) -> bool:
    return RUN_ID_PATTERN.fullmatch(text) is not None


class Retrains:
    """The retrain runs of one project: start one, read one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = settings.var_dir / "retrains"
        self.lock_path = self.folder / "retrain.lock"
        if os.environ.get("PREFECT_API_URL"):
            # Prefect's client takes seconds to import: the first `/retrain` must not wait.
            import prefect.client.orchestration  # noqa: F401
            import prefect.deployments  # noqa: F401

    # Records -----------------------------------------------------------------------------

    def _record_path(self, run_id: str) -> Path:
        if not is_run_id(run_id):
            raise ValueError(f"not a retrain run id: {run_id!r}")
        return self.folder / f"{run_id}.json"

    def read(self, run_id: str) -> RetrainRecord | None:
        if not is_run_id(run_id):
            return None
        try:
            data = json.loads(self._record_path(run_id).read_text())
        except FileNotFoundError:
            return None
        return RetrainRecord.from_dict(data)

    def write(self, record: RetrainRecord) -> None:
        with atomic_path(self._record_path(record.run_id)) as temporary:
            temporary.write_text(json.dumps(record.as_dict(), indent=2) + "\n")

    # Starting ----------------------------------------------------------------------------

    def start(self) -> RetrainRecord:
        """Start a retrain where it belongs; raise RetrainRunning when one is running."""
        if os.environ.get("PREFECT_API_URL"):
            deployment_id = _prefect_call(_find_deployment, self.settings.prefect_deployment)
            if deployment_id is not None:
                return self._submit_to_prefect(deployment_id)
            log.info("Prefect deployment %s not found: retraining in a local process",
                     self.settings.prefect_deployment)
        return self._start_local()

    def _open_lock(self) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        return os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    def _lock_or_raise(self, handle: int) -> None:
        """Take the retrain lock, or raise RetrainRunning naming the run that holds it.

        The winner writes its run id and record just after it locks: a request that lost the
        race by microseconds waits for them (briefly), rather than name no run or the last one.
        """
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            deadline = time.monotonic() + HOLDER_WAIT_SECONDS
            holder = _holder(handle)
            while time.monotonic() < deadline:
                record = self.read(holder) if holder else None
                if record is not None and record.state in ACTIVE_STATES:
                    break
                time.sleep(0.02)
                holder = _holder(handle)
            raise RetrainRunning(holder or "unknown") from None

    def _start_local(self) -> RetrainRecord:
        handle = self._open_lock()
        try:
            self._lock_or_raise(handle)
            record = RetrainRecord(uuid.uuid4().hex, "local", "starting", _now())
            os.ftruncate(handle, 0)
            os.pwrite(handle, record.run_id.encode(), 0)
            self.write(record)
            try:
                process = self._spawn(record.run_id, handle)
            except OSError as error:
                record.finish("failed", error=f"the retrain process did not start: {error}")
                self.write(record)
                raise RetrainUnavailable(record.error) from error
            # Reap the process when it ends, so no zombie is left behind.
            threading.Thread(target=process.wait, name=f"retrain-{record.run_id}",
                             daemon=True).start()
            log.info("retrain %s started in process %d", record.run_id, process.pid)
            return record
        finally:
            os.close(handle)  # the child holds the lock through its inherited descriptor

    def _spawn(self, run_id: str, lock_handle: int) -> subprocess.Popen:
        project = self.settings.project_dir.resolve()
        # Prefect's embedded server starts slowly beside busy service workers: give it time.
        env = {EPHEMERAL_STARTUP_TIMEOUT: "120", **os.environ,
               "ACCIDENTS_PROJECT_DIR": str(project)}
        with open(self.folder / f"{run_id}.log", "ab") as output:
            return subprocess.Popen(
                [sys.executable, "-m", "accidents.retraining", run_id,
                 "--lock-fd", str(lock_handle)],
                cwd=project, env=env,
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                pass_fds=(lock_handle,), start_new_session=True,
            )

    def _submit_to_prefect(self, deployment_id: str) -> RetrainRecord:
        """Submit to the deployment unless a run we submitted there is still active."""
        handle = self._open_lock()
        try:
            self._lock_or_raise(handle)
            previous = _holder(handle)
            if previous and (record := self.status(previous)) and record.state in ACTIVE_STATES:
                raise RetrainRunning(previous)
            flow_run_id = _prefect_call(_submit_flow_run, deployment_id)
            record = RetrainRecord(flow_run_id, "prefect", "scheduled", _now())
            os.ftruncate(handle, 0)
            os.pwrite(handle, flow_run_id.encode(), 0)
            self.write(record)
            log.info("retrain submitted to Prefect deployment %s: flow run %s",
                     self.settings.prefect_deployment, flow_run_id)
            return record
        finally:
            os.close(handle)

    # Status ------------------------------------------------------------------------------

    def status(self, run_id: str) -> RetrainRecord | None:
        """The run's record brought up to date, or None for an unknown run."""
        record = self.read(run_id)
        if record is None or record.state not in ACTIVE_STATES:
            return record
        if record.mode == "prefect":
            return self._prefect_status(record)
        if self._lock_held_by(run_id):
            return record
        # The process writes its result before it ends (and frees the lock): read again.
        record = self.read(run_id)
        if record is not None and record.state in ACTIVE_STATES:
            # It ended without writing a result: killed, or crashed hard.
            record.finish("failed", error="the retrain process ended without a result "
                                          "(killed or crashed); the served model is unchanged")
            self.write(record)
        return record

    def _lock_held_by(self, run_id: str) -> bool:
        handle = self._open_lock()
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _holder(handle) == run_id
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
        finally:
            os.close(handle)

    def _prefect_status(self, record: RetrainRecord) -> RetrainRecord:
        state = _prefect_call(_flow_run_state, record.run_id)
        if state == record.state:
            return record
        record.state = state
        if state not in ACTIVE_STATES:
            record.finished_at = _now()
            report = self._evaluation_report()
            if state == "completed" and report is not None:
                record.take_report(report)
        self.write(record)
        return record

    def _evaluation_report(self) -> dict[str, Any] | None:
        path = self.settings.metrics_dir / "evaluation.json"
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None


def _holder(handle: int) -> str:
    """The run id written in the lock file by whoever holds (or last held) the lock."""
    return os.pread(handle, 64, 0).decode().strip()


# Prefect --------------------------------------------------------------------------------------

def _prefect_call(function, *arguments):
    """Run one Prefect API call with a deadline; a silent API must not hold up a request."""
    executor = ThreadPoolExecutor(max_workers=1)
    try:
        return executor.submit(function, *arguments).result(timeout=PREFECT_TIMEOUT_SECONDS)
    except FutureTimeout as error:
        raise RetrainUnavailable(
            f"the Prefect API at {os.environ.get('PREFECT_API_URL')} did not answer within "
            f"{PREFECT_TIMEOUT_SECONDS:.0f} s"
        ) from error
    except RetrainUnavailable:
        raise
    except Exception as error:
        raise RetrainUnavailable(f"the Prefect API failed: {type(error).__name__}: {error}") \
            from error
    finally:
        executor.shutdown(wait=False)


def _find_deployment(name: str) -> str | None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return str(client.read_deployment_by_name(name).id)
        except ObjectNotFound:
            return None


def _submit_flow_run(deployment_id: str) -> str:
    from prefect.deployments import run_deployment

    flow_run = run_deployment(deployment_id, parameters={"force": True}, timeout=0,
                              as_subflow=False)
    return str(flow_run.id)


def _flow_run_state(flow_run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(uuid.UUID(flow_run_id))
    return flow_run.state.type.value.lower() if flow_run.state else "pending"


# The retrain process ----------------------------------------------------------------------------

def run_retrain(run_id: str, settings: Settings) -> int:
    """Run the `pipeline` flow (forced) and record its outcome; the caller holds the lock."""
    retrains = Retrains(settings)
    record = retrains.read(run_id)
    if record is None:
        log.error("no record for retrain %s under %s", run_id, retrains.folder)
        return 1
    record.state, record.pid = "running", os.getpid()
    retrains.write(record)
    try:
        from flows.pipeline import pipeline

        report = pipeline(force=True)
    except Exception as error:
        log.exception("retrain %s failed", run_id)
        record.finish("failed", error=f"{type(error).__name__}: {error}"[-2000:])
        retrains.write(record)
        return 1
    record.take_report(report)
    record.finish("completed")
    retrains.write(record)
    log.info("retrain %s completed: %s", run_id, record.decision)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m accidents.retraining",
                                     description="Run one retrain started by the service.")
    parser.add_argument("run_id")
    parser.add_argument("--lock-fd", type=int, required=True,
                        help="descriptor of var/retrains/retrain.lock, locked by the service")
    arguments = parser.parse_args(argv)
    from accidents.logs import setup_logging

    setup_logging()
    # The service locked this open file before starting us; flock on the same open file
    # succeeds at once, and fails if the descriptor is not that lock.
    try:
        fcntl.flock(arguments.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        log.error("retrain %s does not hold the retrain lock: %s", arguments.run_id, error)
        return 1
    os.set_inheritable(arguments.lock_fd, False)  # the lock must end with this process
    return run_retrain(arguments.run_id, get_settings())


if __name__ == "__main__":
    sys.exit(main())
