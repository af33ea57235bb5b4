"""Run log (JSON lines) and runs summary CSV: durable appends, fixed headers, early failure."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from carbon.sinks.base import SinkError
from carbon.sinks.jsonl import SCHEMA, JsonlSink, read_run_log
from carbon.sinks.summary_csv import COLUMNS, CsvSummarySink

ROOT = Path(__file__).resolve().parents[1]


def test_run_log_round_trip_and_torn_last_line(tmp_path):
    sink = JsonlSink(tmp_path / "out")
    sink.open({"run_id": "r1"})
    for seq in range(3):
        sink.interval({"run_id": "r1", "seq": seq, "co2e_kg": 0.5 * seq})
    sink.close({})
    path = tmp_path / "out" / "r1.jsonl"
    with open(path, "ab") as handle:
        handle.write(b'{"schema": "carbon.run/1", "seq": 3, "co2e')  # a crash mid-line
    records = read_run_log(path)
    assert [r["seq"] for r in records] == [0, 1, 2] and all(r["schema"] == SCHEMA for r in records)
    assert records[2]["co2e_kg"] == 1.0


def test_run_log_is_never_overwritten(tmp_path):
    JsonlSink(tmp_path).open({"run_id": "same"})
    with pytest.raises(SinkError, match="same.jsonl"):
        JsonlSink(tmp_path).open({"run_id": "same"})


@pytest.mark.parametrize("sink_class", [JsonlSink, CsvSummarySink])
def test_unwritable_folder_fails_at_open(tmp_path, sink_class):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SinkError, match="a-file"):
        sink_class(blocker / "runs").open({"run_id": "r"})


def test_kill_9_of_the_writer_keeps_every_finished_line(tmp_path):
    code = (
        "import sys, time; from carbon.sinks.jsonl import JsonlSink\n"
        "s = JsonlSink(sys.argv[1]); s.open({'run_id': 'k'})\n"
        "for i in range(100000):\n"
        "    s.interval({'seq': i, 'pad': 'x' * 200}); print(i, flush=True)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    last = -1
    for line in process.stdout:
        last = int(line)
        if last >= 50:
            break
    process.kill()
    process.wait()
    records = read_run_log(tmp_path / "k.jsonl")
    seqs = [r["seq"] for r in records]
    assert seqs == list(range(len(seqs))) and len(seqs) >= last + 1  # every interval reported done is there


def test_summary_csv_header_written_once_and_rows_appended(tmp_path):
    for n in range(2):
        sink = CsvSummarySink(tmp_path)
        sink.open({"run_id": f"r{n}"})
        sink.close(
            {
                "run_id": f"r{n}",
                "co2e_kg": 0.25,
                "breakdown": {"cpu_kwh": 1.5, "cpu_method": "measured:rapl"},
                "location": {"region": "FR", "zone": "FR"},
                "warnings": ["a", "b"],
            }
        )
    assert sink.path.name == "runs.v1.csv"
    rows = list(csv.DictReader(sink.path.open()))
    assert [r["run_id"] for r in rows] == ["r0", "r1"] and tuple(rows[0]) == COLUMNS
    assert rows[1]["cpu_method"] == "measured:rapl" and rows[1]["zone"] == "FR" and rows[1]["warnings"] == "a | b"


def test_concurrent_runs_share_one_header_and_never_interleave(tmp_path):
    code = (
        "import sys; from carbon.sinks.summary_csv import CsvSummarySink\n"
        "s = CsvSummarySink(sys.argv[1]); s.open({}); s.close({'run_id': sys.argv[2], 'command': 'y' * 3000})\n"
    )
    processes = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path), f"p{i}"], cwd=ROOT) for i in range(6)]
    assert all(p.wait(60) == 0 for p in processes)
    text = (tmp_path / "runs.v1.csv").read_text()
    assert text.count("run_id,start") == 1
    rows = list(csv.DictReader(text.splitlines()))
    assert sorted(r["run_id"] for r in rows) == [f"p{i}" for i in range(6)]
    assert all(r["command"] == "y" * 3000 for r in rows)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_changed_header_is_refused_not_shifted(tmp_path):
    (tmp_path / "runs.v1.csv").write_text("run_id,co2e_kg\n")
    with pytest.raises(SinkError, match="different header"):
        CsvSummarySink(tmp_path).open({})
