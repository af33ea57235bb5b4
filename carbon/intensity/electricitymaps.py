"""Electricity Maps API v3: hourly average (lifecycle) grid intensity by Electricity Maps zone.

Paths and fields as documented for v3: `GET /carbon-intensity/latest|history|past-range` with
the key in the `auth-token` header; each answer point has `datetime` (hour-beginning, UTC),
`carbonIntensity` (gCO2eq/kWh), `emissionFactorType` and `isEstimated`. `/history` covers the last
24 hours in one request, `/past-range` up to 10 days of hours per request.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from carbon.intensity.http import (
    FetchError,
    NotConfigured,
    get_json,
    number,
    require,
    require_list,
)
from carbon.intensity.live import ApiSource, parse_time
from carbon.units import floor_hour


class ElectricityMapsSource(ApiSource):
    name = "electricitymaps"
    basis = "lifecycle"
    dataset = "Electricity Maps API v3 carbon-intensity"
    licence = "Electricity Maps API terms (commercial/free-tier key)"
    url_env = "CARBON_ELECTRICITYMAPS_URL"
    default_url = "https://api.electricitymaps.com/v3"
    max_span = timedelta(days=10)

    def __init__(self, token: str | None, base_url: str | None = None, timeout_s: float = 5.0) -> None:
        super().__init__(base_url, timeout_s)
        self._token = token

    def check_configured(self) -> None:
        if not self._token:
            raise NotConfigured("no key (set CARBON_ELECTRICITYMAPS_TOKEN or electricitymaps_token)")

    def _get(self, path: str, **params: str) -> object:
        params["emissionFactorType"] = self.basis
        return get_json(
            f"{self.base_url}{path}", timeout_s=self.timeout_s, params=params, headers={"auth-token": self._token or ""}
        )

    def _points(self, api_zone: str, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
        if start >= floor_hour(datetime.now(timezone.utc)) - timedelta(hours=23):
            items = require_list(self._get("/carbon-intensity/history", zone=api_zone), "history")
        else:
            items = require_list(
                self._get(
                    "/carbon-intensity/past-range",
                    zone=api_zone,
                    start=f"{start:%Y-%m-%dT%H:%MZ}",
                    end=f"{end:%Y-%m-%dT%H:%MZ}",
                ),
                "data",
            )
        return [point for point in map(self._point, items) if point is not None]

    def _latest_points(self, api_zone: str) -> tuple[list[tuple[datetime, float]], str]:
        body = self._get("/carbon-intensity/latest", zone=api_zone)
        point = self._point(body)
        if point is None:
            raise FetchError("bad body: latest carbonIntensity is null")
        estimated = isinstance(body, dict) and body.get("isEstimated")
        return [point], ("estimated by Electricity Maps" if estimated else "")

    def _point(self, item: object) -> tuple[datetime, float] | None:
        value = require(item, "carbonIntensity")
        if value is None:  # an hour Electricity Maps has no figure for
            return None
        factor = item.get("emissionFactorType") if isinstance(item, dict) else None
        if factor not in (None, self.basis):
            raise FetchError(f"bad body: emissionFactorType {factor!r}, asked {self.basis!r}")
        return parse_time(require(item, "datetime")), number(value, "carbonIntensity")
