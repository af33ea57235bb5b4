"""Prometheus: a run's (or a machine's) energy, power, emissions and intensity on an HTTP endpoint.

Metric names follow Prometheus' naming rules (base units, `_total` on counters, unit suffixes):

    carbon_energy_joules_total{component, region, method}   IT energy per component (counter, J)
    carbon_power_watts{component, region, method}           mean IT power over the last interval (W)
    carbon_emissions_grams_total{region, method}            CO2e, PUE included (counter, g)
    carbon_grid_intensity_grams_per_kwh{region, method}     intensity that priced the last interval

`method` is how the component's energy was obtained ("measured:rapl", "modelled", ...) for
energy and power, and the intensity's granularity ("hour", "month", "year") for emissions and
intensity. Each sink has its own registry and server (`prometheus_client.start_http_server`),
opened at run start so that a port in use fails before the work. Install with
`pip install 'carbon-ledger[prometheus]'`.
"""

from __future__ import annotations

import logging
from typing import Any

from carbon.errors import UserInputError
from carbon.sinks.metrics import COMPONENTS, J_PER_KWH, power_w

logger = logging.getLogger(__name__)


class PrometheusSink:
    def __init__(self, port: int, address: str = "127.0.0.1") -> None:
        if not 0 <= int(port) <= 65535:
            raise UserInputError(f"Prometheus port must be between 0 and 65535, got {port}")
        try:
            import prometheus_client  # noqa: F401
        except ImportError:
            raise UserInputError(
                "Prometheus export needs prometheus_client: pip install 'carbon-ledger[prometheus]'"
            ) from None
        self.port = int(port)
        self.address = address
        self.server: Any = None
        self.thread: Any = None

    def open(self, run: dict[str, Any]) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

        registry = CollectorRegistry()
        self.energy = Counter(
            "carbon_energy_joules", "IT energy by component", ["component", "region", "method"], registry=registry
        )
        self.power = Gauge(
            "carbon_power_watts",
            "mean IT power by component over the last interval",
            ["component", "region", "method"],
            registry=registry,
        )
        self.emissions = Counter(
            "carbon_emissions_grams", "CO2e emitted, PUE included", ["region", "method"], registry=registry
        )
        self.intensity = Gauge(
            "carbon_grid_intensity_grams_per_kwh",
            "grid carbon intensity that priced the last interval",
            ["region", "method"],
            registry=registry,
        )
        try:
            self.server, self.thread = start_http_server(self.port, addr=self.address, registry=registry)
        except OSError as error:
            raise UserInputError(
                f"cannot serve Prometheus metrics on {self.address}:{self.port}: {error.strerror or error}"
            ) from None
        self.port = self.server.server_port  # the one the system chose when 0 was asked
        logger.info("Prometheus metrics on http://%s:%d/metrics", self.address, self.port)

    def interval(self, record: dict[str, Any]) -> None:
        region = str(record.get("region") or "")
        breakdown = record["breakdown"]
        for component in COMPONENTS:
            energy_kwh = breakdown[f"{component}_kwh"]
            method = breakdown.get(f"{component}_method")
            if method is None and energy_kwh == 0:
                continue  # a component this machine does not have (no GPU)
            labels = {"component": component, "region": region, "method": str(method or "none")}
            self.energy.labels(**labels).inc(energy_kwh * J_PER_KWH)
            self.power.labels(**labels).set(power_w(energy_kwh, record["duration_s"]))
        granularity = str(record.get("intensity_granularity") or "")
        self.emissions.labels(region=region, method=granularity).inc(record["co2e_kg"] * 1000.0)
        self.intensity.labels(region=region, method=granularity).set(record["intensity_g_per_kwh"])

    def close(self, summary: dict[str, Any]) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
