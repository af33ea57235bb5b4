"""NESO (National Grid ESO) Carbon Intensity API: Great Britain, national and by region, no key.

Half-hourly periods as documented at carbon-intensity.github.io/api-definitions: national
`GET /intensity` (current) and `/intensity/{from}/{to}` give `data: [{from, to, intensity:
{forecast, actual, index}}]`; regional `GET /regional/regionid/{id}` (current) and
`/regional/intensity/{from}/{to}/regionid/{id}` give the same periods under a region object.
Times are `YYYY-MM-DDThh:mmZ`. The `actual` estimate is used where published, else the forecast
(regions publish forecasts only). Values are gCO2/kWh of generation
CO2 (the NESO methodology's direct emission factors), hence basis "direct".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from carbon.intensity.http import FetchError, get_json, number, require, require_list
from carbon.intensity.live import ApiSource, parse_time

NATIONAL = "national"


class UkGridSource(ApiSource):
    name = "ukgrid"
    basis = "direct"
    dataset = "NESO Carbon Intensity API (Great Britain)"
    licence = "CC BY 4.0"
    url_env = "CARBON_UKGRID_URL"
    default_url = "https://api.carbonintensity.org.uk"
    max_span = timedelta(days=13)  # the API answers ranges of up to 14 days

    def _get(self, path: str) -> object:
        return get_json(f"{self.base_url}{path}", timeout_s=self.timeout_s, headers={"Accept": "application/json"})

    def _points(self, api_zone: str, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
        span = f"{start:%Y-%m-%dT%H:%MZ}/{end:%Y-%m-%dT%H:%MZ}"
        if api_zone == NATIONAL:
            periods = require_list(self._get(f"/intensity/{span}"), "data")
        else:
            periods = require_list(
                self._get(f"/regional/intensity/{span}/regionid/{_region_id(api_zone)}"), "data", "data"
            )
        return _periods(periods)

    def _latest_points(self, api_zone: str) -> tuple[list[tuple[datetime, float]], str]:
        if api_zone == NATIONAL:
            periods = require_list(self._get("/intensity"), "data")
        else:
            regions = require_list(self._get(f"/regional/regionid/{_region_id(api_zone)}"), "data")
            if not regions:
                raise FetchError("bad body: no region in the answer")
            periods = require_list(regions[0], "data")
        return _periods(periods), ""


def _region_id(api_zone: str) -> int:
    try:
        return int(api_zone)
    except ValueError:
        raise FetchError(f"not a NESO region id: {api_zone!r}") from None


def _periods(periods: list[Any]) -> list[tuple[datetime, float]]:
    points = []
    for period in periods:
        intensity = require(period, "intensity")
        value = intensity.get("actual") if isinstance(intensity, dict) else None
        if value is None:
            value = require(intensity, "forecast")
        if value is None:
            continue
        points.append((parse_time(require(period, "from")), number(value, "intensity")))
    return points
