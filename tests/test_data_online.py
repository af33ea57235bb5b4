"""Online mode of the updater against loopback HTTP servers (no network): the server serves the raw
files the way raw.githubusercontent.com does (200 with the bytes, 404 for an unknown path)."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from datetime import date
from pathlib import Path

import pytest

import update_intensity_data as updater
from datasets import FULL, needs_full_datasets

REPO = Path(__file__).resolve().parents[1]
RAW = FULL

pytestmark = needs_full_datasets

TABLES = (
    "countries",
    "subdivisions",
    "cloud_regions",
    "cloud_region_intensity",
    "cpus",
    "gpus",
    "grid_hourly",
    "embodied",
)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture()
def raw_server():
    """Serves ../shared/datasets (the mirror layout) on 127.0.0.1."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(RAW)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def serve(directory: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture()
def silent_server():
    """Accepts connections and never answers: a stalled upstream."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    listener.close()


def test_online_build_from_a_mirror_equals_the_offline_bundle(raw_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CARBON_DATASETS_MIRROR", raw_server)
    out = tmp_path / "bundle"
    assert updater.main(["--out", str(out), "--timeout", "10"]) == 0
    err = capsys.readouterr().err
    # the progress bar reached every file (63 published, 7 of them CCF's embodied tables, + 6 future Google years)
    assert "69/69" in err
    for name in TABLES:
        assert (out / f"{name}.csv").read_bytes() == (REPO / "intensity_data" / f"{name}.csv").read_bytes(), name
    sources = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["sources"]
    assert sources["ember-yearly"]["retrieved"] == date.today().isoformat()
    assert sources["google-region-carbon"]["commit"].startswith("HEAD on ")


def test_a_dataset_variable_overrides_its_base_url(raw_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CARBON_DATASETS_MIRROR", raw_server)
    monkeypatch.setenv("CARBON_URL_GOOGLE", raw_server + "no-such-folder/")
    out = tmp_path / "bundle"
    assert updater.main(["--out", str(out), "--timeout", "10"]) == 1
    err = capsys.readouterr().err
    assert "no-such-folder/data/yearly/2019.csv: HTTP 404" in err
    assert "nothing was written" in err
    assert not out.exists()


def test_a_stalled_server_times_out(silent_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CARBON_DATASETS_MIRROR", silent_server)
    out = tmp_path / "bundle"
    assert updater.main(["--out", str(out), "--timeout", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "timed out" in err and "ember/data/api_country_overview_yearly.csv" in err
    assert not out.exists()


def test_a_newly_published_google_year_is_picked_up(tmp_path, monkeypatch):
    from intensity_sources.sources import raw_paths

    mirror = tmp_path / "mirror"
    for relative in raw_paths():
        (mirror / relative).parent.mkdir(parents=True, exist_ok=True)
        (mirror / relative).symlink_to(RAW / relative)
    yearly = mirror / "google-region-carbon-info/region-carbon-info/data/yearly"
    (yearly / "2025.csv").write_text(
        "Google Cloud Region,Location,Google CFE,Grid carbon intensity (gCO2eq / kWh)\n"
        "europe-west1,Belgium,0.81,101.25\n",
        encoding="utf-8",
    )
    server = serve(mirror)
    try:
        monkeypatch.setenv("CARBON_DATASETS_MIRROR", f"http://127.0.0.1:{server.server_address[1]}/")
        out = tmp_path / "bundle"
        assert updater.main(["--out", str(out), "--timeout", "10"]) == 0
    finally:
        server.shutdown()
        server.server_close()
    text = (out / "cloud_region_intensity.csv").read_text(encoding="utf-8")
    assert "gcp,europe-west1,2025,101.25,0.81,operational,google-region-carbon\n" in text
