"""Library messages leave through the `carbon.*` loggers; importing carbon configures nothing."""

from __future__ import annotations

import logging
import subprocess
import sys

from carbon.tracker import WORLD_WARNING, Tracker


def test_importing_carbon_configures_no_logging():
    script = (
        "import logging, carbon, carbon.tracker, carbon.pricing, carbon.intensity.cache\n"
        "print(logging.getLogger('carbon').handlers, logging.getLogger().handlers, logging.getLogger().level)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"[] [] {logging.WARNING}"


def test_a_runs_warning_is_logged_and_stays_in_the_result(caplog, monkeypatch, tmp_path):
    (tmp_path / "carbon.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("CARBON_CONFIG", str(tmp_path / "carbon.toml"))
    monkeypatch.delenv("CARBON_REGION", raising=False)
    with caplog.at_level(logging.WARNING, logger="carbon"):
        estimate = Tracker(interval_s=5, write=False, detect=False).start().stop()
    logged = [r for r in caplog.records if r.getMessage() == WORLD_WARNING]
    assert [r.name for r in logged] == ["carbon.tracker"]
    assert WORLD_WARNING in estimate.warnings


def test_notes_go_to_the_callers_callback_instead_when_given(caplog, monkeypatch, tmp_path):
    (tmp_path / "carbon.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("CARBON_CONFIG", str(tmp_path / "carbon.toml"))
    monkeypatch.delenv("CARBON_REGION", raising=False)
    notes: list[str] = []
    with caplog.at_level(logging.WARNING, logger="carbon"):
        Tracker(interval_s=5, write=False, detect=False, on_note=notes.append).start().stop()
    assert WORLD_WARNING in notes
    assert not [r for r in caplog.records if r.getMessage() == WORLD_WARNING]
