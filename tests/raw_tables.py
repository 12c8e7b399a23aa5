"""Tiny raw BAAC tables in the official format, built to exercise each preprocessing rule."""

from __future__ import annotations

from pathlib import Path

NBSP = "\u00a0"

CARACTERISTIQUES = [
    ["Num_Acc", "jour", "mois", "an", "hrmn", "lum", "dep", "com", "agg", "int", "atm", "col",
     "adr", "lat", "long"],
    ["202100000001", "30", "11", "2021", "07:32", "2", "30", "30319", "1", "1", "1", "1",
     "CD 981", "44,0389580000", "4,3480220000"],
    ["202100000002", "25", "09", "2021", "14:20", "1", "2A", "2A004", "2", "3", "2", "3",
     "rue", "41,9270000000", "8,7360000000"],
    ["202100000003", "15", "07", "2021", "23:05", "5", "75", "75056", "2", "2", "-1", "6",
     "rue", "48,8500000000", "2,3500000000"],
    ["202100000004", "01", "01", "2021", "00:10", "3", "2B", "2B033", "1", "1", "8", "2",
     "route", "42,7000000000", "9,4500000000"],
    ["202100000005", "12", "03", "2021", "18:45", "1", "69", "69123", "2", "1", "3", "7",
     "avenue", "45,7600000000", "4,8400000000"],
]

LIEUX = [
    ["Num_Acc", "catr", "voie", "circ", "surf", "situ", "vma"],
    ["202100000001", "3", "981", "2", "1", "1", "80"],
    ["202100000002", "4", "0", "1", "2", "1", "50"],
    ["202100000003", "4", "0", " -1", "1", "1", "30"],
    # Accident 4 has two lieux rows: the product keeps one row for the accident.
    ["202100000004", "3", "12", "2", "1", "1", "90"],
    ["202100000004", "4", "0", "1", "1", "1", "50"],
    ["202100000005", "1", "6", "3", "1", "1", "130"],
]

USAGERS = [
    ["Num_Acc", "id_vehicule", "num_veh", "place", "catu", "grav", "sexe", "an_nais", "trajet",
     "secu1"],
    # Accident 1: one hospitalised (3) aged 21, one killed (2) aged 43: the killed one describes it.
    ["202100000001", f"201{NBSP}764", "B01", "1", "1", "3", "1", "2000", "1", "0"],
    ["202100000001", f"201{NBSP}765", "A01", "1", "1", "2", "2", "1978", "1", "1"],
    # Accident 2: everyone unscathed (1): not priority.
    ["202100000002", f"201{NBSP}766", "A01", "1", "1", "1", "1", "1990", "1", "1"],
    ["202100000002", f"201{NBSP}766", "A01", "2", "2", "1", "2", "1992", "1", "1"],
    # Accident 3: a victim born in 1890 (age 131): impossible age, so missing.
    ["202100000003", f"201{NBSP}767", "A01", "1", "1", "3", "1", "1890", "1", "1"],
    # Accident 4: lightly injured (4), born after the accident: age missing, not priority.
    ["202100000004", f"201{NBSP}768", "A01", "1", "1", "4", "2", "2025", "1", " -1"],
    # Accident 5: a pedestrian hospitalised (3), severity of the other user not filled in (-1).
    ["202100000005", f"201{NBSP}769", "A01", "1", "1", "-1", "1", "1985", "1", "1"],
    ["202100000005", f"201{NBSP}769", "A01", "-1", "3", "3", "2", "1950", "1", "0"],
]

VEHICULES = [
    ["Num_Acc", "id_vehicule", "num_veh", "senc", "catv", "obs", "obsm", "choc", "manv", "motor"],
    ["202100000001", f"201{NBSP}764", "B01", "1", "7", "0", "2", "1", "1", "5"],
    ["202100000001", f"201{NBSP}765", "A01", "1", "33", "0", "9", "3", "17", "1"],
    ["202100000002", f"201{NBSP}766", "A01", "1", "99", "0", "2", "1", "1", "0"],
    ["202100000003", f"201{NBSP}767", "A01", "1", "2", "0", "2", "1", "1", "1"],
    ["202100000004", f"201{NBSP}768", "A01", "1", "7", "0", "1", "1", "1", "1"],
    ["202100000005", f"201{NBSP}769", "A01", "1", "7", "0", "1", "1", "1", "1"],
]

TABLES = {
    "caracteristiques": CARACTERISTIQUES,
    "lieux": LIEUX,
    "usagers": USAGERS,
    "vehicules": VEHICULES,
}


def to_csv_text(rows: list[list[str]], separator: str = ";") -> str:
    return "\n".join(separator.join(f'"{value}"' for value in row) for row in rows) + "\n"


def write_raw_tables(folder: Path, year: int = 2021, **overrides: str) -> Path:
    """Write the four tables as official files; `overrides` replaces a table's whole text."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in TABLES.items():
        text = overrides.get(table, to_csv_text(rows))
        (folder / f"{table}-{year}.csv").write_text(text, encoding="utf-8")
    return folder
