"""The updaters name the `[update]` extra when one of its packages is missing, in one line."""

from __future__ import annotations

import sys

import update_instance_catalog
import update_intensity_data
from update_extra import INSTALL, missing_update_module


def test_a_missing_update_package_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    # The offline AWS catalog is built from moto's packaged data; hide moto as an uninstalled
    # package would be (a None entry makes `import moto` raise ModuleNotFoundError).
    monkeypatch.setitem(sys.modules, "moto", None)
    code = update_instance_catalog.main(["--provider", "aws", "--from-bundle-sources", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and INSTALL in err and "moto" in err
    assert list(tmp_path.iterdir()) == []


def test_only_the_extras_packages_are_reported_as_a_missing_extra():
    assert INSTALL in missing_update_module(ModuleNotFoundError("No module named 'openpyxl'", name="openpyxl"))
    assert "google.cloud" in missing_update_module(ModuleNotFoundError("x", name="google.cloud"))
    # any other missing module is a bug or a broken install: not dressed up as a missing extra
    assert missing_update_module(ModuleNotFoundError("x", name="intensity_sources.nothing")) is None


def test_the_intensity_updater_reports_a_missing_extra_too(monkeypatch, capsys):
    def needs_openpyxl(args):
        import openpyxl  # noqa: F401

    monkeypatch.setitem(sys.modules, "openpyxl", None)
    monkeypatch.setattr(update_intensity_data, "run", needs_openpyxl)
    assert update_intensity_data.main(["--check"]) == 2
    assert capsys.readouterr().err.strip() == (
        "update_intensity_data: error: openpyxl is not installed; the updaters need the [update] extra: " + INSTALL
    )
