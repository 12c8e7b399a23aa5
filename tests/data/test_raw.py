"""Reading and validating the official raw files."""

from __future__ import annotations

from pathlib import Path

import pytest

from accidents.raw import RawDataError, read_raw_table, read_raw_tables
from tests.raw_tables import CARACTERISTIQUES, USAGERS, VEHICULES, to_csv_text, write_raw_tables


def test_read_raw_tables_parses_official_format(tmp_path: Path) -> None:
    tables = read_raw_tables(write_raw_tables(tmp_path), 2021)

    assert len(tables["usagers"]) == 8
    assert tables["usagers"]["Num_Acc"].dtype == "int64"
    assert tables["usagers"]["id_vehicule"].iloc[0] == "201\u00a0764"
    assert tables["caracteristiques"]["dep"].tolist()[:2] == ["30", "2A"]
    assert tables["caracteristiques"]["lat"].iloc[0] == "44,0389580000"


def test_read_raw_table_turns_minus_one_with_space_into_missing(tmp_path: Path) -> None:
    users = read_raw_tables(write_raw_tables(tmp_path), 2021)["usagers"]

    assert users["secu1"].isna().tolist() == [False] * 5 + [True] + [False] * 2
    assert users["grav"].isna().tolist() == [False] * 6 + [True, False]


def test_read_raw_table_names_file_and_missing_column(tmp_path: Path) -> None:
    rows = [[value for i, value in enumerate(row) if i != 5] for row in USAGERS]  # drop "grav"
    write_raw_tables(tmp_path, usagers=to_csv_text(rows))

    with pytest.raises(RawDataError, match=r"usagers-2021\.csv: missing column\(s\) grav"):
        read_raw_tables(tmp_path, 2021)


def test_read_raw_table_rejects_wrong_separator(tmp_path: Path) -> None:
    write_raw_tables(tmp_path, lieux=to_csv_text(CARACTERISTIQUES, separator=","))

    with pytest.raises(RawDataError, match=r"lieux-2021\.csv: columns are not separated by ';'"):
        read_raw_tables(tmp_path, 2021)


def test_read_raw_table_rejects_empty_file(tmp_path: Path) -> None:
    write_raw_tables(tmp_path, vehicules="")

    with pytest.raises(RawDataError, match=r"vehicules-2021\.csv: the file is empty"):
        read_raw_tables(tmp_path, 2021)


def test_read_raw_table_rejects_header_only_file(tmp_path: Path) -> None:
    write_raw_tables(tmp_path, vehicules=to_csv_text(VEHICULES[:1]))

    with pytest.raises(RawDataError, match=r"vehicules-2021\.csv: the file has a header but no"):
        read_raw_tables(tmp_path, 2021)


def test_read_raw_table_rejects_truncated_file(tmp_path: Path) -> None:
    text = to_csv_text(CARACTERISTIQUES)
    write_raw_tables(tmp_path, caracteristiques=text[: text.rindex(";") - 3])

    with pytest.raises(RawDataError, match=r"caracteristiques-2021\.csv: line 6 has 14 fields"):
        read_raw_tables(tmp_path, 2021)


def test_read_raw_table_names_column_of_a_non_numeric_code(tmp_path: Path) -> None:
    rows = [list(row) for row in USAGERS]
    rows[3][5] = "grave"
    path = write_raw_tables(tmp_path, usagers=to_csv_text(rows)) / "usagers-2021.csv"

    with pytest.raises(RawDataError, match=r"usagers-2021\.csv: column grav: 'grave' on line 4"):
        read_raw_table(path, "usagers")


def test_read_raw_table_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RawDataError, match=r"lieux-2021\.csv: file not found"):
        read_raw_table(tmp_path / "lieux-2021.csv", "lieux")


def test_read_raw_table_rejects_non_utf8(tmp_path: Path) -> None:
    path = write_raw_tables(tmp_path) / "lieux-2021.csv"
    path.write_bytes(path.read_bytes() + "\"é\"".encode("latin-1"))

    with pytest.raises(RawDataError, match=r"lieux-2021\.csv: not UTF-8"):
        read_raw_table(path, "lieux")


def test_read_raw_tables_reads_real_sample(sample_dir: Path) -> None:
    tables = read_raw_tables(sample_dir, 2021)

    assert {name: len(frame) for name, frame in tables.items()} == {
        "caracteristiques": 900, "lieux": 900, "usagers": 2132, "vehicules": 1495,
    }
    assert tables["usagers"]["grav"].isna().sum() == 2
