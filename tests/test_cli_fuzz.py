"""Random arguments and settings for every subcommand, in-process through `main(argv)`.

Whatever is thrown at it, the command must end with 0, 1 or 2, never print a traceback, never
call itself buggy ("internal error"), and `--format json` must print strict JSON (no NaN or
Infinity). The values mix plausible ones with the hostile ones seen in issue 13 (nan, inf,
1e-9, out-of-range dates, empty strings, a quote, a directory where a file is expected).
Examples are bounded so the whole file runs in well under a minute.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from cli_env import cli_env  # noqa: F401  (the fixture: settings isolated, tmp_path the working folder)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon.cli import main

pytestmark = pytest.mark.usefixtures("cli_env")
FIXTURES = Path(__file__).parent / "fixtures"
FLAG = object()  # an option that takes no value

# Text a shell could pass: no NUL (argv is C strings), no lone surrogates (the OS decodes argv
# with surrogateescape, which only yields U+DC80..U+DCFF).
typed = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=10)
HOSTILE = ["", " ", "nan", "inf", "-inf", "-1", "0", "1e-9", "1e308", "'-1h", "1.5.5h", "Zürich", "x" * 300]
NUMBERS = st.sampled_from(["0.1", "1", "2.5", "40", "1000000", "0.000001", *HOSTILE]) | typed
DURATIONS = st.sampled_from(["3h", "90m", "1h30m", "45", "01:30:00", "1:99", "2w", "1h30", *HOSTILE]) | typed
TIMES = (
    st.sampled_from(
        [
            "2024-03-01",
            "2023-06-01T14:00Z",
            "2024-03-01T15:00+01:00",
            "0001-01-01T00:00+01:00",
            "9999-12-31",
            "2100-01-01",
        ]
        + HOSTILE
    )
    | typed
)
REGIONS = st.sampled_from(["FR", "DE", "US-CA", "aws:us-east-1", "gcp:europe-west1", "Atlantis", *HOSTILE]) | typed
SOURCES = st.sampled_from(["bundled", "nope", "bundled,nope", ",", ""])
PATHS = st.sampled_from(["j.txt", "out.csv", "out.parquet", "r.csv", "s.csv", "sub", "missing/x.csv", "", "./j.txt"])
FORMAT = st.sampled_from(["text", "json", "csv", "xml"])

ENVIRONMENT = {
    "CARBON_INTERVAL_S": NUMBERS,
    "CARBON_PUE": NUMBERS,
    "CARBON_HTTP_TIMEOUT_S": NUMBERS,
    "CARBON_DETECT_TIMEOUT_S": NUMBERS,
    "CARBON_DETECT_TIMEOUT": NUMBERS,
    "CARBON_REGION": REGIONS,
    "CARBON_INTENSITY_SOURCES": SOURCES,
    "CARBON_OUTPUT_DIR": PATHS,
}


def arguments(spec: dict[str, object]) -> st.SearchStrategy[list[str]]:
    """Some of the options in `spec` (name -> strategy of values, or FLAG), in a random order."""

    def build(names: list[str]) -> st.SearchStrategy[list[str]]:
        values = [st.just(None) if spec[name] is FLAG else spec[name] for name in names]
        return st.tuples(*values).map(
            lambda drawn: [
                part for name, value in zip(names, drawn) for part in ([name] if value is None else [name, value])
            ]
        )

    return st.lists(st.sampled_from(sorted(spec)), unique=True, max_size=len(spec)).flatmap(build)


environments = st.dictionaries(st.sampled_from(sorted(ENVIRONMENT)), st.none(), max_size=3).flatmap(
    lambda chosen: st.fixed_dictionaries({name: ENVIRONMENT[name] for name in chosen})
)
common = st.lists(st.sampled_from(["-v", "-q", "-vv", "--debug"]), max_size=1)


@contextmanager
def environment(values: dict[str, str]):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def strict_json(text: str) -> None:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON output")

    json.loads(text, parse_constant=refuse)


def check(capsys, argv: list[str], env: dict[str, str]) -> None:
    with environment(env):
        code = main(argv)
    out, err = capsys.readouterr()
    context = f"argv={argv!r} env={env!r}\nstderr: {err}"
    assert code in (0, 1, 2), context
    if "--debug" not in argv:
        assert "Traceback" not in err, context
    assert "internal error" not in err, context
    if code == 0 and "--format" in argv and argv[argv.index("--format") + 1] == "json":
        strict_json(out)


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def workdir(tmp_path):
    """The working folder holds a job log, a folder, and a hardware map."""
    shutil.copy(FIXTURES / "sacct_excerpt.txt", tmp_path / "j.txt")
    (tmp_path / "sub").mkdir()
    return tmp_path


ESTIMATE = {
    "--region": REGIONS,
    "--energy-kwh": NUMBERS,
    "--instance-type": st.sampled_from(["m5.xlarge", "n2-standard-8", "Standard_D4s_v5", "nope", ""]),
    "--cpus": NUMBERS,
    "--cpu-model": st.sampled_from(["Intel Xeon Gold 6248", "EPYC 7763", "", "x"]),
    "--memory-gb": NUMBERS,
    "--gpus": NUMBERS,
    "--gpu-model": st.sampled_from(["A100", "H100 SXM", "", "nope"]),
    "--duration": DURATIONS,
    "--cpu-util": st.sampled_from(["0.5", "50%", "150%", "-1", "nan", "%"]),
    "--gpu-util": st.sampled_from(["0.9", "90%", "1.1", "inf"]),
    "--year": st.sampled_from(["2023", "2019", "1066", "3000", "20x4", ""]),
    "--start": TIMES,
    "--pue": NUMBERS,
    "--format": st.sampled_from(["text", "json"]),
    "--latex": FLAG,
}


@FUZZ
@given(args=arguments(ESTIMATE), env=environments, extra=common)
def test_estimate(capsys, args, env, extra):
    check(capsys, [*extra, "estimate", *args], env)


@FUZZ
@given(
    zone=REGIONS,
    args=arguments({"--at": TIMES, "--from": TIMES, "--to": TIMES, "--source": SOURCES, "--format": FORMAT}),
    env=environments,
    extra=common,
)
def test_intensity(capsys, zone, args, env, extra):
    check(capsys, [*extra, "intensity", zone, *args], env)


@settings(FUZZ, max_examples=15)
@given(
    args=arguments({"--provider": st.sampled_from(["aws", "gcp", "azure", "ibm"]), "--format": FORMAT}),
    env=environments,
)
def test_regions(capsys, args, env):
    check(capsys, ["regions", *args], env)


@settings(FUZZ, max_examples=30)
@given(
    args=arguments({"--timeout": NUMBERS, "--region": REGIONS, "--no-live": FLAG, "--format": FORMAT}),
    env=environments,
    extra=common,
)
def test_detect(capsys, args, env, extra):
    check(capsys, [*extra, "detect", *args], env)


@settings(FUZZ, max_examples=30)
@given(args=arguments({"--format": FORMAT}), env=environments, extra=common)
def test_config(capsys, args, env, extra):
    check(capsys, [*extra, "config", *args], env)


@settings(FUZZ, max_examples=20)
@given(
    action=st.sampled_from(["status", "verify", "nope", ""]),
    args=arguments({"--format": FORMAT}),
    data_dir=st.sampled_from([None, "sub", "j.txt", "missing"]),
)
def test_data(capsys, workdir, action, args, data_dir):
    check(capsys, ["data", action, *args], {"CARBON_DATA_DIR": data_dir} if data_dir else {})


@settings(FUZZ, max_examples=20)
@given(action=st.sampled_from(["info", "clear", "nope"]), args=arguments({"--format": FORMAT}), env=environments)
def test_cache(capsys, action, args, env):
    check(capsys, ["cache", action, *args], env)


BATCH = {
    "--format": st.sampled_from(["sacct", "csv", "parquet", "jsonl", "runs", "xml"]),
    "--fields": st.sampled_from(["JobID,Start,End,AllocCPUS", "", ",", "Nope", "JobID,,End"]),
    "--region": REGIONS,
    "--granularity": st.sampled_from(["hour", "month", "year", "day"]),
    "--what-if-region": REGIONS,
    "--what-if-shift": NUMBERS,
    "--out": PATHS,
    "--rejects": PATHS,
    "--summary": PATHS,
}


@FUZZ
@given(logs=st.lists(PATHS, min_size=1, max_size=2), args=arguments(BATCH), env=environments, extra=common)
def test_batch(capsys, workdir, logs, args, env, extra):
    before = (workdir / "j.txt").read_bytes()
    check(capsys, [*extra, "batch", *logs, *args], env)
    if any(Path(log).resolve() == workdir / "j.txt" for log in logs):
        assert (workdir / "j.txt").read_bytes() == before  # an input is never written


RUN = {
    "--interval": NUMBERS,
    "--output": PATHS,
    "--project": st.sampled_from(["p", "", "x" * 300]),
    "--region": REGIONS,
    "--summary": PATHS,
    "--mode": st.sampled_from(["machine", "process", "cluster"]),
    "--pue": NUMBERS,
}


@settings(FUZZ, max_examples=25)
@given(args=arguments(RUN), env=environments, extra=common)
def test_run(capsys, workdir, args, env, extra):
    """The command is `true`: however the options are wrong, nothing is left half-written."""
    check(capsys, [*extra, "run", *args, "--", "true"], env)
    left = list(workdir.glob("**/*.tmp"))
    assert not left, f"{left} left by {args} {env}"
