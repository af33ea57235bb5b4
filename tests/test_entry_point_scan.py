"""Provider entry points read from the metadata folders directly give what importlib.metadata gives."""

from __future__ import annotations

import sys
import zipfile
from importlib.machinery import PathFinder
from importlib.metadata import DistributionFinder, MetadataPathFinder, entry_points
from pathlib import Path

import pytest
from carbon.providers.base import scan_entry_points


def _standard(paths: list[str], group: str) -> list[tuple[str, str]]:
    """What the standard library finds along `paths` (its own de-duplication by distribution name)."""
    seen, found = set(), []
    for dist in MetadataPathFinder.find_distributions(DistributionFinder.Context(path=paths)):
        name = dist._normalized_name  # the key importlib.metadata.entry_points de-duplicates on
        if name in seen:
            continue
        seen.add(name)
        found += [(ep.name, ep.value) for ep in dist.entry_points if ep.group == group]
    return sorted(found)


def _foreign(finder: object) -> bool:
    """A finder other than the path finder that can list distributions (a test or plug-in may add one)."""
    return hasattr(finder, "find_distributions") and finder is not PathFinder


@pytest.fixture
def plain_meta_path(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", [f for f in sys.meta_path if not _foreign(f)])


def _dist(root: Path, folder: str, text: str | None) -> None:
    (root / folder).mkdir(parents=True)
    (root / folder / "METADATA").write_text(f"Name: {folder.split('-')[0]}\n", encoding="utf-8")
    if text is not None:
        (root / folder / "entry_points.txt").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("group", ["carbon.providers", "console_scripts", "pytest11"])
def test_this_environment(group):
    expected = sorted((ep.name, ep.value) for ep in entry_points(group=group))
    found = scan_entry_points(sys.path, group)
    if any(_foreign(f) for f in sys.meta_path):  # another importer lists distributions: left to the library
        assert found is None
    else:
        assert sorted(found or []) == expected


def test_another_importer_of_distributions_is_left_to_the_standard_library(monkeypatch):
    class Finder:
        def find_distributions(self, context=None):
            return iter(())

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder()])
    assert scan_entry_points(sys.path, "carbon.providers") is None


def test_first_distribution_of_a_name_wins_and_the_file_is_parsed_alike(tmp_path, plain_meta_path):
    first, second = tmp_path / "a", tmp_path / "b"
    _dist(
        first, "Acme_Cloud-1.0.dist-info", "# a comment\n[carbon.providers]\n  acme = acme.p:Acme  \n[other]\nx = y\n"
    )
    _dist(second, "acme.cloud-2.0.dist-info", "[carbon.providers]\nacme = old.p:Acme\n")  # same name: shadowed
    _dist(second, "zed-0.1.egg-info", "[carbon.providers]\nzed=zed:Z\nzed2 = zed:Z2\n")
    _dist(second, "bare-1.0.dist-info", None)  # no entry points at all
    paths = [str(first), str(tmp_path / "missing"), str(second)]
    found = sorted(scan_entry_points(paths, "carbon.providers") or [])
    assert found == [("acme", "acme.p:Acme"), ("zed", "zed:Z"), ("zed2", "zed:Z2")]
    assert found == _standard(paths, "carbon.providers")


def test_a_zip_on_the_path_is_left_to_the_standard_library(tmp_path, plain_meta_path):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("z-1.0.dist-info/entry_points.txt", "[carbon.providers]\nz = z:Z\n")
    assert scan_entry_points([str(archive)], "carbon.providers") is None


def test_a_folder_named_in_capitals_is_left_to_the_standard_library(tmp_path, plain_meta_path):
    _dist(tmp_path, "Odd-1.0.DIST-INFO", "[carbon.providers]\nodd = odd:O\n")
    assert scan_entry_points([str(tmp_path)], "carbon.providers") is None
