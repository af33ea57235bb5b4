"""The sacct reader's two paths give the same job table and rejects: a regular log read in blocks
by Arrow's CSV parser on a few threads, and any log read line by line (the path every irregular
log takes). Each log here is read both ways and the frames compared, on the samples in
tests/fixtures and on generated logs full of odd values (sizes, counts, times, states, step ids,
duplicates, orphans, spaces around fields)."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import carbon.batch.readers.sacct_lines as sacct_lines
from carbon.batch.readers.sacct import _fold_steps, _Records, read_sacct

FIXTURES = Path(__file__).parent / "fixtures"
WANTED = sorted({"JobID", *sacct_lines.JOB_FIELDS, *sacct_lines.STEP_FIELDS})

LAYOUTS = (
    "JobID|JobName|User|Account|WCKey|Partition|State|Start|End|Elapsed|NCPUS|AllocNodes|ReqMem|AllocTRES|"
    "TotalCPU|MaxRSS|ConsumedEnergyRaw|Constraints",
    "JobIDRaw|JobName|User|Partition|State|Start|End|Elapsed|NCPUS|AllocNodes|ReqMem|AllocTRES|TotalCPU|MaxRSS",
    "JobID|JobName|Partition|Submit|Elapsed|NCPUS|NNodes|ReqMem|AllocGRES|State|TotalCPU|MaxRSS",
    "JobID|JobName|Cluster|User|State|Start|End|Elapsed|NCPUS|ReqMem|AllocTRES|ConsumedEnergyRaw",
    "JobID|State|Start|End|Elapsed|AllocCPUS|ReqCPUS|NNodes|ReqNodes|ReqMem|ReqGRES|AllocGRES|TotalCPU|MaxRSS|"
    "Features|Account",
)
ODD = {
    "duration": ["01:00:00", "00:05:16", "1-02:03:04", "05:06.789", "00:00:00", "", "garbage", "10:00", " 01:00:00 "],
    "size": ["4G", "100M", "4Gc", "2Gn", "0n", "0c", "114944K", "1T", "lots", "", "1.5G", "1e3M", "512", "-1G", "4g"],
    "count": ["1", "2", "8", "0", "", "-1", "x", "1e400", "1.5", " 4", "64"],
    "time": ["Unknown", "None", "", "N/A", "garbage", "2024-02-30T00:00:00", "2024-01-05T24:00:00", "2024-01-05"],
    "tres": [
        "billing=8,cpu=8,gres/gpu=4,mem=32G,node=1",
        "cpu=2,mem=4G",
        "cpu=2",
        "gres/gpu:a100=2,mem=1T",
        "",
        "mem=x",
    ],
    "gres": ["gpu:2", "gpu:a100:4(IDX:0-3)", "", "gpu:tesla:2", "craynetwork:1", "gpu"],
    "state": ["COMPLETED", "FAILED", "CANCELLED by 123", "TIMEOUT", "OUT_OF_MEMORY", "RUNNING", "PENDING", "completed"],
    "energy": ["", "0", "7200000", "x", "-5", "1e3"],
    "text": ["alice", "", " carol ", "gpu", "a100"],
}
KIND = {
    **dict.fromkeys(("Elapsed", "TotalCPU"), "duration"),
    **dict.fromkeys(("ReqMem", "MaxRSS"), "size"),
    **dict.fromkeys(("NCPUS", "AllocCPUS", "ReqCPUS", "AllocNodes", "NNodes", "ReqNodes"), "count"),
    **dict.fromkeys(("Start", "End", "Submit"), "time"),
    "AllocTRES": "tres",
    **dict.fromkeys(("AllocGRES", "ReqGRES"), "gres"),
    "State": "state",
    "ConsumedEnergyRaw": "energy",
}


def odd_log(seed: int) -> str:
    """A regular log (one header, every line with its fields) whose values are often odd."""
    rng = random.Random(seed)
    names = rng.choice(LAYOUTS).split("|")
    epoch = rng.random() < 0.25
    lines = ["|".join(names)]
    ids = list(range(1, rng.randint(2, 120)))
    if rng.random() < 0.3:
        rng.shuffle(ids)
    if rng.random() < 0.2:
        ids = [f"{i}_{rng.randint(0, 3)}" for i in ids]

    def value(name: str, step: bool) -> str:
        if name in ("Start", "End", "Submit") and rng.random() < 0.9:
            seconds = rng.randint(1_500_000_000, 1_700_000_000)
            return str(seconds) if epoch else pd.Timestamp(seconds, unit="s").strftime("%Y-%m-%dT%H:%M:%S")
        kind = KIND.get(name, "text")
        return "" if name == "ReqMem" and step else rng.choice(ODD[kind])

    for job in ids:
        for suffix in ["", *rng.sample([".batch", ".extern", ".0", ".1"], rng.randint(0, 3))]:
            job_id = f"{job}{suffix}"
            if rng.random() < 0.04:  # empty, a step without an id, a leading zero, an orphan, others
                job_id = rng.choice(["", ".batch", f"0{job}", f" {job} ", f"9{job}.0", f"{job}+0", f"{job}.batch.x"])
            lines.append(
                "|".join(job_id if name in ("JobID", "JobIDRaw") else value(name, bool(suffix)) for name in names)
            )
        if rng.random() < 0.03:
            lines.append(lines[-1])  # a repeated line
    return "\n".join(lines) + "\n"


def read_both(path: Path, monkeypatch) -> tuple:
    """(read in blocks, read line by line); the first must have taken the block path."""
    assert sacct_lines._regular_table(None, None, WANTED, path) is not None, "not a regular log"
    blocks = read_sacct(path)
    with monkeypatch.context() as patch:
        patch.setattr(sacct_lines, "_regular_table", lambda *args, **kwargs: None)
        lines = read_sacct(path)
    return blocks, lines


def assert_same(blocks, lines) -> None:
    pd.testing.assert_frame_equal(blocks.jobs, lines.jobs, check_exact=True)
    pd.testing.assert_frame_equal(blocks.rejects, lines.rejects, check_exact=True)


def regular_copy(text: str) -> str:
    """The log without what the block path refuses (comment and blank lines, lines with another
    number of fields than most), so that both paths can read it."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    header = lines[:1] if "jobid" in lines[0].lower() else []
    counts = [line.count("|") for line in lines[len(header) :]]
    width = max(set(counts), key=counts.count)
    return "\n".join([*header, *(line for line in lines[len(header) :] if line.count("|") == width)]) + "\n"


