"""The dashboard over HTTP on SQLite and PostgreSQL: sign-in, isolation, share links, figures per
basis, exports and the LaTeX download, with data ingested through the service's own routes.

Expected figures are the hand sums in tests/fixtures/dashboard_data.py, or sums of the tracker's
own run-log lines (the input), never the dashboard's output.
"""

from __future__ import annotations

import csv
import io
import json
import re
from html import escape

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from fixtures.dashboard_data import ingest, records_of, tracked_run
from fixtures.server_app import app_on, bearer, seed

from carbon.report import compare_regions_for, format_mass
from carbon.server import admin
from carbon.server.db import make_engine, session_factory, transaction


@pytest.fixture(scope="module")
def run_log(tmp_path_factory):
    return tracked_run(tmp_path_factory.mktemp("runs"))


@pytest.fixture
def site(database_url, run_log):
    tenant = seed(database_url)
    other = seed(database_url, org="globex", project="secret")
    with TestClient(app_on(database_url)) as client:
        ingest(client.post, tenant.ingest, run_log)
        ingest(client.post, other.ingest, run_log)  # the same data in another organisation
        yield client, tenant, other, database_url


def sign_in(client, token):
    answer = client.post("/dashboard/login", data={"token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return answer


def figures(html: str, name: str) -> dict[str, str]:
    """{basis: text} of the totals' figure `name` on a page."""
    found = {}
    for basis, block in re.findall(r'<article class="basis" data-basis="([^"]+)">(.*?)</article>', html, re.S):
        match = re.search(rf'data-figure="{name}"[^>]*>([^<]+)<', block)
        found[basis] = match.group(1) if match else None
    return found


def test_pages_need_a_read_token(site):
    client, tenant, _, _ = site
    answer = client.get("/dashboard/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard/login"
    assert client.get("/dashboard/p/ml/tables/by_day.csv", follow_redirects=False).status_code == 303
    assert client.get("/dashboard/p/ml/", headers=bearer("carbon_nope")).status_code == 401
    # An ingest-only token cannot read.
    refused = client.post("/dashboard/login", data={"token": tenant.ingest})
    assert refused.status_code == 401 and "lacks the read scope" in refused.text
    assert client.get("/dashboard/p/ml/", headers=bearer(tenant.ingest)).status_code == 401
    # A read token: cookie set HttpOnly, then the organisation page sends it to its project.
    cookie = sign_in(client, tenant.read).headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard/" in cookie
    home = client.get("/dashboard/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/dashboard/p/ml/"
    assert client.get("/dashboard/p/ml/").status_code == 200
    client.post("/dashboard/logout")
    assert client.get("/dashboard/p/ml/", follow_redirects=False).status_code == 303


def test_no_cross_organisation_reading(site):
    client, tenant, other, _ = site
    sign_in(client, tenant.admin)
    assert "secret" not in client.get("/dashboard/").text  # their project is not listed
    for path in ("/dashboard/p/secret/", "/dashboard/p/secret/tables/by_day.csv", "/dashboard/p/secret/carbon.tex"):
        assert client.get(path).status_code == 404, path
    assert "<h1>Not found</h1>" in client.get("/dashboard/p/secret/").text  # a page, for a browser
    # Their run and batch import (ids 2: ingested second), by id under our project's slug: 404.
    assert client.get("/dashboard/p/ml/runs/1/").status_code == 200
    assert client.get("/dashboard/p/ml/runs/2/").status_code == 404
    assert client.get("/dashboard/p/ml/batches/2/").status_code == 404
    assert client.get("/dashboard/p/ml/experiments/2/").status_code == 404
    # Their admin token sees their project and not ours; their totals are theirs alone.
    assert client.get("/dashboard/p/ml/", headers=bearer(other.admin)).status_code == 404
    theirs = client.get("/dashboard/p/secret/", headers=bearer(other.admin)).text
    ours = client.get("/dashboard/p/ml/").text
    assert figures(theirs, "co2e_kg") == figures(ours, "co2e_kg")  # same data, not doubled


def test_share_link_reads_one_project(site):
    client, tenant, _, url = site
    engine = make_engine(url)
    with transaction(session_factory(engine)) as session:
        admin.create_project(session, tenant.org, "other")
        link = admin.create_share(session, tenant.org, "ml")
    # The path `carbon serve admin create-share` prints leads to the dashboard's share route.
    short = client.get(f"/share/{link.secret}", follow_redirects=False)
    assert short.headers["location"] == f"/dashboard/share/{link.secret}"
    opened = client.get(f"/dashboard/share/{link.secret}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/dashboard/p/ml/"
    page = client.get("/dashboard/p/ml/")
    assert page.status_code == 200 and "read-only share" in page.text
    assert client.get("/dashboard/", follow_redirects=False).headers["location"] == "/dashboard/p/ml/"
    assert client.get("/dashboard/p/other/").status_code == 404
    with transaction(session_factory(engine)) as session:
        admin.revoke_share(session, link.id)
    engine.dispose()
    assert client.get("/dashboard/p/ml/", follow_redirects=False).status_code == 303  # back to sign-in
    assert client.get(f"/dashboard/share/{link.secret}").status_code == 404


def test_totals_per_basis_never_summed(site, run_log):
    client, tenant, _, _ = site
    sign_in(client, tenant.admin)
    html = client.get("/dashboard/p/ml/").text
    run = records_of(run_log)
    # The run is lifecycle-priced: lifecycle = its lines + jobs 1, 2, 4; operational = job 3 alone.
    lifecycle_kg = sum(r["co2e_kg"] for r in run) + 0.1 + 0.2 + 0.4
    assert figures(html, "co2e_kg") == {"lifecycle": format_mass(lifecycle_kg), "operational": format_mass(0.3)}
    assert figures(html, "co2e_kg_low")["operational"] == format_mass(0.15)
    assert figures(html, "co2e_kg_high")["operational"] == format_mass(0.6)
    assert figures(html, "jobs") == {"lifecycle": "3", "operational": "1"}
    assert html.count('<article class="basis"') == 2  # two blocks, no third one adding them up
    # Everyday equivalents of the operational total: 6 kWh of facility energy over the bundled
    # energy of one phone charge (read from the bundle's table, not from the code under test).
    from carbon.bundle import table

    per_charge = float(next(r["value"] for r in table("equivalents") if r["name"] == "smartphone_charge_kwh"))
    assert f"{6.0 / per_charge:,.0f} full smartphone charges" in html


def test_exports_hold_the_page_tables(site, run_log):
    client, tenant, _, _ = site
    sign_in(client, tenant.admin)
    by_day = json.loads(client.get("/dashboard/p/ml/tables/by_day.json").text)
    lifecycle = {row["day"]: row["co2e_kg"] for row in by_day["rows"] if row["basis"] == "lifecycle"}
    assert lifecycle["2026-10-03"] == pytest.approx(0.1)
    assert lifecycle["2026-11-02"] == pytest.approx(0.2 + 0.4)
    months = list(csv.DictReader(io.StringIO(client.get("/dashboard/p/ml/tables/by_month.csv").text)))
    nov = [row for row in months if row["month"] == "2026-11"]
    assert {row["basis"]: float(row["co2e_kg"]) for row in nov} == pytest.approx({"lifecycle": 0.6, "operational": 0.3})
    assert {"co2e_kg_low", "co2e_kg_high", "energy_kwh_low", "energy_kwh_high"} <= set(months[0])
    users = json.loads(client.get("/dashboard/p/ml/tables/by_user.json").text)["rows"]
    bob = {row["basis"]: row["co2e_kg"] for row in users if row["user"] == "bob"}
    assert bob == pytest.approx({"lifecycle": 0.2, "operational": 0.3})
    accounts = json.loads(client.get("/dashboard/p/ml/tables/by_account.json").text)["rows"]
    assert {(r["account"], r["basis"]): r["jobs"] for r in accounts} == {
        ("chem", "lifecycle"): 2,
        ("physics", "operational"): 1,
        ("physics", "lifecycle"): 1,
    }
    components = json.loads(client.get("/dashboard/p/ml/tables/by_component.json").text)["rows"]
    cpu = {r["basis"]: r["it_kwh"] for r in components if r["component"] == "cpu"}
    assert cpu["operational"] == pytest.approx(4.5)
    assert client.get("/dashboard/p/ml/tables/nope.csv").status_code == 404
    # Run listings page by ?page=N: one run here, so page 2 is empty; page 0 is refused.
    runs = json.loads(client.get("/dashboard/p/ml/experiments/1/tables/runs.json").text)["rows"]
    assert [r["run_id"] for r in runs] == [records_of(run_log)[0]["run_id"]]
    assert json.loads(client.get("/dashboard/p/ml/experiments/1/tables/runs.json?page=2").text)["rows"] == []
    assert client.get("/dashboard/p/ml/experiments/1/?page=0").status_code == 422
    assert client.get("/dashboard/p/ml/tables/by_day.xml").status_code == 404
    # Every table on every page exports in both formats.
    for page in ("/dashboard/", "/dashboard/p/ml/", "/dashboard/p/ml/experiments/1/", "/dashboard/p/ml/batches/1/"):
        links = set(re.findall(r'href="([^"]+/tables/[^"]+)"', client.get(page).text))
        assert links, page
        for link in links:
            answer = client.get(link)
            assert answer.status_code == 200, link
            assert "attachment" in answer.headers["content-disposition"]


def test_latex_download_holds_the_figures_shown(site, run_log):
    client, tenant, _, _ = site
    sign_in(client, tenant.admin)
    html = client.get("/dashboard/p/ml/").text
    tex = client.get("/dashboard/p/ml/carbon.tex").text
    for name in ("co2e_kg", "co2e_kg_low", "co2e_kg_high"):
        for shown in figures(html, name).values():
            assert shown.replace(" ", "~") + "CO$_2$e" in tex
    assert "2 emission-factor bases, reported separately" in tex
    assert "\\cite{carbon_tool}" in tex
    bib = client.get("/dashboard/p/ml/carbon.bib")
    assert bib.text.startswith("@software{carbon_tool,") and bib.headers["content-type"].startswith(
        "application/x-bibtex"
    )
    # The run's own snippet: its lines' sum.
    run_tex = client.get("/dashboard/p/ml/runs/1/carbon.tex").text
    assert format_mass(sum(r["co2e_kg"] for r in records_of(run_log))).replace(" ", "~") in run_tex
    assert "aws:eu-west-3" in run_tex


def test_run_page_charts_and_comparison(site, run_log):
    client, tenant, _, _ = site
    sign_in(client, tenant.admin)
    html = client.get("/dashboard/p/ml/runs/1/").text
    records = records_of(run_log)
    power = re.search(r'data-chart="power".*?</figure>', html, re.S).group(0)
    values = [float(v) for v in re.findall(r'<circle class="mark"[^>]*data-value="([^"]+)"', power)]
    assert values == pytest.approx([r["energy_kwh"] * 3.6e6 / r["duration_s"] for r in records])
    intensity = re.search(r'data-chart="intensity".*?</figure>', html, re.S).group(0)
    assert [float(v) for v in re.findall(r'data-value="([^"]+)"', intensity)] == pytest.approx(
        [r["intensity_g_per_kwh"] for r in records]
    )
    # The same IT energy (the lines' breakdown, before PUE) in AWS's lowest and highest regions.
    it_kwh = sum(sum(r["breakdown"][f"{c}_kwh"] for c in ("cpu", "gpu", "ram", "other")) for r in records)
    (basis,) = {r["intensity_basis"] for r in records}
    expected = compare_regions_for("aws", it_kwh, basis)  # on the run's own basis only
    assert f"{escape(format_mass(expected.lowest_co2e_kg))}</strong> in {expected.lowest_region}" in html
    assert f"{escape(format_mass(expected.highest_co2e_kg))}</strong> in {expected.highest_region}" in html
