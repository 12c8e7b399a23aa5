"""What a SIGKILLed atomic write leaves, and how the next run of a stage takes it away."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from accidents.files import TEMPORARY_NAME, atomic_path, remove_orphaned_temporaries


def killed_while_writing(target: Path) -> Path:
    """Start an atomic write of `target` in a process, SIGKILL it mid-write; its temporary."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from accidents.files import atomic_path
        with atomic_path(Path({str(target)!r})) as temporary:
            temporary.write_text("half")
            sys.stdout.write(str(temporary) + "\\n")
            sys.stdout.flush()
            time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    temporary = Path(process.stdout.readline().strip())
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    return temporary


def test_killed_write_leaves_temporary_named_by_its_pid(tmp_path: Path) -> None:
    target = tmp_path / "models" / "prod_model.joblib"
    temporary = killed_while_writing(target)
    assert temporary.exists() and not target.exists()
    match = TEMPORARY_NAME.fullmatch(temporary.name)
    assert match is not None and match["target"] == "prod_model.joblib"


def test_remove_orphaned_temporaries_spares_live_writers(tmp_path: Path) -> None:
    orphan = killed_while_writing(tmp_path / "metrics" / "evaluation.json")
    with atomic_path(tmp_path / "metrics" / "plots.json") as live:
        live.write_text("being written")
        removed = remove_orphaned_temporaries(tmp_path)
        assert removed == [orphan]
        assert live.exists()
    assert not orphan.exists()
    assert (tmp_path / "metrics" / "plots.json").read_text() == "being written"
    assert remove_orphaned_temporaries(tmp_path) == []


def test_remove_orphaned_temporaries_puts_back_retired_folder(tmp_path: Path) -> None:
    """Killed between retiring `raw` and moving the new one in: `raw` comes back."""
    retired = tmp_path / "data" / ".raw.old"
    retired.mkdir(parents=True)
    (retired / "usagers-2021.csv").write_text("Num_Acc;grav\n")
    remove_orphaned_temporaries(tmp_path / "data")
    assert (tmp_path / "data" / "raw" / "usagers-2021.csv").read_text() == "Num_Acc;grav\n"
    assert not retired.exists()


def test_remove_orphaned_temporaries_missing_folder_is_empty(tmp_path: Path) -> None:
    assert remove_orphaned_temporaries(tmp_path / "no-such-folder") == []