SAMPLES = [
    *(FIXTURES / name for name in ("sacct_excerpt.txt", "sacct_formats.txt", "sacct_jobidraw_epoch.txt")),
    *(FIXTURES / name for name in ("sacct_odd_records.txt", "sacct_submit_elapsed.txt")),
    *(FIXTURES / "raw" / "slurm-sacct" / name for name in ("sacct-output-v1.txt.gz", "sacct-output-v2.txt.gz")),
]


@pytest.mark.parametrize("block_bytes", [300, sacct_lines.BLOCK_BYTES])  # 300: many blocks, on the threads
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda path: path.name)
def test_samples_read_the_same_in_blocks_and_line_by_line(sample, block_bytes, tmp_path, monkeypatch):
    data = gzip.decompress(sample.read_bytes()) if sample.suffix == ".gz" else sample.read_bytes()
    log = tmp_path / "sacct.txt"
    log.write_text(regular_copy(data.decode()))
    monkeypatch.setattr(sacct_lines, "BLOCK_BYTES", block_bytes)
    blocks, lines = read_both(log, monkeypatch)
    assert len(blocks.jobs)
    assert_same(blocks, lines)


@pytest.mark.parametrize("seed", range(30))
def test_odd_values_read_the_same_in_blocks_and_line_by_line(seed, tmp_path, monkeypatch):
    log = tmp_path / "odd.txt"
    log.write_text(odd_log(seed))
    monkeypatch.setattr(sacct_lines, "BLOCK_BYTES", 300)
    blocks, lines = read_both(log, monkeypatch)
    assert_same(blocks, lines)


HEADER = "JobID|Start|End|NCPUS|MaxRSS|TotalCPU|State"
TIMES = "2024-01-01T00:00:00|2024-01-01T01:00:00"


@pytest.mark.parametrize(
    ("odd_line", "reason"),
    [
        ("# a comment", None),  # not a record: skipped
        ("", None),  # a blank line: skipped
        (f"77|{TIMES}|2|||COMPLETED|extra", "malformed line: 8 fields, expected 7"),
        (f"77|{TIMES}|2", "malformed line: 4 fields, expected 7"),
    ],
)
def test_an_irregular_line_in_a_late_block_sends_the_log_line_by_line(odd_line, reason, tmp_path, monkeypatch):
    """Regularity is checked block by block as the log is read: a comment, a blank line or a line
    with another number of fields far into the log still sends it line by line, with every
    line's own number. 60 jobs of 1 h on 2 CPUs; the odd line is line 100."""
    lines = [
        HEADER,
        *(f"{i}|{TIMES}|2|||COMPLETED" for i in range(60)),
        *(f"{i}.0|{TIMES}|2|1G||COMPLETED" for i in range(60)),
    ]
    lines.insert(99, odd_line)
    log = tmp_path / "jobs.txt"
    log.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(sacct_lines, "BLOCK_BYTES", 256)
    assert sacct_lines._regular_table(None, None, WANTED, log) is None
    result = read_sacct(log)
    assert result.jobs["job_id"].tolist() == [str(i) for i in range(60)]
    assert result.jobs["memory_used_gb"].tolist() == pytest.approx([2**30 / 1e9] * 60)  # every step found
    expected = [] if reason is None else [(100, reason)]
    assert list(zip(result.rejects["line"], result.rejects["reason"])) == expected


