"""The four raw BAAC tables: which columns the product needs and how to read them safely."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

TABLES = ("caracteristiques", "lieux", "usagers", "vehicules")

#: Columns each table must carry; the others are read but not used.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "caracteristiques": (
        "Num_Acc", "jour", "mois", "an", "hrmn", "lum", "dep", "com", "agg", "int",
        "atm", "col", "lat", "long",
    ),
    "lieux": ("Num_Acc", "catr", "circ", "surf", "situ", "vma"),
    "usagers": (
        "Num_Acc", "id_vehicule", "num_veh", "place", "catu", "grav", "sexe", "an_nais", "secu1",
    ),
    "vehicules": ("Num_Acc", "id_vehicule", "num_veh", "catv", "obsm", "motor"),
}

#: Columns kept as text: identifiers, Corsica codes (2A/2B), hh:mm times, decimal commas.
TEXT_COLUMNS = {"id_vehicule", "num_veh", "dep", "com", "hrmn", "lat", "long"}

#: How the official files write "not filled in".
MISSING_MARKS = {"", "-1", "N/A"}

#: Later vintages renamed the accident key in caracteristiques.
KEY_ALIASES = {"Accident_Id": "Num_Acc"}


class RawDataError(ValueError):
    """A raw file cannot be used; the message names the file and, where known, the column."""


def raw_file_name(table: str, year: int) -> str:
    return f"{table}-{year}.csv"


def read_raw_tables(folder: Path, year: int) -> dict[str, pd.DataFrame]:
    """Read and validate the four tables of one year from `folder`."""
    return {table: read_raw_table(folder / raw_file_name(table, year), table) for table in TABLES}


def read_raw_table(path: Path, table: str) -> pd.DataFrame:
    """Read one official `;`-separated file, keep its required columns and parse their codes."""
    header, rows = _read_rows(path)
    missing = [name for name in REQUIRED_COLUMNS[table] if name not in header]
    if missing:
        raise RawDataError(f"{path.name}: missing column(s) {', '.join(missing)}")
    frame = pd.DataFrame(rows, columns=header)
    frame = frame.loc[:, ~frame.columns.duplicated()][list(REQUIRED_COLUMNS[table])]
    for column in frame.columns:
        if column not in TEXT_COLUMNS:
            frame[column] = _parse_codes(frame[column], path, column)
        else:
            frame[column] = frame[column].str.strip()
    if frame["Num_Acc"].isna().any():
        line = int(np.flatnonzero(frame["Num_Acc"].isna().to_numpy())[0]) + 2
        raise RawDataError(f"{path.name}: column Num_Acc: empty on line {line}")
    frame["Num_Acc"] = frame["Num_Acc"].astype("int64")
    log.info("read %s: %d rows", path.name, len(frame))
    return frame


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise RawDataError(f"{path.name}: file not found in {path.parent}")
    if path.stat().st_size == 0:
        raise RawDataError(f"{path.name}: the file is empty")
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=";")
            header = [KEY_ALIASES.get(name.strip(), name.strip()) for name in next(reader, [])]
            rows = list(reader)
    except UnicodeDecodeError as error:
        raise RawDataError(f"{path.name}: not UTF-8 text ({error.reason})") from error
    except csv.Error as error:
        raise RawDataError(f"{path.name}: not a valid CSV file ({error})") from error
    if len(header) == 1 and any(mark in header[0] for mark in (",", "\t", "|")):
        raise RawDataError(f"{path.name}: columns are not separated by ';' (header: {header[0]!r})")
    if "Num_Acc" not in header:
        raise RawDataError(f"{path.name}: missing column Num_Acc")
    if not rows:
        raise RawDataError(f"{path.name}: the file has a header but no rows")
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise RawDataError(
                f"{path.name}: line {number} has {len(row)} fields where the header has "
                f"{len(header)}; the file is truncated or malformed"
            )
    return header, rows


def _parse_codes(values: pd.Series, path: Path, column: str) -> pd.Series:
    """Turn quoted codes into numbers; "-1", " -1" and empty become missing."""
    text = values.str.strip()
    text = text.where(~text.isin(MISSING_MARKS), None)
    numbers = pd.to_numeric(text, errors="coerce")
    wrong = numbers.isna() & text.notna()
    if wrong.any():
        position = int(np.flatnonzero(wrong.to_numpy())[0])
        raise RawDataError(
            f"{path.name}: column {column}: {text.iloc[position]!r} on line {position + 2} "
            "is not a number"
        )
    return numbers.astype("float64")
