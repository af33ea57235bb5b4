"""Region codes → Location: the one place a user's "where" becomes a grid zone.

Accepted: ISO 3166-1 alpha-2 and alpha-3 (`FR`, `FRA`), ISO 3166-2 (`US-CA`, `CA-QC`), provider
regions (`aws:us-east-1`, `gcp:europe-west1`, `azure:westeurope`, case-insensitive; a bare
region name when only one provider has it), country names, and `WORLD`. An unknown code is an
error that suggests the closest valid codes: we never fall back to a default place silently.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from carbon.bundle import derived, last_rows, optional_float, table
from carbon.intensity.static import has_hourly, hourly_zones
from carbon.model import Location

PROVIDERS = ("aws", "gcp", "azure")
WORLD = Location(region="WORLD", zone="WORLD", country=None, name="World")


class UnknownRegion(ValueError):
    """The code names no region we have data for; the message lists the closest valid codes."""


@dataclass(frozen=True)
class _Index:
    by_key: dict[str, Location]  # upper-cased code or name -> Location
    bare_cloud: dict[str, tuple[Location, ...]]  # lower-cased bare cloud region -> candidates
    suggestions: tuple[str, ...]  # canonical codes and names offered when a code is unknown


@derived
def _index() -> _Index:
    by_key: dict[str, Location] = {}
    suggestions: list[str] = []
    for row in last_rows("countries"):  # one row per country: its latest name
        iso2 = row["iso2"]
        location = Location(region=iso2, zone=iso2, country=None if iso2 == "WORLD" else iso2, name=row["name"])
        by_key[iso2.upper()] = location
        suggestions.append(iso2)
        if row["iso3"]:
            by_key.setdefault(row["iso3"].upper(), location)
        if row["name"]:
            by_key.setdefault(row["name"].upper(), location)
            suggestions.append(row["name"])
    for row in last_rows("subdivisions"):
        code = row["iso3166_2"]
        by_key[code.upper()] = Location(
            region=code, zone=code, country=row["country_iso2"], name=row["name"], subdivision=code
        )
        suggestions.append(code)
    bare: dict[str, list[Location]] = {}
    for row in table("cloud_regions"):
        provider, region = row["provider"], row["region"]
        code = f"{provider}:{region}"
        location = Location(
            region=code,
            zone=row["zone"],
            country=row["country_iso2"] or None,
            provider=provider,
            name=row["location_name"] or None,
            subdivision=row["subdivision_iso3166_2"] or None,
            latitude=optional_float(row["latitude"]),
            longitude=optional_float(row["longitude"]),
        )
        by_key[code.upper()] = location
        bare.setdefault(region.lower(), []).append(location)
        suggestions.append(code)
    return _Index(by_key, {k: tuple(v) for k, v in bare.items()}, tuple(suggestions))


def _balancing_authority(zone: str) -> Location:
    """A zone with an hourly series of its own (US-BA-CISO, ...); read only when asked for, because
    finding them means scanning the large hourly table."""
    return Location(region=zone, zone=zone, country=zone.split("-", 1)[0],
                    name=f"{zone.rsplit('-', 1)[1]} balancing authority")


def _suggest(code: str, limit: int = 5) -> list[str]:
    candidates = _index().suggestions
    upper = {c.upper(): c for c in candidates}
    matches = difflib.get_close_matches(code.upper(), list(upper), n=limit, cutoff=0.6)
    return [upper[m] for m in matches]


def resolve(code: str) -> Location:
    text = (code or "").strip()
    if not text:
        raise UnknownRegion("no region given: name one, e.g. FR, US-CA or aws:us-east-1 (`carbon regions` lists them)")
    index = _index()
    if ":" in text:
        provider = text.split(":", 1)[0].lower()
        if provider not in PROVIDERS:
            raise UnknownRegion(f"unknown provider {provider!r} in {text!r}; known providers: {', '.join(PROVIDERS)}")
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
    return [location for location in all_regions(provider) if location.provider == provider]
