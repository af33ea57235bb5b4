"""ISO 3166 code lists kept in `scripts/` (from Debian iso-codes): ISO3 -> ISO2, and the
sub-national codes with the spellings the raw sources use for them."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .rawcsv import RawDataError, read_csv

SCRIPTS = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Subdivision:
    code: str
    country_iso2: str
    name: str


def plain(text: str) -> str:
    """Case- and accent-insensitive form used to match a source's spelling of a place."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


def iso3_to_iso2() -> dict[str, str]:
    return {row.get("iso3"): row.get("iso2") for row in read_csv(SCRIPTS / "iso3166_1.csv", ("iso3", "iso2"))}


def subdivisions() -> dict[str, Subdivision]:
    return {
        row.get("iso3166_2"): Subdivision(row.get("iso3166_2"), row.get("country_iso2"), row.get("name"))
        for row in read_csv(SCRIPTS / "iso3166_2.csv", ("iso3166_2", "country_iso2", "name", "aliases"))
    }


def former_codes() -> list[tuple[str, str]]:
    """(former code, current code) for every subdivision whose ISO 3166-2 code changed (India's
    IN-CT, IN-OR, IN-TG and IN-UT became IN-CG, IN-OD, IN-TS and IN-UK on 2023-11-23)."""
    return [
        (former, row.get("iso3166_2"))
        for row in read_csv(SCRIPTS / "iso3166_2.csv", ("iso3166_2", "former_codes"))
        for former in filter(None, row.get("former_codes").split("|"))
    ]


def subdivision_by_name(country_iso2: str) -> dict[str, Subdivision]:
    """plain(name or alias) -> subdivision, for one country."""
    result: dict[str, Subdivision] = {}
    for row in read_csv(SCRIPTS / "iso3166_2.csv", ("iso3166_2", "country_iso2", "name", "aliases")):
        if row.get("country_iso2") != country_iso2:
            continue
        sub = Subdivision(row.get("iso3166_2"), country_iso2, row.get("name"))
        for spelling in [row.get("name"), *filter(None, row.get("aliases").split("|"))]:
            result[plain(spelling)] = sub
    return result


def lookup_subdivision(names: dict[str, Subdivision], spelling: str, file: str, line: int, column: str) -> Subdivision:
    try:
        return names[plain(spelling)]
    except KeyError:
        raise RawDataError(
            file,
            line,
            column,
            f"{spelling!r} is not a known ISO 3166-2 subdivision name (add it to scripts/iso3166_2.csv aliases)",
        ) from None
