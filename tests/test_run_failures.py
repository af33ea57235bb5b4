"""A measurement never fails the run: whatever goes wrong while pricing or writing, `carbon run`
returns the command's exit status, keeps every finished interval, writes the CSV row or says why
not, and leaves no temporary file behind."""

from __future__ import annotations

import csv
import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fixtures.electricitymaps_api import ElectricityMapsApi

from carbon.sinks.jsonl import read_run_log
from carbon.tracker import Tracker
from tests.test_run_cmd import ROOT, carbon_run, env, start_run_of  # noqa: F401  (env is a fixture)

# A command that waits to be signalled. It takes SIGHUP's default action itself: started under
# `nohup`, the test run would hand it an ignored SIGHUP, which carbon forwards but cannot make it obey.
SLEEPER = (
    "import signal, time\nsignal.signal(signal.SIGHUP, signal.SIG_DFL)\nprint('ready', flush=True)\ntime.sleep(60)\n"
)


def rows(folder: Path) -> list[dict]:
    return list(csv.DictReader((folder / "runs.v1.csv").open(newline="")))


def no_temporaries(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if p.name.endswith(".tmp")]


def complete_lines(path: Path) -> bool:
    data = path.read_bytes()
    return data == b"" or (data.endswith(b"\n") and all(json.loads(line) for line in data.splitlines()))


def test_a_negative_live_intensity_is_refused_and_the_run_priced_with_the_bundled_value(tmp_path, env):  # noqa: F811
    hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    api = ElectricityMapsApi().start()
    try:
        for h in range(-2, 3):  # the run may cross an hour boundary
            api.set_hour("FR", hour + timedelta(hours=h), -250.0)
        env.update(
            CARBON_INTENSITY_SOURCES="electricitymaps,bundled",
            CARBON_ELECTRICITYMAPS_TOKEN="em-test-token",
            CARBON_ELECTRICITYMAPS_URL=api.base,
            CARBON_CACHE_DIR=str(tmp_path / "cache"),
            CARBON_HTTP_TIMEOUT_S="2",
        )
        out, summary = tmp_path / "o", tmp_path / "s.json"
        args = ["--region", "FR", "--interval", "0.5", "--output", str(out), "--summary", str(summary)]
        result = carbon_run([*args, "--", sys.executable, "-c", "import time; time.sleep(1.6)"], env)
        assert api.count() >= 1  # the API was asked, and its answer refused
    finally:
        api.stop()
    assert result.returncode == 0, result.stderr
    records = read_run_log(next(out.glob("*.jsonl")))
    assert len(records) >= 2  # 1.6 s at 0.5 s intervals (fewer on a loaded machine), and the last one at the end
    assert all(r["intensity_g_per_kwh"] > 0 and r["co2e_kg"] >= 0 for r in records)
    assert any("outside the plausible" in r["intensity_detail"] for r in records)
    (row,) = rows(out)
    assert row["status"] == "finished" and float(row["co2e_kg"]) >= 0 and row["intervals"] == str(len(records))
    assert json.loads(summary.read_text())["intensity_g_per_kwh"] > 0
    assert not no_temporaries(tmp_path)
    from carbon.intensity.cache import IntensityCache, key_for

    cache = IntensityCache(tmp_path / "cache")
    try:
        cached = [cache.read(key_for("electricitymaps", "FR", hour + timedelta(hours=h))) for h in range(-2, 3)]
    finally:
        cache.close()
    assert not any(hasattr(found, "intensity_g_per_kwh") for found in cached)  # failure notes at most


def test_summary_path_that_became_a_folder_during_the_run(tmp_path, env):  # noqa: F811
    out, summary = tmp_path / "o", tmp_path / "s.json"
    result = carbon_run(
        ["--region", "FR", "--output", str(out), "--summary", str(summary), "--", "mkdir", str(summary)], env
    )
    assert result.returncode == 0, result.stderr  # mkdir's status, not a traceback's
    assert "Traceback" not in result.stderr
    assert f"summary not written to {summary}" in result.stderr
    assert summary.is_dir() and not no_temporaries(tmp_path)
    (row,) = rows(out)
    assert row["status"] == "finished" and row["exit_code"] == "0"


def test_a_command_status_survives_a_summary_folder_and_a_failing_command(tmp_path, env):  # noqa: F811
    summary = tmp_path / "s.json"
    script = f"import os, sys; os.mkdir({str(summary)!r}); sys.exit(5)"
    result = carbon_run(
        [
            "--region",
            "FR",
            "--output",
            str(tmp_path / "o"),
            "--summary",
            str(summary),
            "--",
            sys.executable,
            "-c",
            script,
        ],
        env,
    )
    assert result.returncode == 5 and not no_temporaries(tmp_path)


