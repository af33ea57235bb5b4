"""Every dataset the bundle is built from: its citation, and where the updater downloads it.

`SOURCES` is written into `manifest.json` as the `sources` map (id -> title, url, licence, year,
retrieved, commit); table rows name a source by its id. `DATASETS` says, per folder of the raw
layout (the layout of `../shared/datasets`), which upstream base URL the online mode fetches the
files from; each base URL can be overridden with an environment variable, and
`CARBON_DATASETS_MIRROR` points every folder at one mirror laid out like the raw folder.
Only sources whose licence allows redistribution are listed.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCES: dict[str, dict[str, str | int]] = {
    "ember-yearly": {
        "title": "Ember - Yearly Electricity Data (country overview)",
        "licence": "CC BY 4.0",
        "year": 2024,
        "url": "https://github.com/ember-climate/ember-data-api/blob/main/data/api_country_overview_yearly.csv",
        "retrieved": "2025-05-21",
        "commit": "ae39f58784e483c1febab076a03c2af70edd3b70",
    },
    "ember-monthly": {
        "title": "Ember - Monthly Electricity Data (country overview)",
        "licence": "CC BY 4.0",
        "year": 2025,
        "url": "https://github.com/ember-climate/ember-data-api/blob/main/data/api_country_overview_monthly.csv",
        "retrieved": "2025-05-21",
        "commit": "02ce82d403b50d2cd2acd792505411088891b34e",
    },
    "ember-us": {
        "title": "Ember - US state electricity data (yearly and monthly)",
        "licence": "CC BY 4.0",
        "year": 2024,
        "url": "https://github.com/ember-climate/ember-data-api/blob/main/data/api_overview_usa_yearly.csv",
        "retrieved": "2025-04-02",
        "commit": "823350fd85fd70fb94ec59a4c69de01aed4bfaf1",
    },
    "ember-in": {
        "title": "Ember - Indian state electricity data (yearly and monthly)",
        "licence": "CC BY 4.0",
        "year": 2024,
        "url": "https://github.com/ember-climate/ember-data-api/blob/main/data/api_overview_ind_yearly.csv",
        "retrieved": "2025-04-02",
        "commit": "8f141326209b2310c9a5bd016e493b38b19ecc2d",
    },
    "eccc-nir-2022": {
        "title": "ECCC National Inventory Report 2022, Annex 13: electricity generation intensity by province",
        "licence": "Open Government Licence - Canada",
        "year": 2020,
        "url": "https://data.ec.gc.ca/data/substances/monitor/canada-s-official-greenhouse-gas-inventory/",
        "retrieved": "2022-11-25",
        "commit": "b9aaf559fa891a9c9c8119c6378908c959553106",
    },
    "eccc-projections-2021": {
        "title": "ECCC Canada's GHG and air pollutant emissions projections 2021: electricity grid intensity "
        "(historical years only)",
        "licence": "Open Government Licence - Canada",
        "year": 2019,
        "url": "https://github.com/leachandrew/NIR/tree/main/Energy-Energie",
        "retrieved": "2022-04-29",
        "commit": "f18ed025b09121d397a6a44d5d95f70c1ddcb327",
    },
    "egrid2022": {
        "title": "US EPA eGRID2022 subregion output emission rates",
        "licence": "US public domain (EPA)",
        "year": 2022,
        "url": "https://www.epa.gov/egrid (via github.com/nickmmark/icu-ghg-calculator, MIT)",
        "retrieved": "2025-10-09",
        "commit": "545a98ec7c345aa2f41a3ca191a9dcb98f52a253",
    },
    "eia930-2022": {
        "title": "EIA-930 hourly generation by fuel, 8 balancing authorities, with IPCC AR5 lifecycle factors "
        "(HPE SustainDC dc-rl)",
        "licence": "US public domain (EIA); repository MIT",
        "year": 2022,
        "url": "https://github.com/HewlettPackard/dc-rl/tree/main/data/CarbonIntensity",
        "retrieved": "2024-05-24",
        "commit": "6f66e82",
    },
    "google-region-carbon": {
        "title": "Google Cloud region carbon data (region-carbon-info)",
        "licence": "Apache-2.0",
        "year": 2024,
        "url": "https://github.com/GoogleCloudPlatform/region-carbon-info",
        "retrieved": "2025-12-03",
        "commit": "49f3f26bfd682305e8d9b572fea1f811900421a9",
    },
    "ccf-coefficients": {
        "title": "Cloud Carbon Footprint ccf-coefficients (SPECpower-derived W per vCPU by microarchitecture)",
        "licence": "Apache-2.0",
        "year": 2026,
        "url": "https://github.com/cloud-carbon-footprint/ccf-coefficients",
        "retrieved": "2026-04-24",
        "commit": "b0032d928c787cf76cecd7d1d611c5b46f366e29",
    },
    "ccf-app": {
        "title": "Cloud Carbon Footprint application constants (PUE, memory coefficient, fallbacks)",
        "licence": "Apache-2.0",
        "year": 2023,
        "url": "https://github.com/cloud-carbon-footprint/cloud-carbon-footprint/tree/trunk/packages",
        "retrieved": "2024-03-25",
        "commit": "b7a049c7d25c0022919ab9010199dd9e77aa4577",
    },
    "codecarbon-cpu": {
        "title": "CodeCarbon CPU TDP table (cpu_power.csv)",
        "licence": "MIT",
        "year": 2026,
        "url": "https://github.com/mlco2/codecarbon/blob/master/codecarbon/data/hardware/cpu_power.csv",
        "retrieved": "2026-08-08",
        "commit": "b05965e43b690cdc53787c7577adbe6e2caf4ed9",
    },
    "green-algorithms": {
        "title": "Green Algorithms calculator data v3.0 (TDP, PUE defaults, reference values)",
        "licence": "CC BY 4.0",
        "year": 2025,
        "url": "https://github.com/GreenAlgorithms/green-algorithms-tool",
        "retrieved": "2025-02-05",
        "commit": "30df2feead1c7f5db87a3d86ca1239470a0cd415",
    },
    "mlco2-impact": {
        "title": "ML CO2 Impact calculator data (gpus.csv, impact.csv)",
        "licence": "MIT",
        "year": 2026,
        "url": "https://github.com/mlco2/impact/tree/master/data",
        "retrieved": "2026-03-09",
        "commit": "d0d3ee5a71ea222ac344a94900642ed2ce649af4",
    },
    "specpower": {
        "title": "SPECpower_ssj2008 results as scraped by ccf-coefficients (data/SPECpower-2026-03-09.csv): "
        "per-thread idle and full-load watts, cores and threads per chip derived from them",
        "licence": "SPEC results (SPEC fair-use rules); only derived figures are bundled",
        "year": 2026,
        "url": "https://www.spec.org/power_ssj2008/results/",
        "retrieved": "2026-04-24",
        "commit": "b0032d928c787cf76cecd7d1d611c5b46f366e29",
    },
    "teads-ec2": {
        "title": "Teads Engineering AWS EC2 carbon emissions dataset (via valohai/wattson)",
        "licence": "CC BY 4.0",
        "year": 2021,
        "url": "https://github.com/valohai/wattson/tree/main/data",
        "retrieved": "2022-05-26",
        "commit": "4d0d2e6e1503d173f27f6067e56207ce435d0be4",
    },
    "carbon-aware-sdk": {
        "title": "Green Software Foundation carbon-aware-sdk Azure region coordinates",
        "licence": "MIT",
        "year": 2024,
        "url": "https://github.com/Green-Software-Foundation/carbon-aware-sdk",
        "retrieved": "2025-05-13",
        "commit": "e6de58da895e5936b43ee66dbce925345bd88d02",
    },
    "provider-docs": {
        "title": "Cloud providers' region lists (AWS region billing codes, Google Cloud regions and zones, "
        "Azure regions list), hand-curated in scripts/region_catalog.csv",
        "licence": "facts (no copyright)",
        "year": 2025,
        "url": "https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-region-billing-codes.html",
        "retrieved": "2026-11-29",
        "commit": "",
    },
    "iso-codes": {
        "title": "ISO 3166-1 and 3166-2 codes (Debian iso-codes 4.15)",
        "licence": "LGPL-2.1+ (code lists are facts)",
        "year": 2023,
        "url": "https://salsa.debian.org/iso-codes-team/iso-codes",
        "retrieved": "2026-11-29",
        "commit": "",
    },
    "iso-3166-2-changes": {
        "title": "ISO 3166-2 code changes (ISO 3166 Maintenance Agency; India: IN-CT, IN-OR, IN-TG, IN-UT "
        "became IN-CG, IN-OD, IN-TS, IN-UK on 2023-11-23), curated in scripts/iso3166_2.csv",
        "licence": "facts (no copyright)",
        "year": 2023,
        "url": "https://www.iso.org/obp/ui/#iso:code:3166:IN",
        "retrieved": "2026-12-03",
        "commit": "",
    },
    "aws-pue": {
        "title": "AWS sustainability: data centers (global PUE)",
        "licence": "facts (cited figure)",
        "year": 2024,
        "url": "https://aws.amazon.com/sustainability/data-centers/",
        "retrieved": "2026-11-29",
        "commit": "",
    },
    "dcd-pue-2024": {
        "title": "DatacenterDynamics: AWS global data centers achieved PUE of 1.15 in 2023 (also Google, Microsoft)",
        "licence": "facts (cited figure)",
        "year": 2023,
        "url": "https://www.datacenterdynamics.com/en/news/aws-global-data-centers-achieved-pue-of-115-in-2023/",
        "retrieved": "2026-11-29",
        "commit": "",
    },
    "eia-household": {
        "title": "EIA FAQ: How much electricity does an American home use?",
        "licence": "US public domain (EIA)",
        "year": 2020,
        "url": "https://www.eia.gov/tools/faqs/faq.php?id=97&t=3",
        "retrieved": "2026-11-29",
        "commit": "",
    },
    "epa-equivalencies": {
        "title": "US EPA Greenhouse Gas Equivalencies Calculator - Calculations and References",
        "licence": "US public domain (EPA)",
        "year": 2024,
        "url": "https://www.epa.gov/energy/greenhouse-gases-equivalencies-calculator-calculations-and-references",
        "retrieved": "2026-11-29",
        "commit": "",
    },
    "iea-streaming-2020": {
        "title": "IEA (2020), The carbon footprint of streaming video: fact-checking the headlines",
        "licence": "facts (cited figure)",
        "year": 2020,
        "url": "https://www.iea.org/commentaries/the-carbon-footprint-of-streaming-video-fact-checking-the-headlines",
        "retrieved": "2026-11-29",
        "commit": "",
    },
    "nvidia-datasheets": {
        "title": "NVIDIA data-centre GPU datasheets (A10, H100, H200, B200, RTX PRO 6000 Server, Tesla M60, GRID K520), "
        "hand-curated in scripts/gpu_aliases.csv",
        "licence": "facts (cited figure)",
        "year": 2024,
        "url": "https://www.nvidia.com/en-us/data-center/h200/",
        "retrieved": "2026-11-29",
        "commit": "",
    },
    "habana-datasheets": {
        "title": "Habana Labs Gaudi HL-205 mezzanine card product brief, hand-curated in scripts/gpu_aliases.csv",
        "licence": "facts (cited figure)",
        "year": 2021,
        "url": "https://habana.ai/products/gaudi/",
        "retrieved": "2026-12-03",
        "commit": "",
    },
    "qualcomm-datasheets": {
        "title": "Qualcomm Cloud AI 100 product brief (Standard PCIe card), hand-curated in scripts/gpu_aliases.csv",
        "licence": "facts (cited figure)",
        "year": 2023,
        "url": "https://www.qualcomm.com/products/technology/processors/cloud-artificial-intelligence/cloud-ai-100",
        "retrieved": "2026-12-03",
        "commit": "",
    },
    "carbon-default": {
        "title": "carbon project default (GUIDE): on-premises PUE 1.0 unless given",
        "licence": "MIT",
        "year": 2026,
        "url": "README.md (Methodology)",
        "retrieved": "2026-11-29",
        "commit": "",
    },
}


@dataclass(frozen=True)
class Dataset:
    """A folder of the raw layout and the upstream it mirrors: local path = folder/prefix + file."""

    folder: str
    env: str
    base_url: str
    prefix: str
    files: tuple[str, ...]
    optional: tuple[str, ...] = ()  # newer releases fetched when published (a 404 is not an error)


DATASETS: tuple[Dataset, ...] = (
    Dataset(
        "ember",
        "CARBON_URL_EMBER",
        "https://raw.githubusercontent.com/ember-climate/ember-data-api/HEAD/",
        "",
        (
            "data/api_country_overview_yearly.csv",
            "data/api_country_overview_monthly.csv",
            "data/api_overview_usa_yearly.csv",
            "data/api_overview_usa_monthly.csv",
            "data/api_overview_ind_yearly.csv",
            "data/api_overview_ind_monthly.csv",
        ),
    ),
    Dataset(
        "canada-eccc",
        "CARBON_URL_ECCC",
        "https://raw.githubusercontent.com/leachandrew/NIR/HEAD/",
        "",
        (
            "EN_Electricity_Can_Prov_Terr.xlsx",
            "Energy-Energie/Grid-O&G-Intensities-Intensites-Reseau-Delectricite-P&G/"
            "Electricity-grid-intensities-intensites-reseau-delectricite-1.csv",
        ),
    ),
    Dataset(
        "egrid2022",
        "CARBON_URL_EGRID",
        "https://raw.githubusercontent.com/nickmmark/icu-ghg-calculator/HEAD/",
        "",
        ("data/subregion_emissions_annotated.csv",),
    ),
    Dataset(
        "eia930-hourly-2022",
        "CARBON_URL_EIA930",
        "https://raw.githubusercontent.com/HewlettPackard/dc-rl/HEAD/",
        "",
        tuple(
            f"data/CarbonIntensity/{ba}_NG_&_avgCI.csv"
            for ba in ("AZPS", "BPAT", "CISO", "ERCO", "MISO", "NYIS", "PJM", "SOCO")
        ),
    ),
    Dataset(
        "google-region-carbon-info",
        "CARBON_URL_GOOGLE",
        "https://raw.githubusercontent.com/GoogleCloudPlatform/region-carbon-info/HEAD/",
        "region-carbon-info/",
        tuple(f"data/yearly/{year}.csv" for year in range(2019, 2025)),
        tuple(f"data/yearly/{year}.csv" for year in range(2025, 2031)),
    ),
    Dataset(
        "cloud-carbon-footprint",
        "CARBON_URL_CCF",
        "https://raw.githubusercontent.com/cloud-carbon-footprint/ccf-coefficients/HEAD/",
        "ccf-coefficients/",
        ("output/coefficients-aws-use.csv", "output/coefficients-gcp-use.csv", "output/coefficients-azure-use.csv")
        + ("output/coefficients-aws-embodied.csv", "output/coefficients-gcp-embodied.csv")
        + ("output/coefficients-azure-embodied.csv", "data/aws-instances.csv", "data/aws-instances-latest-2026.csv")
        + ("data/gcp-instances.csv", "data/azure-instances.csv")
        + tuple(
            f"data/{name}.csv"
            for name in (
                "intel-sandybridge",
                "intel-ivybridge",
                "intel-haswell",
                "intel-broadwell",
                "intel-skylake",
                "intel-skylake-server",
                "intel-skylake-client",
                "intel-coffeelake",
                "intel-cascadelake",
                "intel-icelake",
                "intel-sapphirerapids",
                "intel-emeraldrapids",
                "intel-graniterapids",
                "amd-epyc-gen1",
                "amd-epyc-gen2",
                "amd-epyc-gen3",
                "amd-epyc-gen4",
                "amd-epyc-gen5",
                "amd-neoverse-n1",
                "SPECpower-2026-03-09",
            )
        ),
    ),
    Dataset(
        "codecarbon",
        "CARBON_URL_CODECARBON",
        "https://raw.githubusercontent.com/mlco2/codecarbon/HEAD/",
        "codecarbon/",
        ("codecarbon/data/hardware/cpu_power.csv",),
    ),
    Dataset(
        "green-algorithms",
        "CARBON_URL_GREEN_ALGORITHMS",
        "https://raw.githubusercontent.com/GreenAlgorithms/green-algorithms-tool/HEAD/",
        "green-algorithms-tool/",
        (
            "data/latest/TDP_cpu.csv",
            "data/latest/TDP_gpu.csv",
            "data/latest/defaults_PUE.csv",
            "data/latest/referenceValues.csv",
            "data/latest/cloudProviders_datacenters.csv",
        ),
    ),
    Dataset(
        "mlco2-impact",
        "CARBON_URL_MLCO2",
        "https://raw.githubusercontent.com/mlco2/impact/HEAD/",
        "",
        ("data/gpus.csv", "data/impact.csv"),
    ),
    Dataset(
        "teads-ec2",
        "CARBON_URL_TEADS",
        "https://raw.githubusercontent.com/valohai/wattson/HEAD/",
        "valohai-wattson/",
        ("data/aws_instances_dataset.csv",),
    ),
    Dataset(
        "carbon-aware-sdk",
        "CARBON_URL_CARBON_AWARE_SDK",
        "https://raw.githubusercontent.com/Green-Software-Foundation/carbon-aware-sdk/HEAD/",
        "",
        ("src/data/location-sources/azure-regions.json",),
    ),
)


def raw_paths() -> list[str]:
    """Every raw file the build reads, relative to the datasets root."""
    return [f"{d.folder}/{d.prefix}{name}" for d in DATASETS for name in d.files]
