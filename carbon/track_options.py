"""The options of a tracked run, declared once: `Tracker(...)`, `track(...)` and the decorator all
take exactly the fields of `TrackOptions`, so a new option is one new field here.

A field whose metadata says `setting=True` is also a setting (carbon.config): when left at None it
comes from `CARBON_<NAME>`, the config file or the setting's default, in that order.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Concatenate, ParamSpec, TypeVar

from carbon.errors import UserInputError

MODES = ("machine", "process")

_P = ParamSpec("_P")
_R = TypeVar("_R")
_S = TypeVar("_S")


def _setting(name: str | None = None) -> Any:
    """A field that is also a setting (of the same name unless `name` says), left at None to take
    the configured value."""
    return field(default=None, metadata={"setting": True, "setting_name": name})


@dataclass(frozen=True, kw_only=True)
class TrackOptions:
    """Every option of a tracked run.

    region, interval_s, output_dir, project, experiment, pue: settings (argument > CARBON_* >
    config file > default). mode: "machine" measures the machine, "process" attributes a share of
    it to the process tree rooted at `pid` (default: this process). gpu_ids: the GPUs to read
    ("0,1" or a sequence; default all). detect: ask the cloud metadata services when no region is
    set. write: keep the run log and the runs CSV in output_dir. command: recorded with the run.
    on_note: where the run's warnings go as they happen (default: the `carbon.tracker` logger).
    sinks: where records go instead of the files. Integrations: mlflow (log to the active MLflow
    run or a new one), comet (None: when a comet_ml experiment is running and the comet_auto
    setting is on), prometheus_port (serve metrics on 127.0.0.1), embodied (add the hardware's
    embodied emissions apart, over embodied_lifetime_years or the table's lifetime). server and
    server_token (settings server_url, server_token): upload the intervals to a carbon server from a
    background thread, the run log being the spool (carbon.sinks.server).
    """

    region: str | None = _setting()
    interval_s: float | None = _setting()
    output_dir: str | None = _setting()
    project: str | None = _setting()
    experiment: str | None = _setting()
    pue: float | None = _setting()
    embodied_lifetime_years: float | None = _setting()
    server: str | None = _setting("server_url")
    server_token: str | None = _setting("server_token")
    mode: str = "machine"
    pid: int | None = None
    gpu_ids: str | Sequence[str] | None = None
    detect: bool = True
    write: bool = True
    command: str | None = None
    on_note: Callable[[str], None] | None = None
    sinks: Sequence[Any] | None = None
    mlflow: bool = False
    comet: bool | None = None
    prometheus_port: int | None = None
    embodied: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserInputError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        lifetime = self.embodied_lifetime_years
        if self.embodied and lifetime is not None and not lifetime > 0:
            raise UserInputError(f"the hardware lifetime must be a positive number of years, got {lifetime:g}")

    def settings(self) -> dict[str, Any]:
        """The fields that are settings, by name, for `carbon.config.load` (None: not given here)."""
        return {
            f.metadata.get("setting_name") or f.name: getattr(self, f.name)
            for f in fields(self)
            if f.metadata.get("setting")
        }

    def as_kwargs(self) -> dict[str, Any]:
        """Every field by name (shallow: sinks and callbacks are passed on, not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _keyword_signature(
    source: Callable[..., object], first: list[inspect.Parameter], returns: Any
) -> inspect.Signature:
    keyword_only = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in inspect.signature(source).parameters.values()
    ]
    return inspect.Signature([*first, *keyword_only], return_annotation=returns)


def parameters_of(source: Callable[_P, object]) -> Callable[[Callable[..., _R]], Callable[_P, _R]]:
    """Give a `(**options)` function the parameters of `source` (TrackOptions): for type checkers
    through the ParamSpec, for help() and editors through `__signature__`. The function must
    pass its options on to `source`, which checks them."""

    def apply(function: Callable[..., _R]) -> Callable[_P, _R]:
        returns = inspect.signature(function).return_annotation
        function.__signature__ = _keyword_signature(source, [], returns)  # type: ignore[attr-defined]  # documented by inspect
        return function

    return apply


def method_parameters_of(
    source: Callable[_P, object],
) -> Callable[[Callable[Concatenate[_S, ...], _R]], Callable[Concatenate[_S, _P], _R]]:
    """The same for a method taking `(self, **options)`, such as `Tracker.__init__`."""

    def apply(method: Callable[Concatenate[_S, ...], _R]) -> Callable[Concatenate[_S, _P], _R]:
        self_parameter = next(iter(inspect.signature(method).parameters.values()))
        method.__signature__ = _keyword_signature(source, [self_parameter], None)  # type: ignore[attr-defined]  # documented by inspect
        return method

    return apply
