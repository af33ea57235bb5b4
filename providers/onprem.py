"""The machine itself, when no cloud claims it: its hardware (providers.machine), region from the user.

No subprocess, no network unless the user opts in to a geo-IP lookup (`CARBON_GEOIP=true`),
which prints what it found so that the guess is visible. `CARBON_PROC_ROOT` points at a fake
/proc for tests.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from carbon.providers.base import Deadline, Detection, HardwareMatch
from carbon.providers.machine import local_hardware

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # pragma: no cover
    from carbon.providers.host import HostFacts

    from carbon.model import Location

DEFAULT_GEOIP_URL = "https://ipapi.co/json/"
GEOIP_TIMEOUT_S = 2.0


def geoip_region(url: str, deadline: Deadline) -> tuple[str | None, str]:
    """(region code, what was found) from a geo-IP service answering ipapi.co-style JSON."""
    # Imported here: the HTTP client (socket, ~5 ms) is for this opt-in lookup only, and every
    # tracker start reads this machine's hardware from this module.
    from carbon.providers.http import MetadataError, request

    try:
        answer = request("GET", url, deadline=deadline, headers={"Accept": "application/json"})
        document = answer.json() if answer.status == 200 else None
    except MetadataError as error:
        return None, f"geoip: {url} failed ({type(error).__name__})"
    if not isinstance(document, dict):
        return None, f"geoip: {url} gave no usable answer"
    country = str(document.get("country_code") or document.get("country") or "").upper()
    subdivision = str(document.get("region_code") or "").upper()
    if len(country) != 2 or not country.isalpha():
        return None, f"geoip: {url} gave no country"
    from carbon.regions import UnknownRegion, resolve

    for code in ((f"{country}-{subdivision}",) if subdivision else ()) + (country,):
        try:
            resolve(code)
        except UnknownRegion:
            continue
        return code, f"geoip: {url} says {code}"
    return None, f"geoip: {url} says {country}, which has no grid data"


class OnPremProvider:
    name = "onprem"

    def claims(self, facts: HostFacts) -> bool | None:
        return False  # asked only as the fallback, never in place of a cloud

    def uses_network(self, facts: HostFacts) -> bool:
        """True when `detect` would make the opt-in geo-IP call (no region set, CARBON_GEOIP on)."""
        from carbon.config import load

        config = load(environ=facts.environ)
        return bool(config.geoip and not config.region)

    def detect(self, deadline: Deadline, facts: HostFacts, region: str | None = None) -> Detection | None:
        from carbon.config import load

        config = load({"region": region}, environ=facts.environ)
        evidence: list[str] = []
        warnings: list[str] = []
        region = config.region
        if region:
            evidence.append(f"region: {region} ({config.origins.get('region', 'default')})")
        elif config.geoip:
            url = facts.environ.get("CARBON_GEOIP_URL") or DEFAULT_GEOIP_URL
            region, note = geoip_region(url, Deadline.after(GEOIP_TIMEOUT_S))
            evidence.append(note)
            logger.info("%s", note)
        else:
            warnings.append(
                "no region: set CARBON_REGION (or region in carbon.toml, or --region); "
                "geo-IP lookup is opt-in with CARBON_GEOIP=true"
            )
        hardware, hardware_evidence = local_hardware(facts.environ)
        return Detection(
            None,
            None,
            region,
            None,
            (*evidence, *hardware_evidence),
            service="onprem",
            reported_hardware=hardware,
            source=self.name,
            warnings=tuple(warnings),
        )

    def hardware(
        self, instance_type: str | None, *, detection: Detection | None = None, live: bool = True
    ) -> HardwareMatch:
        hardware, _ = local_hardware()
        return HardwareMatch(hardware, "local")

    def location(self, region: str) -> Location:
        from carbon.regions import resolve

        return resolve(region)
