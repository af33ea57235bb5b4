"""Energinet's Energi Data Service, dataset CO2Emis: Danish grid intensity per price area, no key.

`GET /dataset/CO2Emis?start&end&filter={"PriceArea":["DK1"]}&sort=Minutes5UTC ASC` answers
`{"total", "dataset", "records": [{"Minutes5UTC", "Minutes5DK", "PriceArea", "CO2Emission"}]}`,
one record per 5 minutes, `CO2Emission` in g/kWh of electricity consumed (Energinet's declaration
method, combustion CO2 including imports), hence basis "direct". Price areas: DK1 (Jutland and
Funen, west of the Great Belt) and DK2 (Zealand and the islands, east).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from carbon.intensity.http import get_json, number, require, require_list
from carbon.intensity.live import ApiSource, parse_time

_POINTS_PER_HOUR = 12


class EnerginetSource(ApiSource):
    name = "energinet"
    basis = "direct"
    dataset = "Energinet Energi Data Service CO2Emis"
    licence = "Energinet open data (CC BY 4.0)"
    url_env = "CARBON_ENERGINET_URL"
    default_url = "https://api.energidataservice.dk"
    max_span = timedelta(days=10)

    def _points(self, api_zone: str, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
        hours = max(1, int((end - start).total_seconds() // 3600) + 1)
        body = get_json(
            f"{self.base_url}/dataset/CO2Emis",
            timeout_s=self.timeout_s,
            params={
                "start": f"{start:%Y-%m-%dT%H:%M}",
                "end": f"{end:%Y-%m-%dT%H:%M}",
                "timezone": "UTC",
                "filter": json.dumps({"PriceArea": [api_zone]}, separators=(",", ":")),
                "sort": "Minutes5UTC ASC",
                "limit": str(hours * _POINTS_PER_HOUR),
            },
        )
        points = []
        for record in require_list(body, "records"):
            if require(record, "PriceArea") != api_zone:
                continue
            value = require(record, "CO2Emission")
            if value is None:
                continue
            points.append((parse_time(require(record, "Minutes5UTC")), number(value, "CO2Emission")))
        return [(t, v) for t, v in points if start <= t < end]
