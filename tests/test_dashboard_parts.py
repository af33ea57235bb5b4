"""The dashboard's pure parts: SVG charts, table exports, folding of rollup rows, the LaTeX paragraph."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta, timezone

import pytest

pytest.importorskip("sqlalchemy")
from carbon.model import Bounds
from carbon.server.dashboard import latex
from carbon.server.dashboard.charts import Bar, LinePoint, bar_chart, line_chart, nice_ceiling
from carbon.server.dashboard.figures import BasisTotal, duration
from carbon.server.dashboard.queries import SUMMED, Rollup, by_month, fold
from carbon.server.dashboard.tables import Column, Table, to_csv, to_json


@pytest.mark.parametrize(
    ("value", "top"), [(0.0, 1.0), (0.7, 1.0), (1.0, 1.0), (1.3, 2.0), (2.1, 2.5), (3.0, 5.0), (42.0, 50.0)]
)
def test_axis_top_is_the_next_round_number(value, top):
    assert nice_ceiling(value) == pytest.approx(top)


def test_bar_chart_carries_every_bar_and_its_range():
    bars = [Bar("2026-11-01", 0.5, 0.25, 1.0), Bar("2026-11-02", 0.0), Bar("2026-11-03", 2.0, 1.0, 4.0)]
    svg = bar_chart(bars, title="CO2e <by> day", unit="kg")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'data-points="3"' in svg and "CO2e &lt;by&gt; day" in svg  # escaped
    assert re.findall(r'class="bar"[^>]*data-label="([^"]+)" data-value="([^"]+)"', svg) == [
        ("2026-11-01", "0.5"),
        ("2026-11-02", "0.0"),
        ("2026-11-03", "2.0"),
    ]
    assert re.findall(r'data-low="([^"]+)" data-high="([^"]+)"', svg) == [("0.25", "1.0"), ("1.0", "4.0")]
    # Axis to 5 (the next round number above the highest whisker, 4): the 2.0 bar is 2/5 of the plot.
    heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([^"]+)"', svg)]
    plot_h = 240 - 12 - 36
    assert heights[2] == pytest.approx(plot_h * 2.0 / 5.0, abs=0.1)
    assert "no data" in bar_chart([], title="t", unit="kg")


def test_line_chart_marks_each_point_up_to_a_limit():
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    points = [LinePoint(start + timedelta(seconds=10 * i), 100.0 + i) for i in range(5)]
    svg = line_chart(points, title="power", unit="W")
    assert [float(v) for v in re.findall(r'<circle class="mark"[^>]*data-value="([^"]+)"', svg)] == [
        100.0,
        101.0,
        102.0,
        103.0,
        104.0,
    ]
    assert len(re.search(r'<polyline class="series" points="([^"]+)"', svg).group(1).split()) == 5
    many = line_chart(points * 100, title="power", unit="W", max_marks=50)
    assert "<circle" not in many and 'data-points="500"' in many


def test_exports_keep_raw_values_and_ranges():
    table = Table(
        "by_day",
        "By day",
        (Column("day", "Day"), Column("co2e_kg", "CO2e", "mass_kg", ranged=True)),
        [{"day": date(2026, 11, 2), "co2e_kg": 0.6, "co2e_kg_low": 0.3, "co2e_kg_high": 1.2}],
    )
    rows = list(csv.reader(io.StringIO(to_csv(table))))
    assert rows == [["day", "co2e_kg", "co2e_kg_low", "co2e_kg_high"], ["2026-11-02", "0.6", "0.3", "1.2"]]
    payload = json.loads(to_json(table))
    assert payload["rows"] == [{"day": "2026-11-02", "co2e_kg": 0.6, "co2e_kg_low": 0.3, "co2e_kg_high": 1.2}]
    with pytest.raises(ValueError):
        Column("x", "X", "pounds")


def _row(day, basis, kind, count, co2e):
    return {"day": day, "basis": basis, "kind": kind, "count": count, **dict.fromkeys(SUMMED, 0.0), "co2e_kg": co2e}


def test_folding_keeps_bases_apart_and_counts_runs_and_jobs():
    rows = [
        _row(date(2026, 10, 31), "lifecycle", "run", 2, 1.0),
        _row(date(2026, 11, 1), "lifecycle", "batch", 5, 2.0),
        _row(date(2026, 11, 1), "operational", "run", 1, 4.0),
        _row(date(2026, 11, 2), "", "run", 1, 8.0),  # unknown basis: its own block
    ]
    totals = {row["basis"]: (row["runs"], row["jobs"], row["co2e_kg"]) for row in fold(rows, ())}
    assert totals == {"lifecycle": (2, 5, 3.0), "operational": (1, 0, 4.0), "unknown": (1, 0, 8.0)}
    days = sorted(fold(rows, ("day",)), key=lambda r: (r["day"], r["basis"]))
    months = {(m["month"], m["basis"]): m["co2e_kg"] for m in by_month(days)}
    assert months == {
        ("2026-10", "lifecycle"): 1.0,
        ("2026-11", "lifecycle"): 2.0,
        ("2026-11", "operational"): 4.0,
        ("2026-11", "unknown"): 8.0,
    }
    rollup = Rollup(rows, [])
    assert [t.basis for t in rollup.totals] == ["unknown", "operational", "lifecycle"]  # largest first
    assert rollup.totals[2].first_day == date(2026, 10, 31) and rollup.totals[2].last_day == date(2026, 11, 1)


def test_latex_paragraph_one_sentence_per_basis():
    lifecycle = BasisTotal("lifecycle", 1, 3, Bounds(14.0, 10.5, 17.5), Bounds(0.7, 0.35, 1.4))
    operational = BasisTotal("operational", 0, 1, Bounds(6.0, 4.5, 7.5), Bounds(0.3, 0.15, 0.6))
    text = latex.paragraph("project ml_1", [lifecycle, operational])
    assert "project ml\\_1" in text  # escaped
    assert "On the lifecycle basis, 1 run and 3 batch jobs drew an estimated 14.0~kWh"  # 3 significant figures in text
    assert "corresponding to 700~gCO$_2$e (range 350~gCO$_2$e--1.40~kgCO$_2$e)" in text
    assert "On the operational basis, 1 batch job drew an estimated 6.00~kWh" in text
    assert "1~kg" not in text  # 0.7 + 0.3 never appears
    single = latex.paragraph("run r1", [lifecycle], detail="m5.large, aws:us-east-1")
    assert "(m5.large, aws:us-east-1; 1 run and 3 batch jobs, lifecycle emission-factor basis)" in single
    assert latex.document("run r1", []).count("@software{carbon_tool,") == 1


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.512, "0.512 s"), (42.0, "42 s"), (200.0, "3 min 20 s"), (18420.0, "5 h 07 min")]
)
def test_durations_read_as_long_as_needed(seconds, text):
    assert duration(seconds) == text
