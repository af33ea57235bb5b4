"""The public names: importable, seen by type checkers, and track()/Tracker sharing one options type."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

import carbon
from carbon.track_options import TrackOptions
from carbon.tracker import Tracker

INIT = Path(carbon.__file__)


def _type_checking_names() -> set[str]:
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    return {alias.asname or alias.name for node in block.body for alias in node.names}


def test_every_public_name_loads_and_type_checkers_see_the_same_list():
    lazy = set(carbon.__all__) - {"__version__"}
    assert _type_checking_names() == lazy
    for name in lazy:
        assert getattr(carbon, name) is not None


def test_the_error_families_are_exported():
    assert issubclass(carbon.UserInputError, carbon.CarbonError)
    for family in (carbon.DataError, carbon.NetworkError, carbon.HardwareError):
        assert issubclass(family, carbon.CarbonError)


def test_track_and_tracker_show_the_options_fields():
    names = [f.name for f in dataclasses.fields(TrackOptions)]
    for callable_ in (carbon.track, Tracker):
        parameters = inspect.signature(callable_).parameters
        assert list(parameters) == names
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values())
    assert inspect.signature(carbon.track).parameters["region"].annotation == "str | None"


def test_an_unknown_option_is_refused_by_both():
    with pytest.raises(TypeError, match="bogus"):
        carbon.track(bogus=1)
    with pytest.raises(TypeError, match="bogus"):
        Tracker(bogus=1)


def test_the_decorator_passes_every_option_on(tmp_path, monkeypatch):
    """A value for each field given to @track reaches the tracker that runs the call."""
    seen: list[TrackOptions] = []
    real = Tracker.from_options.__func__

    def spy(cls, options):
        seen.append(options)
        return real(cls, options)

    monkeypatch.setattr(Tracker, "from_options", classmethod(spy))
    given = dict(
        region="FR",
        interval_s=60.0,
        output_dir=str(tmp_path),
        project="p",
        experiment="e",
        pue=1.2,
        mode="machine",
        pid=1,
        gpu_ids="0",
        detect=False,
        write=False,
        command="cmd",
        on_note=lambda _: None,
        sinks=[],
        embodied_lifetime_years=5.0,
        mlflow=True,
        comet=False,
        prometheus_port=0,
        embodied=True,
        server="http://127.0.0.1:9",
        server_token="t",
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    # every field is given a non-default value: a field added later fails this test until added here
    assert set(given) == {f.name for f in dataclasses.fields(TrackOptions)}

    @carbon.track(**given)
    def work() -> int:
        return 7

    assert work() == 7
    assert seen and seen[0].as_kwargs() == given


def test_a_bad_mode_is_a_user_input_error():
    with pytest.raises(carbon.UserInputError, match="mode must be one of"):
        carbon.track(mode="galaxy")
