"""The import_data stage: fetch the four official files of a year into data/raw."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import requests
from tqdm import tqdm

from accidents.files import atomic_directory
from accidents.raw import TABLES, raw_file_name

log = logging.getLogger(__name__)

#: Stable data.gouv.fr resource ids of the official files, by year and table.
RESOURCES: dict[int, dict[str, str]] = {
    2021: {
        "caracteristiques": "85cfdc0c-23e4-4674-9bcd-79a970d7269b",
        "lieux": "8a4935aa-38cd-43af-bf10-0209d6d17434",
        "vehicules": "0bb5953a-25d8-46f8-8c25-b5c2f5ba905e",
        "usagers": "ba5a1956-7e82-41b7-a602-89d7dd484d7a",
    },
}

SOURCE_SETTING = "ACCIDENTS_DATA_SOURCE"
CONNECT_TIMEOUT = 5.0


class DataImportError(RuntimeError):
    """The raw files could not be imported; data/raw is left as it was."""


def import_data(raw_dir: Path, year: int, source: str | None, base_url: str,
                timeout: float = 30.0) -> None:
    """Fill `raw_dir` with the four tables of `year`, all or nothing.

    Args:
        raw_dir: the destination folder, replaced as a whole only when every file arrived.
        year: the BAAC vintage.
        source: a local folder holding `<table>-<year>.csv` files; None downloads the
            official files.
        base_url: where the official resources live (data.gouv.fr's `datasets/r/`).
        timeout: seconds to wait for each read from the server.
    """
    if source:
        _check_local_source(Path(source), year)
    elif year not in RESOURCES:
        raise DataImportError(
            f"no official download address is known for {year}; "
            f"set {SOURCE_SETTING} to a folder holding its files"
        )
    with atomic_directory(raw_dir) as staging:
        for table in TABLES:
            target = staging / raw_file_name(table, year)
            if source:
                shutil.copyfile(Path(source) / target.name, target)
            else:
                url = base_url + RESOURCES[year][table]
                try:
                    _download(url, target, timeout)
                except requests.RequestException as error:
                    raise DataImportError(
                        f"could not download {target.name} from {url} ({type(error).__name__}). "
                        f"Without internet access, set {SOURCE_SETTING} to a folder holding "
                        f"the four <table>-{year}.csv files"
                    ) from error
            log.info("imported %s (%d bytes)", target.name, target.stat().st_size)


def _check_local_source(folder: Path, year: int) -> None:
    names = [raw_file_name(table, year) for table in TABLES]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise DataImportError(f"{SOURCE_SETTING}={folder}: missing {', '.join(missing)}")


def _download(url: str, target: Path, timeout: float) -> None:
    with requests.get(url, stream=True, timeout=(CONNECT_TIMEOUT, timeout)) as response:
        response.raise_for_status()
        total = int(response.headers.get("content-length", 0)) or None
        with open(target, "wb") as out, tqdm(
            total=total, unit="B", unit_scale=True, desc=target.name, disable=None
        ) as progress:
            for chunk in response.iter_content(chunk_size=1 << 16):
                out.write(chunk)
                progress.update(len(chunk))
