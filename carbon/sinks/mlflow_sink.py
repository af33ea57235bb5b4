"""MLflow: a run's metrics per interval (with steps), its parameters, and the summary JSON and LaTeX
snippet as artifacts, in the active MLflow run, or in one started for it (and ended with it).

The run is found or started at tracker start, in the caller's thread (MLflow's active run is
per thread); intervals are then logged through `MlflowClient` with the run id, from the tracker's
thread. The tracking store is MLflow's own setting (MLFLOW_TRACKING_URI or `mlflow.set_tracking_uri`).
Install with `pip install 'carbon-ledger[mlflow]'`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from carbon.errors import UserInputError
from carbon.sinks.experiment import ExperimentSink


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise UserInputError("MLflow logging needs the mlflow package: pip install 'carbon-ledger[mlflow]'") from None
    return mlflow


class MlflowSink(ExperimentSink):
    name = "MLflow"

    def __init__(self) -> None:
        super().__init__()
        self.run_id: str | None = None
        self.started_here = False
        self.client: Any = None

    def _open(self, run: dict[str, Any]) -> None:
        mlflow = _mlflow()
        active = mlflow.active_run()
        if active is None:
            # MLFLOW_RUN_ID names a run to resume (e.g. set for `carbon run` by a pipeline): keep its name
            resuming = bool(os.environ.get("MLFLOW_RUN_ID"))
            active = mlflow.start_run(run_name=None if resuming else f"carbon-{run['run_id']}")
            self.started_here = True
        self.run_id = active.info.run_id
        self.client = mlflow.tracking.MlflowClient()
        tags = {"carbon.run_id": str(run["run_id"])}
        for key in ("project", "experiment", "command"):
            if run.get(key):
                tags[f"carbon.{key}"] = str(run[key])
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, value)

    def _log(self, step: int, metrics: dict[str, float], params: dict[str, str] | None) -> None:
        from mlflow.entities import Metric, Param

        now_ms = int(time.time() * 1000)
        self.client.log_batch(
            self.run_id,
            metrics=[Metric(key, value, now_ms, step) for key, value in metrics.items()],
            params=[Param(key, value) for key, value in (params or {}).items()],
        )

    def _finish(self, metrics: dict[str, float], files: dict[str, str]) -> None:
        try:
            self._log(self.stream.steps, metrics, None)  # the run totals: the step after the last interval
            for name, text in files.items():
                self.client.log_text(self.run_id, text, f"carbon/{name}")
        finally:
            if self.started_here:
                mlflow = _mlflow()
                active = mlflow.active_run()
                if active is not None and active.info.run_id == self.run_id:
                    mlflow.end_run()
                else:  # finished from another thread than the one that started it
                    self.client.set_terminated(self.run_id)