def test_a_carriage_return_in_a_late_block_sends_the_log_line_by_line(tmp_path, monkeypatch):
    lines = [HEADER, *(f"{i}|{TIMES}|2|||COMPLETED" for i in range(60))]
    log = tmp_path / "jobs.txt"
    log.write_bytes(("\n".join(lines[:50]) + "\n" + "\r\n".join(lines[50:]) + "\r\n").encode())
    monkeypatch.setattr(sacct_lines, "BLOCK_BYTES", 256)
    assert sacct_lines._regular_table(None, None, WANTED, log) is None
    assert read_sacct(log).jobs["job_id"].tolist() == [str(i) for i in range(60)]


@pytest.mark.parametrize("user", ["ren\u00e9".encode(), b"ren\xe9"], ids=["utf-8", "latin-1"])
def test_texts_past_ascii_in_a_late_block(user, tmp_path, monkeypatch):
    """The blocks are parsed without Arrow's UTF-8 check, and checked with the trimming: a name in
    UTF-8 reads in blocks; a byte that is not UTF-8 (Latin-1 "\xe9") sends the log line by line,
    which reads it as the replacement character, as before."""
    lines = [b"JobID|Start|End|NCPUS|User|State", *(f"{i}|{TIMES}|2|ada|COMPLETED".encode() for i in range(60))]
    lines[55] = lines[55].replace(b"|ada|", b"|" + user + b"|")  # job 54, far past the first block
    log = tmp_path / "jobs.txt"
    log.write_bytes(b"\n".join(lines) + b"\n")
    monkeypatch.setattr(sacct_lines, "BLOCK_BYTES", 256)
    regular = sacct_lines._regular_table(None, None, WANTED, log) is not None
    assert regular == (user == "ren\u00e9".encode())
    users = read_sacct(log).jobs["user"].tolist()
    assert users[54] == ("ren\u00e9" if regular else "ren\ufffd") and users[53] == users[55] == "ada"


def test_steps_fold_into_their_job_in_any_order():
    """Job rows 0..2 (row 3 repeats job 0's id, so its first row is 0). Steps, out of job order:
    job 0: RSS 1 and 3 GiB -> 3 GiB; CPU 10 + 20 + 30 s = 60 s; energy NaN and 5 J -> 5 J.
    job 1: one step without figures -> NaN everywhere (CPU 0 s is no CPU time).
    job 2: no step -> NaN."""
    gib = 2**30 / 1e9
    steps = pd.DataFrame(
        {
            "_job": [0, 1, 0, 0],
            "MaxRSS": pd.arrays.ArrowExtensionArray(pa.array(["1G", "", "3G", ""])),
            "TotalCPU": pd.arrays.ArrowExtensionArray(pa.array(["00:10", "00:00", "00:20", "00:30"])),
            "ConsumedEnergyRaw": pd.arrays.ArrowExtensionArray(pa.array(["", "", "5", ""])),
        }
    )
    folded = _fold_steps(_Records(None, steps, np.array([0, 1, 2, 0]), []))
    assert folded["rss_gb"].tolist() == pytest.approx([3 * gib, np.nan, np.nan, 3 * gib], nan_ok=True)
    assert folded["cpu_s"].tolist() == pytest.approx([60, np.nan, np.nan, 60], nan_ok=True)
    assert folded["energy_j"].tolist() == pytest.approx([5, np.nan, np.nan, 5], nan_ok=True)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_blocks_end_at_line_ends_and_lose_no_byte(size):
    """Every block but the last ends a line, none is empty, and together they are the file."""
    import io

    data = b"a|b\nccc|d\n\nlonger line|x\nlast without newline"
    blocks = list(sacct_lines._blocks(io.BytesIO(data), size))
    assert b"".join(blocks) == data
    assert all(block.endswith(b"\n") for block in blocks[:-1]) and all(blocks)
    assert blocks[-1] == b"last without newline"


@pytest.mark.parametrize("size", [1, 3, 64])
def test_reject_texts_are_read_again_block_by_block(size):
    """A reject's text on the block path is its line read again, padded with "|" to the log's
    width (2 fields here) as the line-by-line path pads a short line; lines asked for in any order,
    twice, across blocks, blank, and last without a newline."""
    import io

    data = b"a|b\nccc|d\n\nlonger line|x\nlast without newline"
    texts = sacct_lines._line_texts(io.BytesIO(data), [5, 1, 3, 2, 4, 1], 2, block_bytes=size)
    assert texts == ["last without newline|", "a|b", "|", "ccc|d", "longer line|x", "a|b"]
