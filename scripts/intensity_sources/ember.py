"""Ember electricity data (CC BY 4.0): country, US-state and Indian-state intensity, yearly and monthly.

Ember's emissions intensity uses lifecycle emission factors per fuel, so every row is `lifecycle`.
Aggregates (EU, G20, continents...) are dropped except the World series, kept as zone WORLD.
"""

from __future__ import annotations

from pathlib import Path

from . import codes
from .rawcsv import RawRow, fmt, read_csv
from .table import Table

FOLDER = "ember/data"
INTENSITY = "emissions_intensity_gco2_per_kwh"
UNITS = {"intensity_g_per_kwh": "gCO2e/kWh (lifecycle)"}
WORLD = ("WORLD", "WLD")
FIRST_YEAR = 2000


def _country(row: RawRow, iso3_to_iso2: dict[str, str]) -> tuple[str, str] | None:
    code = row.get("country_code")
    if not code:
        return WORLD if row.get("country_or_region") == "World" else None
    iso2 = iso3_to_iso2.get(code)
    if iso2 is None:
        raise row.error("country_code", f"{code!r} is not an ISO 3166-1 alpha-3 code in scripts/iso3166_1.csv")
    return iso2, code


def _month(row: RawRow) -> tuple[int, int]:
    text = row.get("date")
    try:
        year, month = int(text[0:4]), int(text[5:7])
    except ValueError:
        raise row.error("date", f"{text!r} is not a YYYY-MM-DD date") from None
    if not 1 <= month <= 12:
        raise row.error("date", f"{text!r} has no valid month")
    return year, month


def _year(row: RawRow) -> int:
    try:
        return int(row.get("year"))
    except ValueError:
        raise row.error("year", f"{row.get('year')!r} is not a year") from None


def countries(raw: Path) -> list[Table]:
    mapping = codes.iso3_to_iso2()
    yearly, yearly_origin = [], []
    for row in read_csv(
        raw / FOLDER / "api_country_overview_yearly.csv",
        ("country_or_region", "country_code", "year", INTENSITY),
        label=f"{FOLDER}/api_country_overview_yearly.csv",
    ):
        place = _country(row, mapping)
        year = _year(row)
        if place is None or year < FIRST_YEAR:
            continue
        value = row.number(INTENSITY, required=False)
        if value is None:
            continue
        yearly.append(
            (
                place[0],
                place[1],
                "World" if place == WORLD else row.get("country_or_region"),
                str(year),
                fmt(value),
                "lifecycle",
                "ember-yearly",
            )
        )
        yearly_origin.append((row.file, row.line))
    monthly, monthly_origin = [], []
    for row in read_csv(
        raw / FOLDER / "api_country_overview_monthly.csv",
        ("country_or_region", "country_code", "date", INTENSITY),
        label=f"{FOLDER}/api_country_overview_monthly.csv",
    ):
        place = _country(row, mapping)
        if place is None:
            continue
        value = row.number(INTENSITY, required=False)
        if value is None:
            continue
        year, month = _month(row)
        monthly.append((place[0], str(year), str(month), fmt(value), "lifecycle", "ember-monthly"))
        monthly_origin.append((row.file, row.line))
    return [
        Table(
            "countries",
            tuple(yearly),
            "Yearly grid carbon intensity by country (ISO 3166-1) and the world",
            ("ember-yearly", "iso-codes"),
            UNITS,
            tuple(yearly_origin),
        ),
        Table(
            "countries_monthly",
            tuple(monthly),
            "Monthly grid carbon intensity by country and the world",
            ("ember-monthly",),
            UNITS,
            tuple(monthly_origin),
        ),
    ]


def _states(raw: Path, file: str, country: str, source: str, skip: set[str], monthly: bool):
    names = codes.subdivision_by_name(country)
    rows, origin = [], []
    period = "date" if monthly else "year"
    for row in read_csv(raw / FOLDER / file, ("state", period, INTENSITY), label=f"{FOLDER}/{file}"):
        if row.get("state") in skip:
            continue
        value = row.number(INTENSITY, required=False)
        if value is None:
            continue
        sub = codes.lookup_subdivision(names, row.get("state"), row.file, row.line, "state")
        if monthly:
            year, month = _month(row)
            rows.append((sub.code, str(year), str(month), fmt(value), "lifecycle", source))
        else:
            rows.append((sub.code, country, sub.name, str(_year(row)), fmt(value), "lifecycle", source))
        origin.append((row.file, row.line))
    return rows, origin


US = ("US", "ember-us", {"US Total"})
INDIA = ("IN", "ember-in", {"India Total", "Others"})


def subdivisions_yearly(raw: Path) -> tuple[list[tuple[str, ...]], list[tuple[str, int]]]:
    rows, origin = [], []
    for file, (country, source, skip) in (("api_overview_usa_yearly.csv", US), ("api_overview_ind_yearly.csv", INDIA)):
        r, o = _states(raw, file, country, source, skip, monthly=False)
        rows += r
        origin += o
    return rows, origin


def subdivisions_monthly(raw: Path) -> Table:
    rows, origin = [], []
    for file, (country, source, skip) in (
        ("api_overview_usa_monthly.csv", US),
        ("api_overview_ind_monthly.csv", INDIA),
    ):
        r, o = _states(raw, file, country, source, skip, monthly=True)
        rows += r
        origin += o
    return Table(
        "subdivisions_monthly",
        tuple(rows),
        "Monthly grid carbon intensity of US states (+DC, PR) and Indian states (ISO 3166-2)",
        ("ember-us", "ember-in", "iso-codes"),
        UNITS,
        tuple(origin),
    )
