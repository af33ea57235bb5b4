"""WattTime API v3: the *marginal* operating emissions rate (MOER), never an average intensity.

A MOER answers "how much more CO2 if I add load now", which is not the share of the grid's
emissions a job is responsible for, so every value here has basis "marginal" and the chain
refuses to mix it with average sources. Flow as documented: `GET /login` with HTTP basic auth
gives a bearer token (valid 30 minutes); `GET /v3/historical?region&start&end&signal_type=co2_moer`
gives `data: [{point_time, value}]` with `meta.units` "lbs_co2_per_mwh" (5-minute points);
`GET /v3/signal-index` gives the current value as a percentile of the recent past.
1 lb/MWh = 453.59237 g / 1000 kWh = 0.45359237 g/kWh.
"""

from __future__ import annotations

import time as _time
from datetime import datetime, timedelta, timezone

from carbon.intensity.http import (
    AuthFailed,
    FetchError,
    NotConfigured,
    get_json,
    number,
    require,
    require_list,
)
from carbon.intensity.live import ApiSource, parse_time
from carbon.units import floor_hour

G_PER_KWH_PER_LB_PER_MWH = 0.45359237
_UNITS_TO_G_PER_KWH = {"lbs_co2_per_mwh": G_PER_KWH_PER_LB_PER_MWH, "kg_co2_per_mwh": 1.0}
TOKEN_LIFETIME_S = 30 * 60


class WattTimeSource(ApiSource):
    name = "watttime"
    basis = "marginal"
    dataset = "WattTime API v3 co2_moer (marginal operating emissions rate)"
    licence = "WattTime API terms (account required)"
    url_env = "CARBON_WATTTIME_URL"
    default_url = "https://api.watttime.org"
    max_span = timedelta(days=30)  # the API allows 32 days per /v3/historical request

    def __init__(
        self, username: str | None, password: str | None, base_url: str | None = None, timeout_s: float = 5.0
    ) -> None:
        super().__init__(base_url, timeout_s)
        self._credentials = (username, password) if username and password else None
        self._token: str | None = None
        self._token_expires = 0.0

    def check_configured(self) -> None:
        if self._credentials is None:
            raise NotConfigured("no key (set CARBON_WATTTIME_USERNAME and CARBON_WATTTIME_PASSWORD)")

    def _login(self) -> str:
        body = get_json(f"{self.base_url}/login", timeout_s=self.timeout_s, auth=self._credentials)
        token = require(body, "token")
        if not isinstance(token, str) or not token:
            raise FetchError("bad body: login gave no token")
        # Renew a minute early so a request never goes out with a token about to lapse.
        self._token, self._token_expires = token, _time.monotonic() + TOKEN_LIFETIME_S - 60
        return token

    def _get(self, path: str, params: dict[str, str]) -> object:
        token = self._token if self._token and _time.monotonic() < self._token_expires else self._login()
        try:
            return get_json(
                f"{self.base_url}{path}",
                timeout_s=self.timeout_s,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
        except AuthFailed:  # token revoked or expired early: log in once more
            token = self._login()
            return get_json(
                f"{self.base_url}{path}",
                timeout_s=self.timeout_s,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )

    def _points(self, api_zone: str, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
        body = self._get(
            "/v3/historical",
            {
                "region": api_zone,
                "signal_type": "co2_moer",
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        )
        units = require(body, "meta", "units")
        factor = _UNITS_TO_G_PER_KWH.get(units)
        if factor is None:
            raise FetchError(f"bad body: unknown units {units!r}")
        points = []
        for item in require_list(body, "data"):
            value = require(item, "value")
            if value is None:
                continue
            points.append((parse_time(require(item, "point_time")), number(value, "value") * factor))
        return points

    def _latest_points(self, api_zone: str) -> tuple[list[tuple[datetime, float]], str]:
        now = datetime.now(timezone.utc)
        points = self._points(api_zone, floor_hour(now) - timedelta(hours=1), now)
        latest_hour = max((floor_hour(t) for t, _ in points), default=None)
        points = [(t, v) for t, v in points if floor_hour(t) == latest_hour]
        return points, self._signal_index_note(api_zone)

    def _signal_index_note(self, api_zone: str) -> str:
        """The signal index is context, not a value to price with: its failure costs only the note."""
        try:
            body = self._get("/v3/signal-index", {"region": api_zone, "signal_type": "co2_moer"})
            item = require_list(body, "data")[0]
            value = number(require(item, "value"), "value")
            units = body.get("meta", {}).get("units", "percentile") if isinstance(body, dict) else "percentile"
        except (FetchError, IndexError):
            return ""
        return f"signal index {value:g} ({units})"
