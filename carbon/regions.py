"""Region codes → Location: the one place a user's "where" becomes a grid zone.

Accepted: ISO 3166-1 alpha-2 and alpha-3 (`FR`, `FRA`), ISO 3166-2 (`US-CA`, `CA-QC`; a former
code such as India's `IN-TG` resolves to the current `IN-TS`), eGRID subregions (`US-EGRID-CAMX`
or `egrid:CAMX`), provider regions (`aws:us-east-1`, `gcp:europe-west1`, `azure:westeurope`,
case-insensitive; a bare region name when only one provider has it), country names, and `WORLD`. An unknown code is an
error that suggests the closest valid codes: we never fall back to a default place silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from carbon.bundle import derived, last_rows, optional_float, rows_for, table
from carbon.errors import UserInputError
from carbon.intensity.static import EGRID_PREFIX, has_hourly, hourly_zones
from carbon.model import Location

PROVIDERS = ("aws", "gcp", "azure")
WORLD = Location(region="WORLD", zone="WORLD", country=None, name="World")


class UnknownRegion(UserInputError):
    """The code names no region we have data for; the message lists the closest valid codes."""


@dataclass(frozen=True)
class _Index:
    """Every code and name a user may type, built once from the bundled tables."""

    by_key: dict[str, Location]  # upper-cased code or name -> Location
    bare_cloud: dict[str, tuple[Location, ...]]  # lower-cased bare cloud region -> candidates
    suggestions: tuple[str, ...]  # canonical codes and names offered when a code is unknown


def _country(row: dict[str, str]) -> Location:
    iso2 = row["iso2"]
    return Location(region=iso2, zone=iso2, country=None if iso2 == "WORLD" else iso2, name=row["name"])


def _subdivision(row: dict[str, str]) -> Location:
    code = row["iso3166_2"]
    return Location(region=code, zone=code, country=row["country_iso2"], name=row["name"], subdivision=code)


def _cloud(row: dict[str, str]) -> Location:
    return Location(
        region=f"{row['provider']}:{row['region']}",
        zone=row["zone"],
        country=row["country_iso2"] or None,
        provider=row["provider"],
        name=row["location_name"] or None,
        subdivision=row["subdivision_iso3166_2"] or None,
        latitude=optional_float(row["latitude"]),
        longitude=optional_float(row["longitude"]),
    )


def _egrid(row: dict[str, str]) -> Location:
    code = EGRID_PREFIX + row["subregion"]
    return Location(region=code, zone=code, country="US", name=f"eGRID subregion {row['subregion']} ({row['name']})")


@derived
def _direct(text: str) -> Location | None:
    """Codes that name their table (alpha-2, ISO 3166-2 current or former, eGRID subregion,
    provider:region) are looked up by key, without building the full index: the tracker and
    `carbon estimate` start faster. Remembered per bundle (a Location is frozen), since the
    service resolves the same codes all day."""
    upper = text.upper()
    if upper.startswith("EGRID:"):
        upper = EGRID_PREFIX + upper.split(":", 1)[1]
    if upper.startswith(EGRID_PREFIX):
        rows = rows_for("egrid_subregions", upper[len(EGRID_PREFIX) :])
        return _egrid(rows[-1]) if rows else None
    if ":" in text:
        provider, region = text.split(":", 1)
        rows = [r for r in rows_for("cloud_regions", provider.lower()) if r["region"].lower() == region.lower()]
        return _cloud(rows[0]) if rows else None
    if len(upper) == 2 or upper == "WORLD":
        rows = rows_for("countries", upper)
        return _country(rows[-1]) if rows else None
    if re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{1,3}", upper):
        rows = rows_for("subdivisions", upper)
        if not rows:  # a former code (IN-TG): the current subdivision (IN-TS)
            rows = [
                r
                for alias in rows_for("subdivision_aliases", upper)
                for r in rows_for("subdivisions", alias["iso3166_2"])
            ]
        return _subdivision(rows[-1]) if rows else None
    return None


@derived
def _index() -> _Index:
    by_key: dict[str, Location] = {}
    suggestions: list[str] = []
    for row in last_rows("countries"):  # one row per country: its latest name
        location = _country(row)
        by_key[row["iso2"].upper()] = location
        suggestions.append(row["iso2"])
        if row["iso3"]:
            by_key.setdefault(row["iso3"].upper(), location)
        if row["name"]:
            by_key.setdefault(row["name"].upper(), location)
            suggestions.append(row["name"])
    for row in last_rows("subdivisions"):
        by_key[row["iso3166_2"].upper()] = _subdivision(row)
        suggestions.append(row["iso3166_2"])
    for alias in table("subdivision_aliases"):
        if alias["iso3166_2"].upper() in by_key:
            by_key.setdefault(alias["former_code"].upper(), by_key[alias["iso3166_2"].upper()])
    for row in last_rows("egrid_subregions"):
        location = _egrid(row)
        by_key[location.region] = location
        suggestions.append(location.region)
    bare: dict[str, list[Location]] = {}
    for row in table("cloud_regions"):
        location = _cloud(row)
        by_key[location.region.upper()] = location
        bare.setdefault(row["region"].lower(), []).append(location)
        suggestions.append(location.region)
    return _Index(by_key, {k: tuple(v) for k, v in bare.items()}, tuple(suggestions))


def _balancing_authority(zone: str) -> Location:
    """A zone with an hourly series of its own (US-BA-CISO, ...); read only when asked for, because
    finding them means scanning the large hourly table."""
    return Location(
        region=zone, zone=zone, country=zone.split("-", 1)[0], name=f"{zone.rsplit('-', 1)[1]} balancing authority"
    )


def _suggest(code: str, limit: int = 5) -> list[str]:
    import difflib  # for a typo's suggestions only: not on every start's path

    candidates = _index().suggestions
    upper = {c.upper(): c for c in candidates}
    matches = difflib.get_close_matches(code.upper(), list(upper), n=limit, cutoff=0.6)
    return [upper[m] for m in matches]


def resolve(code: str) -> Location:
    text = (code or "").strip()
    if not text:
        raise UnknownRegion("no region given: name one, e.g. FR, US-CA or aws:us-east-1 (`carbon regions` lists them)")
    if ":" in text and not text.lower().startswith("egrid:"):
        provider = text.split(":", 1)[0].lower()
        if provider not in PROVIDERS:
            raise UnknownRegion(f"unknown provider {provider!r} in {text!r}; known providers: {', '.join(PROVIDERS)}")
    location = _direct(text)
    if location is not None:
        return location
    index = _index()
    location = index.by_key.get(text.upper())
    if location is not None:
        return location
    if "-BA-" in text.upper() and has_hourly(text.upper()):
        return _balancing_authority(text.upper())
    candidates = index.bare_cloud.get(text.lower(), ())
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        names = ", ".join(c.region for c in candidates)
        raise UnknownRegion(f"region {text!r} is ambiguous; name the provider: {names}")
    suggestions = _suggest(text)
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise UnknownRegion(f"unknown region {text!r}{hint} (`carbon regions` lists every code)")


def all_regions(provider: str | None = None) -> list[Location]:
    """Every region, countries first then subdivisions then cloud regions, each once."""
    seen: dict[str, Location] = {}
    hourly = [] if provider is not None else [_balancing_authority(zone) for zone in hourly_zones()]
    for location in [*_index().by_key.values(), *hourly]:
        if provider is not None and location.provider != provider:
            continue
        seen.setdefault(location.region, location)
    return list(seen.values())


def cloud_regions(provider: str) -> list[Location]:
    """The provider's regions, as all_regions(provider) lists them (one per code, the table's last row
    for it), read from the provider's rows alone: building the whole index costs ~20 ms."""
    seen: dict[str, Location] = {}
    for row in rows_for("cloud_regions", provider):
        location = _cloud(row)
        seen[location.region.upper()] = location
    return list(seen.values())
