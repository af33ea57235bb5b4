"""The estimate API answers what the CLI answers, key for key, and refuses bad input in one line."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from fixtures.server_app import app_on

from carbon.cli import main


@pytest.fixture
def client(tmp_path):
    with TestClient(app_on(f"sqlite:///{tmp_path / 'c.db'}", migrate=True, max_body_bytes=4096)) as client:
        yield client


def cli_json(capsys, *argv: str):
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("body", "argv"),
    [
        (
            {"region": "aws:us-east-1", "instance_type": "m5.xlarge", "duration": "1h", "cpu_util": 0.5},
            ["--region", "aws:us-east-1", "--instance-type", "m5.xlarge", "--duration", "1h", "--cpu-util", "0.5"],
        ),
        ({"region": "FR", "energy_kwh": 12.5}, ["--region", "FR", "--energy-kwh", "12.5"]),
        (
            {"region": "DE", "cpus": 8, "memory_gb": 32, "duration": "90m", "start": "2023-07-14T09:00:00Z"},
            ["--region", "DE", "--cpus", "8", "--memory-gb", "32", "--duration", "90m", "--start", "2023-07-14T09:00Z"],
        ),
        (
            {
                "region": "US-CA",
                "cpus": 4,
                "gpus": 1,
                "gpu_model": "A100 SXM4 80GB",
                "gpu_util": "80%",
                "duration": 7200,
            },
            ["--region", "US-CA", "--cpus", "4", "--gpus", "1", "--gpu-model", "A100 SXM4 80GB", "--gpu-util", "80%"]
            + ["--duration", "2h"],
        ),
    ],
)
def test_estimate_is_the_cli_json(client, capsys, body, argv):
    response = client.post("/v1/estimate", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == cli_json(capsys, "estimate", *argv, "--format", "json")


def test_hand_checked_energy_estimate(client):
    # 10 kWh IT energy in FR; facility energy = 10 x PUE; CO2e = facility kWh x intensity / 1000.
    payload = client.post("/v1/estimate", json={"region": "FR", "energy_kwh": 10}).json()
    assert payload["energy_kwh"] == pytest.approx(10 * payload["pue"])
    assert payload["co2e_kg"] == pytest.approx(payload["energy_kwh"] * payload["intensity_g_per_kwh"] / 1000)
    assert payload["location"]["zone"] == "FR"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"region": "Atlantis", "energy_kwh": 1}, "unknown region 'Atlantis'"),
        ({"region": "FR"}, "--duration"),
        ({"region": "FR", "energy_kwh": -1}, "body.energy_kwh"),
        ({"region": "FR", "energy_kwh": 1, "colour": "red"}, "body.colour"),
        ({"region": "FR", "cpus": 2, "duration": "3 fortnights"}, "duration"),
        ({"region": "FR", "cpus": 2, "duration": "1h", "cpu_util": "150%"}, "cpu_util"),
        ({"region": "FR", "energy_kwh": 1, "year": 2023, "start": "2023-01-01T00:00:00Z"}, "year or start"),
        ({"energy_kwh": 1}, "body.region"),
    ],
)
def test_bad_input_is_one_line_422(client, body, words):
    response = client.post("/v1/estimate", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    assert words in detail


def test_body_not_json_is_422(client):
    response = client.post("/v1/estimate", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)


def test_oversized_body_is_413(client):
    body = json.dumps({"region": "FR", "energy_kwh": 1, "cpu_model": "x" * 5000})
    response = client.post("/v1/estimate", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_regions_are_the_cli_rows(client, capsys):
    assert client.get("/v1/regions", params={"provider": "gcp"}).json() == cli_json(
        capsys, "regions", "--provider", "gcp", "--format", "json"
    )
    assert len(client.get("/v1/regions").json()) > len(client.get("/v1/regions?provider=gcp").json())
    assert client.get("/v1/regions", params={"provider": "ibm"}).status_code == 422


def test_intensity_is_the_cli_value(client, capsys):
    at = "2023-07-14T09:00:00Z"
    assert client.get("/v1/intensity/FR", params={"at": at}).json() == cli_json(
        capsys, "intensity", "FR", "--at", at, "--format", "json"
    )
    span = {"from": "2023-01-01T00:00:00Z", "to": "2023-03-01T00:00:00Z"}
    series = client.get("/v1/intensity/DE", params=span)
    assert series.status_code == 200
    assert series.json() == cli_json(
        capsys, "intensity", "DE", "--from", span["from"], "--to", span["to"], "--format", "json"
    )
    missing = client.get("/v1/intensity/QQ")
    assert missing.status_code == 404
    assert "QQ" in missing.json()["detail"]
    assert client.get("/v1/intensity/FR", params={"from": "2023-01-01T00:00:00Z"}).status_code == 422


def test_hardware_lookup(client):
    # AWS documents m5.xlarge as 4 vCPUs and 16 GiB.
    found = client.get("/v1/hardware/aws/m5.xlarge").json()
    assert found["method"] == "catalog"
    assert found["hardware"]["vcpus"] == 4
    assert found["hardware"]["memory_gb"] == pytest.approx(16 * 2**30 / 1e9)  # 16 GiB in decimal GB
    guessed = client.get("/v1/hardware/aws/m5.5xlarge").json()
    assert guessed["method"] == "family estimate" and guessed["warnings"]
    assert guessed["hardware"]["vcpus"] == 20  # 5 x the 4 vCPUs of an xlarge
    assert client.get("/v1/hardware/aws/zz").status_code == 404
    assert client.get("/v1/hardware/ibm/bx2-2x8").status_code == 404


def test_openapi_has_examples(client):
    schema = client.get("/openapi.json").json()
    assert "/v1/estimate" in schema["paths"]
    request = schema["components"]["schemas"]["EstimateRequest"]
    assert request["examples"][0]["region"] == "aws:us-east-1"


def test_intensity_through_the_configured_live_chain(tmp_path, monkeypatch):
    """With `intensity_sources = electricitymaps,bundled` the route answers the live API's value
    (a loopback double speaking its protocol), like `carbon intensity` does."""
    from datetime import datetime, timezone

    from fixtures.electricitymaps_api import ElectricityMapsApi
    from fixtures.intensity_bundle import clear_caches

    config_file = tmp_path / "carbon.toml"
    config_file.write_text("", encoding="utf-8")
    monkeypatch.setenv("CARBON_CONFIG", str(config_file))
    monkeypatch.setenv("CARBON_CACHE_DIR", str(tmp_path / "cache"))
    api = ElectricityMapsApi().start()
    try:
        monkeypatch.setenv("CARBON_ELECTRICITYMAPS_URL", api.base)
        monkeypatch.setenv("CARBON_INTENSITY_SOURCES", "electricitymaps,bundled")
        monkeypatch.setenv("CARBON_ELECTRICITYMAPS_TOKEN", "em-test-token")
        monkeypatch.setenv("CARBON_HTTP_TIMEOUT_S", "0.5")
        clear_caches()
        api.set_hour("FR", datetime(2024, 3, 5, 10, tzinfo=timezone.utc), 47.0)
        with TestClient(app_on(f"sqlite:///{tmp_path / 'c.db'}", migrate=True)) as client:
            row = client.get("/v1/intensity/FR", params={"at": "2024-03-05T10:30:00Z"}).json()
        assert (row["intensity_g_per_kwh"], row["start"], row["granularity"]) == (47.0, "2024-03-05T10:00:00Z", "hour")
    finally:
        api.stop()
        clear_caches()
