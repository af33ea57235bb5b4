"""The fallback chain: live sources (each behind the shared cache), then the bundled tables.

Configured by the `intensity_sources` setting (`electricitymaps,bundled`); the bundled tables are
always the last link, so a lookup never fails for a zone the bundle knows. Every value that did
not come from the first link says why in `source.detail` ("electricitymaps: no key; ukgrid:
timeout after 5 s"). WattTime's marginal signal is never chained with average sources: a chain
naming it with another live source is a configuration error, and its fallback to the bundled
average says so in the detail and in the value's basis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from carbon.errors import UserInputError
from carbon.intensity.base import IntensityError, IntensitySource, IntensityValue
from carbon.intensity.http import FetchError
from carbon.intensity.live import ApiSource, annotate

if TYPE_CHECKING:
    from carbon.config import Config

LIVE_SOURCES = ("electricitymaps", "watttime", "ukgrid", "energinet")
BUNDLED = "bundled"
MARGINAL_SOURCES = ("watttime",)
T = TypeVar("T")


class ChainConfigError(UserInputError):
    """`intensity_sources` names an unknown source or mixes marginal and average signals."""


def make_live(name: str, config: Config | None = None) -> ApiSource:
    """One live source from the settings (keys, timeout); base URLs from CARBON_<NAME>_URL."""
    from carbon.config import load

    config = config or load()
    timeout_s = config.http_timeout_s
    if name == "electricitymaps":
        from carbon.intensity.electricitymaps import ElectricityMapsSource

        return ElectricityMapsSource(config.electricitymaps_token, timeout_s=timeout_s)
    if name == "watttime":
        from carbon.intensity.watttime import WattTimeSource

        return WattTimeSource(config.watttime_username, config.watttime_password, timeout_s=timeout_s)
    if name == "ukgrid":
        from carbon.intensity.ukgrid import UkGridSource

        return UkGridSource(timeout_s=timeout_s)
    if name == "energinet":
        from carbon.intensity.energinet import EnerginetSource

        return EnerginetSource(timeout_s=timeout_s)
    raise ChainConfigError(f"unknown intensity source {name!r}; known: {', '.join(LIVE_SOURCES + (BUNDLED,))}")


def check_names(names: Sequence[str]) -> tuple[str, ...]:
    names = tuple(n.strip().lower() for n in names if n.strip())
    for name in names:
        if name not in LIVE_SOURCES + (BUNDLED,):
            raise ChainConfigError(f"unknown intensity source {name!r}; known: {', '.join(LIVE_SOURCES + (BUNDLED,))}")
    live = [n for n in names if n != BUNDLED]
    marginal = [n for n in live if n in MARGINAL_SOURCES]
    if marginal and len(live) > len(marginal):
        raise ChainConfigError(
            f"intensity_sources mixes the marginal signal ({', '.join(marginal)}) with average "
            f"intensity ({', '.join(n for n in live if n not in marginal)}); choose one kind"
        )
    return names


def _bundled_at(zone: str, time: datetime) -> IntensityValue:
    """The bundled value the offline estimate would use: provider-published for cloud regions, else the zone's."""
    from carbon.intensity.static import BundledSource
    from carbon.pricing import intensity_for
    from carbon.regions import UnknownRegion, resolve

    try:
        location = resolve(zone)
    except UnknownRegion:
        value, note = _or_country(zone, lambda z: BundledSource().at(z, time))
        return annotate(value, (), note)
    return intensity_for(location, start=time)


def _or_country(zone: str, lookup: Callable[[str], T]) -> tuple[T, str]:
    """A sub-national zone the bundle lacks (DK-84) falls back to its country (DK), with a note saying so."""
    try:
        return lookup(zone), ""
    except IntensityError:
        country = zone.split("-", 1)[0]
        if country == zone or len(country) != 2:
            raise
    return lookup(country), f"no bundled figure for {zone}: country {country} used"


class Chain:
    """An IntensitySource trying each live link in order, then the bundled tables."""

    name = "chain"

    def __init__(self, links: Sequence[IntensitySource], marginal: bool = False) -> None:
        self.links = tuple(links)
        self.marginal = marginal

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(link.name for link in self.links) + (BUNDLED,)

    def live(self, zone: str, time: datetime) -> tuple[IntensityValue | None, list[str]]:
        """The first live link's value, or None with the reason each link gave."""
        reasons: list[str] = []
        for link in self.links:
            try:
                return link.at(zone, time), reasons
            except FetchError as error:
                reasons.append(f"{link.name}: {error.reason}")
            except IntensityError as error:
                reasons.append(f"{link.name}: {error}")
        return None, reasons

    def fallback(self, zone: str, time: datetime, reasons: Sequence[str]) -> IntensityValue:
        note = (
            "marginal signal unavailable: bundled AVERAGE intensity used instead, not comparable with marginal values"
            if self.marginal and self.links
            else ""
        )
        return annotate(_bundled_at(zone, time), reasons, note)

    def at(self, zone: str, time: datetime) -> IntensityValue:
        value, reasons = self.live(zone, time)
        if value is not None:
            return annotate(value, reasons)
        return self.fallback(zone, time, reasons)

    def series(self, zone: str, start: datetime, end: datetime) -> list[IntensityValue]:
        reasons: list[str] = []
        for link in self.links:
            try:
                values = list(link.series(zone, start, end))
            except FetchError as error:
                reasons.append(f"{link.name}: {error.reason}")
                continue
            except IntensityError as error:
                reasons.append(f"{link.name}: {error}")
                continue
            if values:
                return [annotate(v, reasons) for v in values]
            reasons.append(f"{link.name}: no values in range")
        from carbon.intensity.static import BundledSource

        values, note = _or_country(_bundled_zone(zone), lambda z: BundledSource().series(z, start, end))
        return [annotate(v, reasons, note) for v in values]


def _bundled_zone(zone: str) -> str:
    if ":" not in zone:
        return zone
    from carbon.regions import resolve

    return resolve(zone).zone


def build_chain(config: Config | None = None, names: Sequence[str] | None = None, use_cache: bool = True) -> Chain:
    """The chain the settings describe, each live link behind the user's shared cache."""
    from carbon.config import load

    config = config or load()
    chosen = check_names(names if names is not None else config.intensity_sources)
    live = [make_live(name, config) for name in chosen if name != BUNDLED]
    if use_cache and live:
        from carbon.intensity.cache import CachedSource, IntensityCache

        cache = IntensityCache(config.resolved_cache_dir())
        links: list[IntensitySource] = [CachedSource(source, cache) for source in live]
    else:
        links = list(live)
    return Chain(links, marginal=any(name in MARGINAL_SOURCES for name in chosen))
