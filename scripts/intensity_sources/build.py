"""Build every table from a raw-data folder, validate, and write the bundle plus its manifest.

Nothing is written unless every table builds and validates; files are then replaced one by one
through temporary files, and the manifest last, so a reader never sees a half-written file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from carbon import manifest as manifest_io

from . import eccc, egrid, eia930, ember, embodied, google, hardware, reference, regions, validate
from .sources import SOURCES
from .table import Table


def build_tables(raw: Path) -> list[Table]:
    countries, countries_monthly = ember.countries(raw)
    us_in_rows, us_in_origin = ember.subdivisions_yearly(raw)
    ca_rows, ca_origin = eccc.subdivisions_yearly(raw)
    subdivisions = Table(
        "subdivisions",
        tuple(us_in_rows + ca_rows),
        "Yearly grid carbon intensity of US states (+DC, PR; Ember, lifecycle), Indian states (Ember, lifecycle) "
        "and Canadian provinces/territories (ECCC NIR generation intensity, direct)",
        ("ember-us", "ember-in", "eccc-nir-2022", "eccc-projections-2021", "iso-codes"),
        {"intensity_g_per_kwh": "gCO2e/kWh (basis per row)"},
        tuple(us_in_origin + ca_origin),
    )
    pue = reference.pue(raw)
    cpus = hardware.cpus(raw)
    tables = [
        countries,
        countries_monthly,
        subdivisions,
        ember.subdivisions_monthly(raw),
        eia930.build(raw),
        egrid.build(raw),
        google.build(raw),
        cpus,
        hardware.microarchitectures(raw),
        hardware.gpus(raw),
        pue,
        reference.constants(raw, cpus),
        reference.equivalents(raw),
        embodied.build(raw),
        regions.build(raw, pue, {r[0] for r in subdivisions.rows}),
        regions.subdivision_aliases(),
    ]
    tables = [t.sorted() for t in tables]
    validate.check(tables)
    return tables


def sources_map(overrides: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The manifest's `sources` map; `overrides` (e.g. a new retrieval date when run online) apply to all."""
    return {
        key: {**value, **(overrides or {})} if key in _RAW_SOURCES else dict(value) for key, value in SOURCES.items()
    }


_RAW_SOURCES = {
    "ember-yearly",
    "ember-monthly",
    "ember-us",
    "ember-in",
    "eccc-nir-2022",
    "eccc-projections-2021",
    "egrid2022",
    "eia930-2022",
    "google-region-carbon",
    "ccf-coefficients",
    "specpower",
    "codecarbon-cpu",
    "green-algorithms",
    "mlco2-impact",
    "teads-ec2",
    "carbon-aware-sdk",
}


def _entry(table: Table, data: bytes, sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    import hashlib

    used = sorted(set(table.sources))
    dropped = {"dropped": table.dropped} if table.dropped else {}
    notes = {"notes": list(table.notes)} if table.notes else {}
    return {
        **dropped,
        **notes,
        "file": table.file,
        "description": table.description,
        "sources": used,
        "licence": "; ".join(sorted({str(sources[s]["licence"]) for s in used})),
        "retrieved": str(sources[table.sources[0]]["retrieved"]),  # the primary source dates the table
        "years": table.years(),
        "units": table.units,
        "rows": len(table.rows),
        "sha256": hashlib.sha256(data).hexdigest(),
        "columns": list(table.columns),
    }


def write(tables: list[Table], out: Path, sources: dict[str, dict[str, Any]]) -> list[str]:
    """Write the tables and merge their entries into the manifest; returns the files written."""
    rendered = [(t, t.render()) for t in tables]
    entries = [_entry(t, data, sources) for t, data in rendered]
    manifest = manifest_io.merge_entries(manifest_io.load(out), entries)
    manifest["sources"] = {**manifest.get("sources", {}), **sources}
    text = manifest_io.dumps(manifest).encode("utf-8")
    out.mkdir(parents=True, exist_ok=True)
    for table, data in rendered:
        _replace(out / table.file, data)
    _replace(out / manifest_io.MANIFEST_NAME, text)
    return [t.file for t in tables] + [manifest_io.MANIFEST_NAME]


def _replace(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def write_region_figures(out: Path) -> str:
    """`region_figures.json` from the tables now in `out`, and its manifest entry: the central figures
    of every cloud region, so that `carbon estimate` does not price each region at every start."""
    import hashlib

    from carbon import bundle, region_figures

    previous = os.environ.get("CARBON_DATA_DIR")
    os.environ["CARBON_DATA_DIR"] = str(out)
    bundle.clear_cache()
    try:
        data = region_figures.dumps(region_figures.document()).encode("utf-8")
    finally:
        if previous is None:
            del os.environ["CARBON_DATA_DIR"]
        else:
            os.environ["CARBON_DATA_DIR"] = previous
        bundle.clear_cache()
    manifest = manifest_io.load(out)
    inputs = {f"{name}.csv" for name in region_figures.INPUTS}
    dates = [str(e["retrieved"]) for e in manifest.get("files", []) if e["file"] in inputs and e.get("retrieved")]
    entry = {
        **({"retrieved": max(dates)} if dates else {}),  # as old as the newest table it comes from
        "file": region_figures.FILE_NAME,
        "description": "central PUE and intensity of every cloud region (derived; recomputed when its inputs differ)",
        "derived_from": [f"{name}.csv" for name in region_figures.INPUTS],
        "licence": "derived from the tables it names; their licences apply",
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    manifest = manifest_io.merge_entries(manifest, [entry])
    _replace(out / region_figures.FILE_NAME, data)
    _replace(out / manifest_io.MANIFEST_NAME, manifest_io.dumps(manifest).encode("utf-8"))
    return region_figures.FILE_NAME
