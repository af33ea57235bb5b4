"""The command line's contract with people: one line per error with a fixed exit status, input
checked before any work, logging switched by -v/-q, numbers and tables readable, help with an
example everywhere, shell completion, a progress display only on a terminal."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

import pytest
from cli_env import cli_env  # noqa: F401  (the fixture: settings isolated, tmp_path the working folder)

from carbon.cli import build_parser, main
from carbon.units import ENERGY_KWH, LENGTH_KM, MASS_KG, figure, parse_duration_s, quantity

FIXTURES = Path(__file__).parent / "fixtures"
pytestmark = pytest.mark.usefixtures("cli_env")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def log(tmp_path):
    """A small sacct log in the working folder."""
    target = tmp_path / "j.txt"
    shutil.copy(FIXTURES / "sacct_excerpt.txt", target)
    return target


# --- A. errors: one line, exit 2 for input, 1 for known failures, 1 + a report request for bugs ---


def test_user_error_is_one_line_exit_2(capsys):
    code, _, err = run(capsys, "estimate", "--region", "Atlantis", "--energy-kwh", "1")
    assert code == 2
    assert one_line(err).startswith("carbon estimate: error: unknown region 'Atlantis'")


def test_argparse_error_is_one_line_exit_2(capsys):
    code, _, err = run(capsys, "estimate", "--region", "FR", "--duration", "1.5.5h")
    assert code == 2
    line = one_line(err)
    assert line.startswith("carbon estimate: error: argument --duration: cannot read duration '1.5.5h'")
    assert "usage:" not in err


def test_help_stays_complete(capsys):
    code, out, _ = run(capsys, "estimate", "--help")
    assert code == 0
    assert "usage: carbon estimate" in out and "--energy-kwh" in out and "examples:" in out


@pytest.mark.parametrize("columns", ["", "0", "-3", "abc", "57", "140"])
def test_help_width_is_the_one_shutil_gives(monkeypatch, capsys, columns):
    """The parser finds the terminal's width itself (so that no start imports shutil): it must be
    the width shutil.get_terminal_size() gives, and help lines must fit in it."""
    from carbon.cli import _columns

    monkeypatch.setenv("COLUMNS", columns)
    assert _columns() == shutil.get_terminal_size().columns
    assert main(["estimate", "--help"]) == 0
    usage = capsys.readouterr().out.split("\n\n")[0].splitlines()  # wrapped to the width (the examples are not)
    width = shutil.get_terminal_size().columns - 2  # argparse's margin
    assert max(len(line) for line in usage) <= width
    assert len(usage[0]) > width - 25  # the whole width is used, not a narrower default


def test_known_failure_is_one_line_exit_1(capsys, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("CARBON_DATA_DIR", str(empty))
    code, out, err = run(capsys, "data", "verify")
    assert code == 1 and "ok" not in out
    assert one_line(err) == f"carbon data verify: error: no manifest.json in {empty}: not a carbon data bundle"


def test_a_bug_asks_for_a_report_and_hides_the_traceback(capsys, monkeypatch):
    import carbon.cli.regions_cmd

    def broken(args):
        return 1 / 0

    monkeypatch.setattr(carbon.cli.regions_cmd, "run", broken)
    code, _, err = run(capsys, "regions")
    assert code == 1
    line = one_line(err)
    assert line.startswith("carbon regions: internal error (ZeroDivisionError: division by zero)")
    assert "bug" in line and "report" in line and "--debug" in line

    code, _, err = run(capsys, "--debug", "regions")
    assert code == 1 and "Traceback (most recent call last)" in err and "ZeroDivisionError" in err


def test_a_value_error_from_the_model_is_not_bad_input(capsys, monkeypatch):
    """A ValueError raised inside the arithmetic is a bug (exit 1, report), never "bad input" (exit 2)."""
    import carbon.pricing

    def faulty(*args, **kwargs):
        raise ValueError("Bounds must satisfy low <= central <= high")

    monkeypatch.setattr(carbon.pricing, "estimate", faulty)
    code, _, err = run(capsys, "estimate", "--region", "FR", "--energy-kwh", "1")
    assert code == 1
    assert "internal error (ValueError" in one_line(err)


def test_debug_after_the_subcommand_too(capsys, monkeypatch):
    import carbon.cli.regions_cmd

    monkeypatch.setattr(carbon.cli.regions_cmd, "run", lambda args: [][1])
    code, _, err = run(capsys, "regions", "--debug")
    assert code == 1 and "Traceback" in err


# --- B. logging: the carbon logger on stderr, one line per message, level by -v / -q ---


@pytest.fixture
def chatty(monkeypatch):
    """`carbon regions` replaced by a command whose library part logs at every level."""
    import carbon.cli.regions_cmd

    def talk(args):
        library = logging.getLogger("carbon.regions")
        library.debug("debug detail")
        library.info("info note")
        library.warning("warning line one\nline two")
        return 0

    monkeypatch.setattr(carbon.cli.regions_cmd, "run", talk)


@pytest.mark.parametrize(
    "flags, shown, hidden",
    [
        ([], ["warning line one line two"], ["info note", "debug detail"]),
        (["-v"], ["info note", "warning line one"], ["debug detail"]),
        (["-vv"], ["debug detail", "info note"], []),
        (["-q"], [], ["warning", "info note", "debug detail"]),
    ],
)
def test_verbosity(capsys, chatty, flags, shown, hidden):
    code, _, err = run(capsys, *flags, "regions")
    assert code == 0
    for text in shown:
        assert text in err
    for text in hidden:
        assert text not in err
    assert all(line.startswith("carbon: ") for line in err.splitlines())


def test_quiet_after_the_subcommand(capsys, chatty):
    assert run(capsys, "regions", "-q")[2] == ""


# --- C. readable output ---


EXPONENT = re.compile(r"\d[eE][+-]?\d")


def test_quantities_hand_checked():
    assert quantity(1e6, ENERGY_KWH) == "1.00 GWh"  # 1e6 kWh = 1 GWh
    assert quantity(1000, ENERGY_KWH) == "1.00 MWh"  # was printed "1e+03 MWh"
    assert quantity(1.37e-6, LENGTH_KM) == "< 0.01 m"  # 1.37 mm: was "1.37e-06 km"
    assert quantity(0.0137, MASS_KG) == "13.7 g"
    assert quantity(1234.5, MASS_KG) == "1.23 t"
    assert quantity(12_345_678, MASS_KG) == "12,300 t"
    assert quantity(-0.002, MASS_KG, signed=True) == "-2.00 g"
    assert figure(9.996) == "10.0" and figure(0) == "0" and figure(0.004) == "< 0.01"


@pytest.mark.parametrize("energy", ["1000000", "0.0000001", "0.5", "123456789"])
def test_estimate_text_has_no_exponent(capsys, energy):
    code, out, _ = run(capsys, "estimate", "--region", "FR", "--energy-kwh", energy)
    assert code == 0
    assert not EXPONENT.search(out), out
    if energy == "1000000":
        assert "Energy:     1.00 GWh" in out
    if energy == "0.0000001":
        assert "< 0.01 m driven" in out


def test_batch_summary_is_readable(capsys, log):
    code, out, _ = run(capsys, "batch", str(log), "--region", "FR")
    assert code == 0
    assert not EXPONENT.search(out)
    assert re.search(r"9 jobs: [\d.]+ Wh \([\d.]+ Wh - [\d.]+ Wh\)\nlifecycle: [\d.]+ m?g CO2e", out), out


def test_regions_has_a_header(capsys):
    code, out, _ = run(capsys, "regions", "--provider", "aws")
    assert code == 0
    assert out.splitlines()[0].split() == ["REGION", "ZONE", "g/kWh", "YEAR", "BASIS", "NAME"]


def test_config_has_a_header(capsys):
    assert run(capsys, "config")[1].splitlines()[0].split() == ["SETTING", "VALUE", "ORIGIN"]


def _parsers():
    parser = build_parser()
    stack = [parser]
    while stack:
        current = stack.pop()
        yield current
        for action in current._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                stack.extend(action.choices.values())


def test_every_option_has_help_and_every_command_an_example():
    for parser in _parsers():
        for action in parser._actions:
            if action.__class__.__name__ == "_SubParsersAction":
                continue
            assert action.help, f"{parser.prog}: {action.option_strings or action.dest} has no help"
        assert parser.epilog and parser.prog in parser.epilog.replace("carbon -v", "carbon"), parser.prog


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_knows_every_subcommand(capsys, shell):
    code, out, _ = run(capsys, "completion", shell)
    assert code == 0
    for word in ("estimate", "batch", "intensity", "--what-if-shift", "--energy-kwh"):
        assert word.lstrip("-") in out


def test_fish_completion_offers_subcommands_then_options(capsys):
    out = run(capsys, "completion", "fish")[1]
    assert "complete -c carbon -n __fish_use_subcommand -a batch" in out
    assert "complete -c carbon -n '__fish_seen_subcommand_from estimate' -l format -x -a 'text json'" in out


@pytest.mark.parametrize("command", [["estimate", "--region", "FR", "--energy-kwh", "1"], ["regions"], ["config"]])
def test_json_is_strict(capsys, command):
    code, out, _ = run(capsys, *command, "--format", "json")
    assert code == 0
    json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in JSON output"))


def test_json_writes_non_finite_numbers_as_null():
    from carbon.cli.output import dumps

    assert json.loads(dumps({"a": float("nan"), "b": [float("inf"), 1.5]})) == {"a": None, "b": [None, 1.5]}


def _terminal_stderr(monkeypatch):
    """stderr replaced by the slave end of a pseudo-terminal; returns a reader of what it showed."""
    import pty

    try:
        master, slave = pty.openpty()
    except OSError as error:  # a sandbox without /dev/ptmx
        pytest.skip(f"no pseudo-terminal: {error}")
    stream = os.fdopen(slave, "w", encoding="utf-8", buffering=1)
    monkeypatch.setattr("sys.stderr", stream)

    def shown() -> str:
        stream.flush()
        os.set_blocking(master, False)
        chunks = []
        try:
            while chunk := os.read(master, 65536):
                chunks.append(chunk)
        except (BlockingIOError, OSError):
            pass
        return b"".join(chunks).decode("utf-8", "replace")

    return shown


def test_batch_progress_on_a_terminal(monkeypatch, log, tmp_path):
    shown = _terminal_stderr(monkeypatch)
    assert main(["batch", str(log), "--region", "FR", "--out", str(tmp_path / "results.csv")]) == 0
    display = shown()
    for step in ("reading j.txt", "pricing", "writing results.csv"):
        assert step in display, display


def test_batch_progress_silenced_by_quiet(monkeypatch, log):
    shown = _terminal_stderr(monkeypatch)
    assert main(["batch", str(log), "--region", "FR", "-q"]) == 0
    assert "pricing" not in shown()


def test_no_progress_when_stderr_is_not_a_terminal(capsys, log):
    code, _, err = run(capsys, "batch", str(log), "--region", "FR")
    assert code == 0 and "pricing" not in err and "reading" not in err


# --- D. validate before work ---


def test_durations_are_strict():
    with pytest.raises(ValueError):
        parse_duration_s("1.5.5h")  # was 1801.5 s
    with pytest.raises(ValueError):
        parse_duration_s("1h30")  # a trailing bare number is ambiguous
    assert parse_duration_s("1h30m") == 5400 and parse_duration_s("45") == 45 and parse_duration_s("1:30:00") == 5400


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["estimate", "--region", "FR", "--energy-kwh", "inf"],
            "argument --energy-kwh: must be a finite number, got 'inf'",
        ),
        (
            ["estimate", "--region", "FR", "--energy-kwh", "nan"],
            "argument --energy-kwh: must be a finite number, got 'nan'",
        ),
        (["estimate", "--region", "FR", "--energy-kwh", "-1"], "argument --energy-kwh: must be at least 0, got '-1'"),
        (["estimate", "--region", "FR", "--cpus", "2", "--duration", "'-1h"], 'cannot read duration "\'-1h"'),
        (
            ["estimate", "--region", "FR", "--energy-kwh", "1", "--start", "0001-01-01T00:00+01:00"],
            "argument --start: time '0001-01-01T00:00+01:00' is outside the supported years",
        ),
        (["estimate", "--region", "FR", "--energy-kwh", "1", "--start", ""], "argument --start: cannot read time ''"),
        (
            ["estimate", "--region", "FR", "--energy-kwh", "1", "--year", "1066"],
            "argument --year: year 1066 is outside",
        ),
        (
            ["estimate", "--region", "FR", "--energy-kwh", "1", "--pue", "0.2"],
            "argument --pue: must be at least 1, got '0.2'",
        ),
        (
            ["estimate", "--region", "FR", "--cpus", "2", "--duration", "1h", "--cpu-util", "150%"],
            "argument --cpu-util",
        ),
        (["intensity", "FR", "--at", "0001-01-01T00:00+01:00"], "argument --at: time '0001-01-01T00:00+01:00'"),
        (
            ["intensity", "FR", "--from", "2024-03-02", "--to", "2024-03-01"],
            "--to 2024-03-01T00:00Z must be after --from",
        ),
        (["detect", "--timeout", "inf"], "argument --timeout: must be a finite number, got 'inf'"),
        (["run", "--interval", "1e-9", "--", "true"], "argument --interval: must be at least 0.1 seconds, got '1e-9'"),
        (["run", "--interval", "inf", "--", "true"], "argument --interval: must be a finite number, got 'inf'"),
        (["run", "--pue", "0.2", "--", "true"], "argument --pue: must be at least 1, got '0.2'"),
        (["run", "--output", "", "--", "true"], "argument --output: must not be empty"),
        (["run", "--summary", "", "--", "true"], "--summary must not be empty"),
        (["batch", "j.txt", "--what-if-shift", "nan"], "argument --what-if-shift: must be a finite number, got 'nan'"),
        (["batch", "j.txt", "--fields", ""], "argument --fields: must not be empty"),
        (["batch", "j.txt", "--fields", "JobID,,End"], "--fields 'JobID,,End' has an empty field name"),
        (["batch", "j.txt", "--out", ""], "--out must not be empty"),
    ],
)
def test_bad_values_are_one_line_naming_option_and_value(capsys, log, argv, expected):
    code, _, err = run(capsys, *argv)
    assert code == 2
    line = one_line(err)
    assert line.startswith(f"carbon {argv[0]}: error: ") and expected in line, line


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--out", "j.txt"], "--out 'j.txt' is the input LOG 'j.txt'; it would be overwritten"),
        (["--rejects", "j.txt"], "--rejects 'j.txt' is the input LOG 'j.txt'"),
        (["--summary", "./j.txt"], "--summary './j.txt' is the input LOG 'j.txt'"),
        (["--out", "j.parquet", "--engine", "dask", "--rejects", "j.txt"], "--rejects 'j.txt' is the input"),
        (["--out", "a.csv", "--rejects", "a.csv"], "--rejects and --out are the same path 'a.csv'"),
        (["--out", "sub"], "--out 'sub' is a directory; give a file path"),
        (["--summary", "missing/s.csv"], "--summary 'missing/s.csv': folder"),
        (["--hardware", "j.txt", "--out", "j.txt"], "is the input"),
    ],
)
def test_batch_outputs_checked_before_reading(capsys, log, tmp_path, extra, expected):
    (tmp_path / "sub").mkdir()
    before = log.read_bytes()
    code, out, err = run(capsys, "batch", "j.txt", "--region", "FR", *extra)
    assert code == 2 and out == ""  # nothing read, nothing priced
    assert expected in one_line(err)
    assert log.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".csv", ".parquet", ".tmp")) == []


def test_streamed_parquet_never_replaces_a_folder_of_other_files(capsys, tmp_path):
    """`--engine dask` with a Parquet log writes a dataset folder at --out, replacing what is there."""
    import pandas as pd

    pd.DataFrame({"job_id": ["1"], "cpus": [1], "duration_s": [60.0]}).to_parquet(tmp_path / "jobs.parquet")
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("precious")
    code, _, err = run(capsys, "batch", "jobs.parquet", "--region", "FR", "--engine", "dask", "--out", "home")
    assert code == 2 and "--out 'home' is a folder holding other files (thesis.tex)" in one_line(err)
    assert (home / "thesis.tex").read_text() == "precious"


def test_batch_input_hard_link_is_the_same_file(capsys, log, tmp_path):
    os.link(log, tmp_path / "alias.txt")
    code, _, err = run(capsys, "batch", "j.txt", "--region", "FR", "--out", "alias.txt")
    assert code == 2 and "is the input LOG" in one_line(err)


def test_directory_as_the_log_says_so(capsys, tmp_path):
    (tmp_path / "logs").mkdir()
    code, _, err = run(capsys, "batch", "logs", "--region", "FR")
    assert code == 2 and one_line(err) == "carbon batch: error: LOG 'logs' is a directory, not a file"


def test_run_checks_outputs_before_the_command(capsys, tmp_path):
    (tmp_path / "d").mkdir()
    marker = tmp_path / "ran"
    code, _, err = run(capsys, "run", "--region", "FR", "--summary", "d", "--", "touch", str(marker))
    assert code == 2 and "--summary 'd' is a directory" in one_line(err)
    assert not marker.exists() and not list(tmp_path.glob("**/*.tmp"))

    code, _, err = run(capsys, "run", "--region", "FR", "--output", "o", "--summary", "o", "--", "touch", str(marker))
    assert code == 2 and "--summary and --output are the same path 'o'" in one_line(err)
    assert not marker.exists()


@pytest.mark.parametrize(
    "variable, value, argv, expected",
    [
        ("CARBON_INTERVAL_S", "1e-9", ["run", "--region", "FR", "--", "true"], "interval_s from env CARBON_INTERVAL_S"),
        ("CARBON_PUE", "0.2", ["run", "--region", "FR", "--", "true"], "pue from env CARBON_PUE: must be at least 1"),
        ("CARBON_HTTP_TIMEOUT_S", "inf", ["intensity", "FR"], "http_timeout_s from env CARBON_HTTP_TIMEOUT_S"),
        ("CARBON_DETECT_TIMEOUT_S", "nan", ["config"], "detect_timeout_s from env CARBON_DETECT_TIMEOUT_S"),
        ("CARBON_DETECT_TIMEOUT", "inf", ["detect"], "CARBON_DETECT_TIMEOUT: must be a finite number, got 'inf'"),
        (
            "CARBON_INTENSITY_SOURCES",
            "bundled,nope",
            ["run", "--region", "FR", "--", "touch", "ran"],
            "intensity_sources from env CARBON_INTENSITY_SOURCES: unknown intensity source 'nope'",
        ),
        ("CARBON_OUTPUT_DIR", "a-file", ["run", "--region", "FR", "--", "true"], "output_dir (env CARBON_OUTPUT_DIR)"),
    ],
)
def test_settings_get_the_checks_of_flags(capsys, monkeypatch, tmp_path, variable, value, argv, expected):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv(variable, value)
    code, _, err = run(capsys, *argv)
    assert code == 2 and expected in one_line(err), err
    assert not (tmp_path / "ran").exists()


def test_config_file_gets_the_same_checks(capsys, tmp_path):
    (tmp_path / "carbon.toml").write_text("interval_s = 0.001\n", encoding="utf-8")
    code, _, err = run(capsys, "config")
    assert code == 2
    assert "setting interval_s from file" in one_line(err) and "must be at least 0.1 seconds, got 0.001" in err


def test_non_utf8_config_file_is_one_line_naming_it(capsys, tmp_path):
    (tmp_path / "carbon.toml").write_bytes(b'region = "Z\xfcrich"\n')
    code, _, err = run(capsys, "config")
    assert code == 2
    assert one_line(err).startswith(f"carbon config: error: config file {tmp_path / 'carbon.toml'} is not UTF-8")


def test_empty_data_dir_does_not_verify(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CARBON_DATA_DIR", str(tmp_path))
    code, out, err = run(capsys, "data", "verify")
    assert code == 1 and out == "" and "no manifest.json" in one_line(err)
