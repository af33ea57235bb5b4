import json

import pytest

from carbon.cli import main
from carbon.regions import UnknownRegion, all_regions, resolve


@pytest.mark.parametrize(
    "code, zone, country",
    [
        ("FR", "FR", "FR"),
        ("fra", "FR", "FR"),
        ("France", "FR", "FR"),
        ("US-CA", "US-CA", "US"),
        ("ca-qc", "CA-QC", "CA"),
        ("aws:us-east-1", "US-VA", "US"),
        ("AWS:US-EAST-1", "US-VA", "US"),
        ("gcp:us-central1", "US-IA", "US"),
        ("azure:westeurope", "NL", "NL"),
    ],
)
def test_codes_resolve(code, zone, country):
    location = resolve(code)
    assert (location.zone, location.country) == (zone, country)


def test_bare_cloud_region_resolves_when_unambiguous():
    assert resolve("eu-west-1").region == "aws:eu-west-1"
    assert resolve("europe-west1").region == "gcp:europe-west1"


def test_world_is_explicit():
    assert resolve("WORLD").zone == "WORLD"


def test_unknown_suggests_closest():
    with pytest.raises(UnknownRegion, match=r"did you mean .*US-CA"):
        resolve("US-CAA")


def test_empty_region_is_an_error():
    with pytest.raises(UnknownRegion, match="no region given"):
        resolve("  ")


def test_every_cloud_region_resolves_to_a_priced_zone():
    from carbon.pricing import intensity_for

    for provider, minimum in (("aws", 30), ("gcp", 40), ("azure", 55)):
        regions = all_regions(provider)
        assert len(regions) >= minimum
        for location in regions:
            assert intensity_for(location).intensity_g_per_kwh.central > 0


def test_regions_cli_json(capsys):
    assert main(["regions", "--provider", "gcp", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(row["provider"] == "gcp" for row in rows)
    assert {"region", "zone", "intensity_g_per_kwh", "year", "basis"} <= set(rows[0])
