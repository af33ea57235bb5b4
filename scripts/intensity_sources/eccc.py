"""Canadian provinces and territories: ECCC National Inventory Report Annex 13 generation intensity.

The NIR workbook (one sheet per province) gives "Generation Intensity (g CO2 eq / kWh)" for 1990,
2000 and 2005 onward; these are direct (combustion) emissions per kWh generated. ECCC's 2021
projections file fills only province-years the NIR lacks, and only its historical years (before
2020): its 2020+ columns are projections, never actuals.
"""

from __future__ import annotations

from pathlib import Path

from . import codes
from .rawcsv import RawDataError, fmt, parse_number, read_csv

FOLDER = "canada-eccc"
WORKBOOK = "EN_Electricity_Can_Prov_Terr.xlsx"
PROJECTIONS = (
    "Energy-Energie/Grid-O&G-Intensities-Intensites-Reseau-Delectricite-P&G/"
    "Electricity-grid-intensities-intensites-reseau-delectricite-1.csv"
)
ROW_LABEL = "generation intensity (g co2 eq / kwh)"
TITLE_PREFIX = "electricity generation and ghg emission details for "
LAST_HISTORICAL_YEAR = 2019
NOT_AVAILABLE = {"**", "x", ".."}  # ECCC's markers for a value not published (e.g. Nunavut before 1999)


def _nir(raw: Path) -> dict[tuple[str, int], tuple[str, tuple[str, int]]]:
    import openpyxl

    path = raw / FOLDER / WORKBOOK
    label = f"{FOLDER}/{WORKBOOK}"
    if not path.exists():
        raise RawDataError(label, None, None, "raw file is missing")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several unrelated types for a damaged file
        raise RawDataError(label, None, None, f"not a readable xlsx workbook: {error}") from None
    names = codes.subdivision_by_name("CA")
    values: dict[tuple[str, int], tuple[str, tuple[str, int]]] = {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        where = f"{label} [{sheet.title}]"
        title = next((c for r in rows[:3] for c in r if isinstance(c, str) and TITLE_PREFIX in c.lower()), None)
        if title is None:
            raise RawDataError(where, 1, None, "no 'Electricity Generation and GHG Emission Details for ...' title")
        place = title[title.lower().index(TITLE_PREFIX) + len(TITLE_PREFIX) :].strip()
        place = place[4:] if place.lower().startswith("the ") else place
        if codes.plain(place) == "canada":
            continue
        sub = codes.lookup_subdivision(names, place, where, 1, "title")
        header_index = next((i for i, r in enumerate(rows) if any(c in (1990, "1990") for c in r)), None)
        if header_index is None:
            raise RawDataError(where, None, None, "no header row of years")
        years = {
            j: int(str(c).rstrip("abcdefghijklmnopqrstuvwxyz"))
            for j, c in enumerate(rows[header_index])
            if c is not None and str(c).rstrip("abcdefghijklmnopqrstuvwxyz").isdigit()
        }
        row_index = next(
            (
                i
                for i, r in enumerate(rows)
                if any(
                    isinstance(c, str) and c.lower().rstrip("abcdefghijklmnopqrstuvwxyz,").startswith(ROW_LABEL)
                    for c in r
                )
            ),
            None,
        )
        if row_index is None:
            raise RawDataError(where, None, None, f"no row labelled {ROW_LABEL!r}")
        for j, year in years.items():
            cell = rows[row_index][j]
            column = f"{year}"
            text = "" if cell is None or str(cell).strip() in NOT_AVAILABLE else str(cell)
            value = parse_number(text, where, row_index + 1, column, required=False)
            if value is not None:
                values[(sub.code, year)] = (fmt(value), (where, row_index + 1))
    return values


def subdivisions_yearly(raw: Path) -> tuple[list[tuple[str, ...]], list[tuple[str, int]]]:
    subs = codes.subdivisions()
    values = {key: (value, origin, "eccc-nir-2022") for key, (value, origin) in _nir(raw).items()}
    names = codes.subdivision_by_name("CA")
    region = "Region (English) / Région (anglais)"
    for row in read_csv(
        raw / FOLDER / PROJECTIONS,
        (region,),
        label=f"{FOLDER}/{PROJECTIONS.rsplit('/', 1)[1]}",
        encoding="cp1252",
        skip_lines=1,
        allow_short=True,
    ):
        if codes.plain(row.get(region)).startswith("notes"):
            break  # free-text notes follow the table
        if not row.complete:
            raise row.error(None, f"row has {len(row.values)} fields, the header has {row.width} (truncated?)")
        sub = codes.lookup_subdivision(names, row.get(region), row.file, row.line, region)
        for column in row.values:
            if not column.isdigit() or int(column) > LAST_HISTORICAL_YEAR:
                continue
            value = row.number(column, required=False)
            if value is not None and (sub.code, int(column)) not in values:
                values[(sub.code, int(column))] = (fmt(value), (row.file, row.line), "eccc-projections-2021")
    rows, origin = [], []
    for (code, year), (value, where, source) in values.items():
        rows.append((code, "CA", subs[code].name, str(year), value, "direct", source))
        origin.append(where)
    return rows, origin