def _limit_file_size(limit_bytes: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, resource.RLIM_INFINITY))

    return apply


def test_a_full_disk_at_the_end_costs_the_files_not_the_exit_status(tmp_path, env):  # noqa: F811
    """RLIMIT_FSIZE stands in for a full disk: every write past 1,000 bytes fails (EFBIG), some halfway.
    The CSV header (about 400 bytes) fits; an interval record (over 1,000 bytes) and the row do not."""
    out, summary = tmp_path / "o", tmp_path / "s.json"
    result = subprocess.run(
        [sys.executable, "-m", "carbon", "run", "--region", "FR", "--interval", "0.3", "--output", str(out)]
        + ["--summary", str(summary), "--", sys.executable, "-c", "import sys, time; time.sleep(1); sys.exit(3)"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_file_size(1000),
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert "interval not written" in result.stderr and "record(s) held" in result.stderr
    assert "run summary not written" in result.stderr  # the CSV row: the reason printed
    assert "summary not written to" in result.stderr  # --summary: the reason printed
    log = next(out.glob("*.jsonl"))
    assert complete_lines(log)  # no torn line: the partial bytes were taken back
    assert (out / "runs.v1.csv").read_text().count("\n") == 1  # the header, no torn row
    assert not summary.exists() and not no_temporaries(tmp_path)


def test_records_held_while_the_disk_is_full_are_written_once_there_is_room(tmp_path):
    """In a child process (the limit is per process): the limit drops to nothing for a few intervals,
    then is lifted; the run log ends with every interval, in order, none torn."""
    script = textwrap.dedent(
        f"""
        import resource, time
        from carbon.tracker import Tracker
        notes = []
        tracker = Tracker(region="FR", interval_s=0.1, output_dir={str(tmp_path / "o")!r}, detect=False,
                          on_note=notes.append).start()
        tracker._sampler.ready.wait()
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
        time.sleep(0.8)
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        time.sleep(0.25)
        estimate = tracker.stop()
        assert any("File too large" in n for n in notes), notes
        assert sum("interval not written" in n for n in notes) == 1, notes  # said once, not per interval
        assert any("writing again" in n for n in notes), notes
        print(tracker.run_log, dict(estimate.extra)["intervals"])
        """
    )
    environ = {**os.environ, "CARBON_POWERCAP_ROOT": str(tmp_path / "none"), "CARBON_CONFIG": str(tmp_path / "c.toml")}
    (tmp_path / "c.toml").write_text("")
    result = subprocess.run(
        [sys.executable, "-c", script], env=environ, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    log, intervals = result.stdout.split()
    records = read_run_log(log)
    assert [r["seq"] for r in records] == list(range(int(intervals)))
    assert int(intervals) >= 2 and complete_lines(Path(log))  # about 10; fewer on a loaded machine


def test_sighup_is_forwarded_and_the_row_still_written(tmp_path, env):  # noqa: F811
    process = start_run_of(SLEEPER, tmp_path, env)
    try:
        os.kill(process.pid, signal.SIGHUP)  # to carbon only: it must forward it
        assert process.wait(60) == 128 + signal.SIGHUP
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    (row,) = rows(tmp_path / "o")
    assert row["exit_code"] == str(128 + signal.SIGHUP) and row["status"] == "finished"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the threads' signal masks in /proc")
def test_only_the_main_thread_can_take_a_forwarded_signal(tmp_path, env):  # noqa: F811
    # The kernel gives a signal sent to a process to any of its threads that does not block it; one
    # taken by a tracker thread never interrupted the main thread's wait for the command.
    process = start_run_of(SLEEPER, tmp_path, env)
    try:
        masks = {}
        for task in Path(f"/proc/{process.pid}/task").iterdir():
            status = (task / "status").read_text()
            masks[task.name] = int(status.split("SigBlk:")[1].split()[0], 16)
        wanted = (1 << (signal.SIGHUP - 1)) | (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))
        assert masks[str(process.pid)] & wanted == 0  # the main thread takes them
        others = [mask for tid, mask in masks.items() if tid != str(process.pid)]
        assert others and all(mask & wanted == wanted for mask in others)  # the tracker's threads never do
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


class Broken:
    """A sink that fails in every way a plug-in sink can: not only OSError."""

    path = None

    def open(self, run):
        return None

    def interval(self, record):
        raise RuntimeError("sink bug")

    def close(self, summary):
        raise KeyError("sink bug at close")


def test_a_sink_raising_anything_loses_neither_the_other_sinks_nor_the_estimate(tmp_path):
    from carbon.sinks.jsonl import JsonlSink
    from carbon.sinks.summary_csv import CsvSummarySink

    notes: list[str] = []
    sinks = [Broken(), JsonlSink(tmp_path), CsvSummarySink(tmp_path)]
    with Tracker(region="FR", interval_s=0.1, detect=False, sinks=sinks, on_note=notes.append) as tracker:
        tracker._sampler.ready.wait()
        import time

        time.sleep(0.35)
    assert tracker.estimate is not None and tracker.estimate.co2e_kg.central > 0
    records = read_run_log(sinks[1].path)
    assert len(records) == dict(tracker.estimate.extra)["intervals"] >= 2
    assert len(rows(tmp_path)) == 1
    assert any("Broken: interval not written (sink bug)" in n for n in notes)
    assert any("Broken: run summary not written" in n for n in notes)


def test_a_run_that_cannot_be_priced_still_gets_its_row_and_the_with_block_is_untouched(tmp_path, monkeypatch):
    """A pricing setup that fails (here: the environment cannot be resolved) is a note in a `with`
    block and an 'unpriced' row naming the reason, never an exception in the user's code."""
    import carbon.tracker as tracker_module

    def broken(*args, **kwargs):
        raise OSError("countries.csv unreadable")

    monkeypatch.setattr(tracker_module, "resolve_environment", broken)
    notes: list[str] = []
    with Tracker(region="FR", interval_s=0.1, output_dir=str(tmp_path), detect=False, on_note=notes.append):
        pass
    (row,) = rows(tmp_path)
    assert row["status"] == "unpriced" and "countries.csv unreadable" in row["warnings"]
    assert any("measurement failed" in n for n in notes)


@pytest.mark.parametrize("pue", [0.2, 7.0])
def test_an_impossible_pue_fails_before_the_command_runs(tmp_path, env, pue):  # noqa: F811
    marker = tmp_path / "ran"
    result = carbon_run(
        ["--region", "FR", "--pue", str(pue), "--output", str(tmp_path / "o"), "--", "touch", str(marker)], env
    )
    assert result.returncode == 2 and "--pue: must be at" in result.stderr  # one line, before the command
    assert not marker.exists() and not no_temporaries(tmp_path)


def test_waiting_for_detection_is_not_the_run_s_duration(tmp_path, env):  # noqa: F811
    """No region: provider detection runs in the background under a 3 s deadline, every metadata
    service hung. `true` ends at once; the recorded duration is the command's, not the wait's."""
    sys.path.insert(0, str(Path(__file__).parent / "fixtures"))  # the doubles import their base by name
    from imds_aws import ImdsAws
    from imds_azure import ImdsAzure
    from metadata_gcp import MetadataGcp

    with ImdsAws() as aws, MetadataGcp() as gcp, ImdsAzure() as azure:
        aws.hang = gcp.hang = azure.hang = True
        env.update(
            AWS_EC2_METADATA_SERVICE_ENDPOINT=aws.url,
            GCE_METADATA_HOST=gcp.host,
            CARBON_AZURE_IMDS_ENDPOINT=azure.url,
            CARBON_DMI_ROOT=str(tmp_path / "no-dmi"),  # nothing rules a cloud out: all are asked
            CARBON_DETECT_TIMEOUT="3",
        )
        summary = tmp_path / "s.json"
        result = carbon_run(["--output", str(tmp_path / "o"), "--summary", str(summary), "--", "true"], env)
        asked = len(aws.requests()) + len(gcp.requests()) + len(azure.requests())
    assert result.returncode == 0, result.stderr
    assert asked >= 1  # detection did run, and waited
    duration_s = json.loads(summary.read_text())["duration_s"]
    assert duration_s < 1.5  # well under the 3 s spent waiting for the hung services
    (row,) = rows(tmp_path / "o")
    assert float(row["duration_s"]) == pytest.approx(duration_s)


def test_a_disk_full_at_start_fails_before_the_command_and_leaves_no_temporary(tmp_path, env):  # noqa: F811
    """100 bytes allowed: the runs CSV header (about 400) cannot be written, so the run refuses to start."""
    marker, out = tmp_path / "ran", tmp_path / "o"
    result = subprocess.run(
        [sys.executable, "-m", "carbon", "run", "--region", "FR", "--output", str(out), "--", "touch", str(marker)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_file_size(100),
        check=False,
    )
    assert result.returncode == 2 and "cannot write the runs summary" in result.stderr
    assert not marker.exists() and not no_temporaries(tmp_path)
    assert not any(p.name.startswith(".runs.") for p in out.iterdir())
