"""Job ids: numbered ids in order (the usual log) take a faster path than any other ids; both must
give the same verdicts. Expected values are worked out from the lines written here."""

from __future__ import annotations

import pytest

from carbon.batch.readers import read

HEADER = "JobID|Start|End|NCPUS|MaxRSS|State"


def sacct(tmp_path, lines):
    log = tmp_path / "jobs.txt"
    log.write_text("\n".join([HEADER, *lines]) + "\n")
    return read(log, "sacct")


@pytest.mark.parametrize("first_id", ["5", "job5"])  # numbered ids in order, and text ids (hashed)
def test_sacct_steps_join_their_own_job_only(tmp_path, first_id):
    result = sacct(
        tmp_path,
        [
            f"{first_id}|2024-01-01T00:00:00|2024-01-01T01:00:00|2||COMPLETED",  # line 2
            "7|2024-01-01T00:00:00|2024-01-01T01:00:00|2||COMPLETED",  # line 3
            "7.batch|2024-01-01T00:00:00|2024-01-01T01:00:00|2|2G|COMPLETED",  # line 4: job 7's
            "07.batch|2024-01-01T00:00:00|2024-01-01T01:00:00|2|9G|COMPLETED",  # line 5: "07" is not "7"
            "8.0|2024-01-01T00:00:00|2024-01-01T01:00:00|2|9G|COMPLETED",  # line 6: no job 8
            "9|2024-01-01T00:00:00|2024-01-01T01:00:00|2||COMPLETED",  # line 7
        ],
    )
    jobs = result.jobs.set_index("job_id")
    assert sorted(jobs.index) == sorted([first_id, "7", "9"])
    assert jobs.loc["7", "memory_used_gb"] == pytest.approx(2 * 2**30 / 10**9)  # 2G (GiB) of its own step
    assert jobs.loc["9", "memory_used_gb"] != jobs.loc["9", "memory_used_gb"]  # NaN: no step
    assert result.rejects["line"].tolist() == [5, 6]
    assert set(result.rejects["reason"]) == {"job step without its job line"}


@pytest.mark.parametrize(
    ("ids", "rejected"),
    [
        (["1", "2", "3"], []),  # numbered, in order: distinct
        (["7", "07", "8"], []),  # "07" and "7" are two ids (the numbers are not increasing: hashed)
        (["3", "1", "3"], [(4, "duplicate of line 2")]),  # header on line 1: the third record is line 4
        (["a", "b", "a"], [(4, "duplicate of line 2")]),
    ],
)
def test_generic_duplicates(tmp_path, ids, rejected):
    log = tmp_path / "jobs.csv"
    rows = [f"{i},2024-01-01T00:00:00Z,2024-01-01T01:00:00Z,FR,2" for i in ids]
    log.write_text("\n".join(["job_id,start,end,region,cpus", *rows]) + "\n")
    result = read(log, "csv")
    assert list(zip(result.rejects["line"], result.rejects["reason"])) == rejected
    assert len(result.jobs) == len(ids) - len(rejected)


@pytest.mark.parametrize("blank", [0, 1, 3])
def test_sacct_blank_lines_keep_every_line_number(tmp_path, blank):
    """A blank line is no record, and the records after it keep their own line numbers (the
    fast reader refuses such a file; the line-by-line one reads it)."""
    done = "1|2024-01-01T00:00:00|2024-01-01T01:00:00|2||COMPLETED\n"
    pending = "2|Unknown|Unknown|2||PENDING\n"
    log = tmp_path / "jobs.txt"
    log.write_text(HEADER + "\n" + done + "\n" * blank + pending + "\n" * blank)
    result = read(log, "sacct")
    assert result.jobs["job_id"].tolist() == ["1"]
    assert result.rejects["line"].tolist() == [3 + blank]  # PENDING: after the blank lines
    assert result.rejects["reason"].tolist() == ["job never started"]


def test_sacct_read_in_blocks_equals_hand_calculation(tmp_path, monkeypatch):
    """A regular log is read in blocks, job and step lines split block by block; with blocks of
    a few hundred bytes every job's steps fall on both sides of some boundary. Each job i ran 1 h on
    2 CPUs; its steps used (i + 1) GiB and 1 GiB at most, 20 min and 10 min of CPU."""
    import carbon.batch.readers.sacct_lines as sacct_lines

    header = "JobID|Start|End|NCPUS|MaxRSS|TotalCPU|State"
    times = "2024-01-01T00:00:00|2024-01-01T01:00:00"
    lines = [header]
    for i in range(40):
        lines += [
            f"{i}|{times}|2|||COMPLETED",
            f"{i}.batch|{times}|2|{i + 1}G|00:20:00|COMPLETED",
            f"{i}.0|{times}|2|1G|00:10:00|COMPLETED",
        ]
    lines[63] = f"|{times}|2|1G|00:10:00|COMPLETED"  # line 64: the step "20.0" loses its id
    lines[102] = f"99.0|{times}|2|1G|00:10:00|COMPLETED"  # line 103, was "33.0": no job 99
    log = tmp_path / "jobs.txt"
    log.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(sacct_lines, "BLOCK_BYTES", 300)
    result = read(log, "sacct")
    assert list(zip(result.rejects["line"], result.rejects["reason"])) == [
        (64, "malformed line: empty JobID"),
        (103, "job step without its job line"),
    ]
    jobs = result.jobs.set_index("job_id")
    assert list(jobs.index) == [str(i) for i in range(40)]
    for i in range(40):
        assert jobs.loc[str(i), "memory_used_gb"] == pytest.approx((i + 1) * 2**30 / 10**9)
        cpu_minutes = 20 + (0 if i in (20, 33) else 10)  # 20 and 33 lost their ".0" step
        assert jobs.loc[str(i), "cpu_util"] == pytest.approx(cpu_minutes * 60 / (3600 * 2))


@pytest.mark.parametrize("newline", ["\n", "\r\n"])  # read in blocks, and line by line (a CR)
def test_sacct_an_id_with_nothing_before_its_dot_is_empty(tmp_path, newline):
    times = "2024-01-01T00:00:00|2024-01-01T01:00:00"
    log = tmp_path / "jobs.txt"
    log.write_bytes(newline.join([HEADER, f"5|{times}|2||COMPLETED", f".batch|{times}|2|1G|COMPLETED", ""]).encode())
    result = read(log, "sacct")
    assert result.jobs["job_id"].tolist() == ["5"]
    assert list(zip(result.rejects["line"], result.rejects["reason"])) == [(3, "malformed line: empty JobID")]


@pytest.mark.parametrize("block", [4, 5, 2**24])  # 4: "#" opens the second block, after a "\n" ending the first
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"h|i\n#c|d\nx|y\n", (b"h|i", b"#c|d", False, True, 3, True)),
        (b"h|i\nj|k\r\nx|y", (b"h|i", b"j|k\r", True, False, 2, False)),
        (b"h|i\nj#k\nx|y\n", (b"h|i", b"j#k", False, False, 3, True)),  # a "#" inside a field: no comment
        (b"", (b"", b"", False, False, 0, False)),
    ],
)
def test_sacct_log_shape_found_block_by_block(data, expected, block):
    """(first line, second line, has CR, has a comment line, newlines, ends with a newline), by hand."""
    import dataclasses
    import io

    from carbon.batch.readers.sacct_lines import _shape

    assert dataclasses.astuple(_shape(io.BytesIO(data), block)) == expected
