"""The dashboard in headless Chromium (Debian's `chromium`, driven by Playwright), served by
uvicorn on 127.0.0.1 with data ingested over HTTP: every page loads without a console error, no
request leaves 127.0.0.1, the charts hold the ingested points, the LaTeX download holds the
figures shown. A screenshot of each page is saved under the test's tmp_path.

Skipped only where Chromium or Playwright's Python package is missing, and never in CI: `.ci/run`
installs both and sets CARBON_TEST_REQUIRE_CHROMIUM, which turns that skip into an error.
Playwright's own browser downloads are never used (`executable_path` is the system's Chromium).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
try:
    from playwright import sync_api
except ImportError:
    sync_api = None
if sync_api is None or not Path(CHROMIUM).exists():
    missing = "Playwright's Python package" if sync_api is None else "Debian's chromium"
    if os.environ.get("CARBON_TEST_REQUIRE_CHROMIUM"):  # set by .ci/run: CI never skips these
        raise RuntimeError(f"{missing} is missing but CARBON_TEST_REQUIRE_CHROMIUM is set")
    pytest.skip(f"{missing} is not installed", allow_module_level=True)

import httpx
import uvicorn
from fixtures.dashboard_data import BATCH_ROWS, ingest, records_of, tracked_run
from fixtures.server_app import app_on, seed
from fixtures.server_db import fresh_database

from carbon.report import format_mass
from carbon.server import admin
from carbon.server.db import make_engine, session_factory, transaction

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def served(request, _templates, tmp_path):
    """The service on a loopback port (a real HTTP server), with the run log and batch rows ingested."""
    url = fresh_database("sqlite", request, _templates, tmp_path)
    tenant = seed(url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app_on(url), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    run_log = tracked_run(tmp_path / "runs")
    with httpx.Client(base_url=base, timeout=30) as client:
        ingest(client.post, tenant.ingest, run_log)
    try:
        yield base, tenant, url, run_log
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Watch:
    """Every request URL and every console error or page error of a page."""

    def __init__(self, page) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def visit(page, watch: Watch, url: str, shot: Path) -> None:
    before = len(watch.errors)
    answer = page.goto(url)
    assert answer is not None and answer.ok, f"{url}: {answer.status if answer else 'no answer'}"
    page.wait_for_load_state("load")
    page.screenshot(path=str(shot), full_page=True)
    assert watch.errors[before:] == [], f"console errors on {url}: {watch.errors[before:]}"


def test_dashboard_in_chromium(served, browser, tmp_path):
    base, tenant, _, run_log = served
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watch(page)

    # Sign in through the form.
    page.goto(f"{base}/dashboard/")
    assert page.url == f"{base}/dashboard/login"
    page.screenshot(path=str(tmp_path / "login.png"))
    page.fill("#token", tenant.admin)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard/")

    shots = {}
    for name, path in (
        ("organisation", "/dashboard/"),
        ("project", "/dashboard/p/ml/"),
        ("experiment", "/dashboard/p/ml/experiments/1/"),
        ("run", "/dashboard/p/ml/runs/1/"),
        ("batch", "/dashboard/p/ml/batches/1/"),
    ):
        shots[name] = tmp_path / f"{name}.png"
        visit(page, watch, base + path, shots[name])
        assert page.locator("h1").count() == 1

        if name == "project":
            # Daily chart of the lifecycle basis: a bar per day; the days with data hold the hand sums.
            bars = page.locator('[data-chart="day-lifecycle"] rect.bar')
            values = {
                bars.nth(i).get_attribute("data-label"): float(bars.nth(i).get_attribute("data-value"))
                for i in range(bars.count())
            }
            ran_on = records_of(run_log)[0]["start"][:10]
            run_kg = sum(r["co2e_kg"] for r in records_of(run_log))
            with_data = {day: kg for day, kg in values.items() if kg > 0}
            assert with_data == pytest.approx({"2026-10-03": 0.1, "2026-11-02": 0.6, ran_on: run_kg})
            months = page.locator('[data-chart="month-operational"] rect.bar')
            assert [months.nth(i).get_attribute("data-label") for i in range(months.count())] == ["2026-11"]

            # The LaTeX download holds the figures the page shows.
            shown = page.locator('[data-basis] [data-figure="co2e_kg"]').all_inner_texts()
            assert sorted(shown) == sorted([format_mass(0.3), format_mass(0.7 + run_kg)])
            with page.expect_download() as download:
                page.click("section.cite a:text('LaTeX')")
            tex = Path(download.value.path()).read_text()
            for figure in shown:
                assert figure.replace(" ", "~") + "CO$_2$e" in tex

        if name == "run":
            records = records_of(run_log)
            marks = page.locator('[data-chart="power"] circle.mark')
            assert marks.count() == len(records)
            powers = [float(marks.nth(i).get_attribute("data-value")) for i in range(marks.count())]
            assert powers == pytest.approx([r["energy_kwh"] * 3.6e6 / r["duration_s"] for r in records])
            assert page.locator('[data-chart="intensity"] circle.mark').count() == len(records)
            assert page.locator("section.comparison li[data-provider=aws]").count() == 1

        if name == "batch":
            assert page.locator("#table-jobs tbody tr").count() == len(BATCH_ROWS)

    # A share link: read-only, one project, in a fresh browser context.
    engine = make_engine(served[2])
    with transaction(session_factory(engine)) as session:
        link = admin.create_share(session, tenant.org, "ml")
    engine.dispose()
    shared = browser.new_context(viewport={"width": 1280, "height": 900})
    shared_page = shared.new_page()
    shared_watch = Watch(shared_page)
    visit(shared_page, shared_watch, f"{base}/dashboard/share/{link.secret}", tmp_path / "shared.png")
    assert shared_page.url == f"{base}/dashboard/p/ml/"
    assert "read-only share" in shared_page.inner_text("header.top")

    every = watch.requests + shared_watch.requests
    assert every and all(url.startswith("http://127.0.0.1:") for url in every), [
        url for url in every if not url.startswith("http://127.0.0.1:")
    ]
    assert any(url.endswith("/dashboard/static/style.css") for url in every)
    for shot in [*shots.values(), tmp_path / "login.png", tmp_path / "shared.png"]:
        assert shot.stat().st_size > 10_000, shot
    context.close()
    shared.close()
