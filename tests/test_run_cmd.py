"""`carbon run -- CMD` as a user runs it: exit statuses, signals, crash-safe records, early failures."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from carbon.cli.run_cmd import exit_status
from carbon.model import Bounds, Energy, Estimate, Location
from carbon.sinks.jsonl import read_run_log

ROOT = Path(__file__).resolve().parents[1]


# A laptop's DMI strings (/sys/class/dmi/id layout): every cloud is ruled out from local facts, so
# provider detection in these subprocesses never sends a packet.
LAPTOP_DMI = {
    "sys_vendor": "LENOVO",
    "product_name": "20XW00A8US",
    "product_version": "ThinkPad X1 Carbon Gen 9",
    "bios_vendor": "LENOVO",
    "chassis_asset_tag": "No Asset Information",
}


@pytest.fixture
def env(tmp_path):
    (tmp_path / "carbon.toml").write_text("")
    dmi = tmp_path / "dmi"
    dmi.mkdir()
    for name, value in LAPTOP_DMI.items():
        (dmi / name).write_text(value + "\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CARBON_")}
    environ.update(
        CARBON_POWERCAP_ROOT=str(tmp_path / "no-powercap"),
        CARBON_CONFIG=str(tmp_path / "carbon.toml"),
        CARBON_DMI_ROOT=str(dmi),
    )
    return environ


def carbon_run(args, env, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "carbon", "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
        **kwargs,
    )


def test_exit_status_like_a_shell():
    assert exit_status(0) == 0 and exit_status(3) == 3
    assert exit_status(-signal.SIGKILL) == 137 and exit_status(-signal.SIGTERM) == 143


def test_child_killed_by_sigkill_exits_137_with_a_complete_record(tmp_path, env):
    out = tmp_path / "runs"
    summary = tmp_path / "summary.json"
    result = carbon_run(
        [
            "--region",
            "FR",
            "--output",
            str(out),
            "--summary",
            str(summary),
            "--project",
            "p1",
            "--",
            sys.executable,
            "-c",
            "import os; os.kill(os.getpid(), 9)",
        ],
        env,
    )
    assert result.returncode == 137, result.stderr
    assert "CO2e:" in result.stderr and "exit status 137" in result.stderr
    logs = list(out.glob("*.jsonl"))
    assert len(logs) == 1
    records = read_run_log(logs[0])
    assert records and records[-1]["end"] and all(r["project"] == "p1" for r in records)
    rows = list(csv.DictReader((out / "runs.v1.csv").open()))
    assert len(rows) == 1 and rows[0]["exit_code"] == "137" and rows[0]["status"] == "finished"
    assert rows[0]["intervals"] == str(len(records))
    data = json.loads(summary.read_text())
    reference = Estimate(Energy(), Bounds.exact(1.0), Bounds.exact(1.0), Location("FR", "FR", "FR"), ()).to_dict()
    assert set(reference) <= set(data)  # every key of `carbon estimate --format json`
    assert data["exit_code"] == 137 and data["duration_s"] > 0
    assert data["breakdown"]["cpu_method"] == "modelled" and data["breakdown"]["ram_method"] == "modelled"
    assert data["co2e_kg_low"] <= data["co2e_kg"] <= data["co2e_kg_high"]


def test_exit_code_passed_through_and_rapl_method_named(tmp_path, env):
    from tests.fixtures.powercap import server_tree

    server_tree(tmp_path / "powercap")
    env["CARBON_POWERCAP_ROOT"] = str(tmp_path / "powercap")
    summary = tmp_path / "s.json"
    result = carbon_run(
        [
            "--region",
            "DE",
            "--output",
            str(tmp_path / "o"),
            "--summary",
            str(summary),
            "--",
            sys.executable,
            "-c",
            "import sys; sys.exit(3)",
        ],
        env,
    )
    assert result.returncode == 3, result.stderr
    data = json.loads(summary.read_text())
    assert data["breakdown"]["cpu_method"] == "measured:rapl" and data["exit_code"] == 3


def start_run_of(child: str, tmp_path: Path, env: dict[str, str]) -> subprocess.Popen:
    """`carbon run --region FR` of a Python `child` that prints 'ready' once started, in a session of
    its own (so that a signal can be sent to carbon alone), returned when the child has said so."""
    process = subprocess.Popen(
        [sys.executable, "-m", "carbon", "run", "--region", "FR", "--output", str(tmp_path / "o"), "--"]
        + [sys.executable, "-c", child],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout.readline().strip() == "ready"
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return process


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 42), (signal.SIGINT, 43)])
def test_signals_forwarded_to_the_command(tmp_path, env, sig, code):
    child = (
        f"import signal, sys, time\nsignal.signal({int(sig)}, lambda *a: sys.exit({code}))\n"
        "print('ready', flush=True)\ntime.sleep(60)\n"
    )
    process = start_run_of(child, tmp_path, env)
    try:
        os.kill(process.pid, sig)  # to carbon only, not to the group: it must forward
        assert process.wait(60) == code
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    rows = list(csv.DictReader((tmp_path / "o" / "runs.v1.csv").open()))
    assert rows[0]["exit_code"] == str(code)


def test_tracker_killed_with_sigkill_leaves_every_finished_interval(tmp_path, env):
    out = tmp_path / "o"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "carbon",
            "run",
            "--region",
            "FR",
            "--interval",
            "0.1",
            "--output",
            str(out),
            "--",
            "sleep",
            "60",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            logs = list(out.glob("*.jsonl"))
            if logs and logs[0].read_bytes().count(b"\n") >= 4:
                break
            time.sleep(0.05)
        children = psutil.Process(process.pid).children(recursive=True)
        process.kill()
        process.wait(30)
    finally:
        for child in children:
            child.kill()
    raw = logs[0].read_bytes()
    records = read_run_log(logs[0])
    assert len(records) >= 4 and len(records) == raw.count(b"\n")  # every finished line is whole
    assert [r["seq"] for r in records] == list(range(len(records)))
    assert all(r["co2e_kg"] >= 0 and r["breakdown"]["cpu_method"] == "modelled" for r in records)
    assert not (out / "runs.v1.csv").read_text().count("\n") > 1  # no summary row: the run never finished


@pytest.mark.parametrize(
    "args, message",
    [
        (["--output", "{blocker}/runs"], "a-file is a file, not a folder"),
        (["--summary", "{blocker}/s.json"], "a-file does not exist"),
        (["--region", "Atlantis"], "Atlantis"),
        (["--interval", "0"], "--interval"),
    ],
)
def test_bad_setup_fails_before_the_command_runs(tmp_path, env, args, message):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    marker = tmp_path / "ran"
    args = [a.format(blocker=blocker) for a in args]
    defaults = ["--region", "FR"] if "--region" not in args else []
    result = carbon_run([*defaults, "--output", str(tmp_path / "ok"), *args, "--", "touch", str(marker)], env)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "error" in result.stderr
    assert not marker.exists()
    assert not list(tmp_path.glob("*.tmp")) and not list(blocker.parent.glob("s.json*"))


def test_missing_command(tmp_path, env):
    result = carbon_run(["--region", "FR"], env)
    assert result.returncode == 2 and "after --" in result.stderr
    result = carbon_run(["--region", "FR", "--output", str(tmp_path / "o"), "--", "no-such-command-xyz"], env)
    assert result.returncode == 127 and "command not found" in result.stderr


def test_process_mode_attributes_the_command(tmp_path, env):
    summary = tmp_path / "s.json"
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass"
    result = carbon_run(
        [
            "--region",
            "FR",
            "--mode",
            "process",
            "--interval",
            "0.2",
            "--output",
            str(tmp_path / "o"),
            "--summary",
            str(summary),
            "--",
            sys.executable,
            "-c",
            burn,
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    records = read_run_log(next((tmp_path / "o").glob("*.jsonl")))
    assert all(r["mode"] == "process" and set(r["attribution"]) == {"cpu", "ram", "gpu"} for r in records)
    # The command's 0.5 CPU seconds are inside the tree rooted at `carbon run`: some interval saw them.
    assert max(r["attribution"]["cpu"] for r in records) > 0.1
    data = json.loads(summary.read_text())
    assert data["mode"] == "process" and "attribution" in data["sources"]


@pytest.mark.parametrize("region", [["--region", "FR"], []])
def test_carbon_run_stays_light(tmp_path, env, region):
    code = (
        "import sys\nfrom carbon.cli import main\n"
        f"status = main(['run', *{region!r}, '--output', sys.argv[1], '--', 'true'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'pandas', 'numpy', 'boto3', 'botocore', 'azure', 'pyarrow', 'dask'})\n"
        "heavy += [m for m in ('google.cloud', 'google.api_core') if m in sys.modules]\n"
        "print(status, heavy)\n"
    )
    env = dict(env, CARBON_DETECT_TIMEOUT="0.2")
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "o")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stderr
    if not region:
        assert "no location known" in out.stderr  # loud, not a silent guess
