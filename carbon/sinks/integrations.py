"""Which integration sinks a run gets: MLflow and Prometheus when asked, Comet when asked or when a
comet_ml experiment is running (unless the `comet_auto` setting is false). Nothing here imports a
tracker's package unless it is used: `import carbon.tracker` stays light."""

from __future__ import annotations

import sys
from typing import Any


def comet_running() -> bool:
    """A comet_ml experiment is live in this process. Never imports comet_ml: a script that uses
    Comet has imported it already."""
    comet_ml = sys.modules.get("comet_ml")
    if comet_ml is None:
        return False
    from carbon.sinks.comet_sink import current_experiment

    return current_experiment(comet_ml) is not None


def integration_sinks(
    *, mlflow: bool = False, comet: bool | None = None, prometheus_port: int | None = None, comet_auto: bool = True
) -> list[Any]:
    """`comet=None` means: when a comet_ml experiment is running and `comet_auto` (the setting) is on."""
    sinks: list[Any] = []
    if mlflow:
        from carbon.sinks.mlflow_sink import MlflowSink

        sinks.append(MlflowSink())
    if comet is None:
        comet = comet_auto and comet_running()
    if comet:
        from carbon.sinks.comet_sink import CometSink

        sinks.append(CometSink())
    if prometheus_port is not None:
        from carbon.sinks.prometheus_sink import PrometheusSink

        sinks.append(PrometheusSink(prometheus_port))
    return sinks
