"""The environment every in-process CLI test runs in: no settings from the developer's shell or
repository, a private cache, a DMI tree that rules out every cloud (so detection makes no
network call), and no powercap counters."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import dmi


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("CARBON_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "carbon.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("CARBON_CONFIG", str(tmp_path / "carbon.toml"))
    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CARBON_DMI_ROOT", str(dmi.write_dmi(tmp_path / "dmi", dmi.LAPTOP)))
    monkeypatch.setenv("CARBON_PROC_ROOT", str(dmi.write_proc(tmp_path / "proc")))
    monkeypatch.setenv("CARBON_POWERCAP_ROOT", str(tmp_path / "no-powercap"))
    monkeypatch.setitem(sys.modules, "pynvml", None)  # no NVML: no GPUs
    return tmp_path
