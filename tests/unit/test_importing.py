"""The import_data stage: local sources, downloads over HTTP, and all-or-nothing writes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from accidents.importing import RESOURCES, DataImportError, import_data
from tests.raw_tables import write_raw_tables


class _ResourceHandler(SimpleHTTPRequestHandler):
    """Serves `<id>` as data.gouv.fr's `datasets/r/<id>` would, from files named by table."""

    names = {resource: f"{table}-2021.csv" for table, resource in RESOURCES[2021].items()}

    def translate_path(self, path: str) -> str:
        name = self.names.get(path.rsplit("/", 1)[-1], "absent")
        return str(Path(self.directory) / name)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on loopback serving the tiny raw tables as official resources."""
    folder = write_raw_tables(tmp_path / "served")
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 partial(_ResourceHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/fr/datasets/r/", folder
    server.shutdown()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_import_data_copies_local_source(tmp_path: Path, sample_dir: Path) -> None:
    raw = tmp_path / "data" / "raw"

    import_data(raw, 2021, str(sample_dir), base_url="unused")

    assert sorted(path.name for path in raw.iterdir()) == [
        "caracteristiques-2021.csv", "lieux-2021.csv", "usagers-2021.csv", "vehicules-2021.csv",
    ]
    assert (raw / "usagers-2021.csv").read_bytes() == (sample_dir / "usagers-2021.csv").read_bytes()


def test_import_data_names_missing_local_file(tmp_path: Path) -> None:
    source = write_raw_tables(tmp_path / "source")
    (source / "lieux-2021.csv").unlink()

    with pytest.raises(DataImportError, match=r"ACCIDENTS_DATA_SOURCE=.*missing lieux-2021\.csv"):
        import_data(tmp_path / "data" / "raw", 2021, str(source), base_url="unused")
    assert not (tmp_path / "data").exists()


def test_import_data_downloads_official_resources(tmp_path: Path, served) -> None:
    base_url, folder = served
    raw = tmp_path / "data" / "raw"

    import_data(raw, 2021, None, base_url=base_url)

    assert _snapshot(raw) == _snapshot(folder)


def test_import_data_offline_fails_fast_and_leaves_data_untouched(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_raw_tables(data / "raw")
    before = _snapshot(data)
    started = time.monotonic()

    with pytest.raises(DataImportError, match="set ACCIDENTS_DATA_SOURCE to a folder"):
        import_data(data / "raw", 2021, None, base_url=f"http://127.0.0.1:{_closed_port()}/r/")

    assert time.monotonic() - started < 10
    assert _snapshot(data) == before
    assert [path.name for path in data.iterdir()] == ["raw"]


def test_import_data_failed_download_keeps_previous_raw(tmp_path: Path, served) -> None:
    base_url, folder = served
    (folder / "vehicules-2021.csv").unlink()  # the server answers 404 for the last table
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / "usagers-2021.csv").write_text("previous import")

    with pytest.raises(DataImportError, match=r"could not download vehicules-2021\.csv"):
        import_data(raw, 2021, None, base_url=base_url)

    assert _snapshot(tmp_path / "data") == {"raw/usagers-2021.csv": b"previous import"}


def test_import_data_rejects_year_without_official_address(tmp_path: Path) -> None:
    with pytest.raises(DataImportError, match="no official download address is known for 2019"):
        import_data(tmp_path / "raw", 2019, None, base_url="unused")
