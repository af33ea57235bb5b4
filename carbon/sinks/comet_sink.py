"""Comet: the same metrics, parameters and artifacts as MLflow (carbon.sinks.metrics), in the running
comet_ml experiment, online or `OfflineExperiment`. Used automatically when an experiment is
running (setting `comet_auto = false` to turn off); `track(comet=True)` requires one.
Install with `pip install 'carbon-ledger[comet]'`.
"""

from __future__ import annotations

from typing import Any

from carbon.errors import UserInputError
from carbon.sinks.experiment import ExperimentSink


def current_experiment(comet_ml: Any) -> Any:
    """The experiment comet_ml holds as running, unless it has ended (comet_ml keeps the last one)."""
    getter = getattr(comet_ml, "get_running_experiment", None) or comet_ml.get_global_experiment
    experiment = getter()
    return None if experiment is None or getattr(experiment, "ended", False) else experiment


def running_experiment() -> Any:
    try:
        import comet_ml
    except ImportError:
        raise UserInputError("Comet logging needs the comet_ml package: pip install 'carbon-ledger[comet]'") from None
    return current_experiment(comet_ml)


class CometSink(ExperimentSink):
    name = "Comet"

    def __init__(self) -> None:
        super().__init__()
        self.experiment: Any = None

    def _open(self, run: dict[str, Any]) -> None:
        self.experiment = running_experiment()
        if self.experiment is None:
            raise UserInputError(
                "Comet logging asked for, but no comet_ml experiment is running: create one "
                "(comet_ml.start(), Experiment() or OfflineExperiment()) before the tracker starts"
            )
        self.experiment.log_other("carbon_run_id", str(run["run_id"]))

    def _log(self, step: int, metrics: dict[str, float], params: dict[str, str] | None) -> None:
        if params:
            self.experiment.log_parameters(params)
        self.experiment.log_metrics(metrics, step=step)

    def _finish(self, metrics: dict[str, float], files: dict[str, str]) -> None:
        self.experiment.log_metrics(metrics)
        for name, text in files.items():
            self.experiment.log_asset_data(text, name=name)
