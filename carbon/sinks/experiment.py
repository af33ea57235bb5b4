"""The shared shape of the experiment-tracker sinks (MLflow, Comet): a tracker outage is logged,
never allowed to stop the measuring or the user's work.

A subclass implements `_open(run)` (find or start the experiment run; errors here propagate so that
a misconfigured tracker fails before the work starts), `_log(step, metrics, params)` and
`_finish(metrics, files)`. The tracker calls `finish(estimate)` after `close(summary)`, because the LaTeX
snippet is rendered from the Estimate itself.
"""

from __future__ import annotations

import logging
from typing import Any

from carbon.errors import UserInputError
from carbon.sinks.base import SinkError
from carbon.sinks.metrics import MetricStream, artifacts, summary_metrics

logger = logging.getLogger(__name__)


class ExperimentSink:
    name = "experiment tracker"

    def __init__(self) -> None:
        self.stream = MetricStream()
        self.summary: dict[str, Any] | None = None
        self._warned = False

    def _warn(self, what: str, error: Exception) -> None:
        if not self._warned:  # one line per run, not one per interval
            self._warned = True
            logger.warning("%s: %s failed (%s: %s); measuring goes on", self.name, what, type(error).__name__, error)

    def open(self, run: dict[str, Any]) -> None:
        try:
            self._open(run)
        except UserInputError:
            raise
        except Exception as error:  # an unreachable server, a bad tracking URI: one line, before the work
            raise SinkError(f"{self.name}: cannot open the run ({type(error).__name__}: {error})") from error

    def interval(self, record: dict[str, Any]) -> None:
        step, metrics, params = self.stream.interval(record)
        try:
            self._log(step, metrics, params)
        except Exception as error:
            self._warn("logging an interval", error)

    def close(self, summary: dict[str, Any]) -> None:
        self.summary = summary

    def finish(self, estimate: Any) -> None:
        try:
            summary = self.summary or estimate.to_dict()
            self._finish(summary_metrics(summary), artifacts(summary, estimate))
        except Exception as error:
            self._warn("logging the summary", error)

    # -- for subclasses --
    def _open(self, run: dict[str, Any]) -> None:
        raise NotImplementedError

    def _log(self, step: int, metrics: dict[str, float], params: dict[str, str] | None) -> None:
        raise NotImplementedError

    def _finish(self, metrics: dict[str, float], files: dict[str, str]) -> None:
        raise NotImplementedError
