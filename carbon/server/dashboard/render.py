"""Jinja2 templates from the package, autoescaped, with the number formats of carbon.report."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from carbon.server.dashboard import figures
from carbon.server.dashboard.tables import Column, Table

TEMPLATES = Path(__file__).with_name("templates")


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return str(value)


def _cell(column: Column, row: dict[str, Any]) -> str:
    value = row.get(column.key)
    if value is None:
        return "–"
    show = _FORMATS.get(column.kind)
    if show is None:
        return str(value)
    text = show(value)
    if column.ranged:
        text += f" ({show(row[column.key + '_low'])} – {show(row[column.key + '_high'])})"
    return text


_FORMATS = {
    "mass_kg": figures.mass,
    "energy_kwh": figures.energy,
    "count": figures.count,
    "duration_s": figures.duration,
    "intensity": lambda value: f"{value:.4g}",
    "power_w": lambda value: f"{value:.4g}",
    "datetime": lambda value: _when(value),
}


def cells(table: Table) -> list[list[tuple[str, str, str | None]]]:
    """(kind, text, link) for every cell: formatted here rather than by a template macro per cell,
    which costs ten times as much on a long table."""
    links = [table.links.get(column.key) for column in table.columns]
    return [
        [
            (column.kind, _cell(column, row), row.get(link) if link else None)
            for column, link in zip(table.columns, links)
        ]
        for row in table.rows
    ]


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        mass=figures.mass,
        energy=figures.energy,
        count=figures.count,
        equivalent=figures.equivalent_text,
        when=_when,
        cells=cells,
    )
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    from carbon import __version__
    from carbon.server.dashboard.routes import root_url

    root = root_url(request)
    html = (
        environment()
        .get_template(template)
        .render(
            root_url=root,
            static_url=lambda name: f"{root}static/{name}",
            version=__version__,
            **context,
        )
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            # Nothing but this server: no CDN, no external font, no inline script.
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; frame-ancestors 'none'",
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
        },
    )
