"""Parsers that turn the public raw datasets into the bundled tables of `intensity_data/`.

One module per raw source; each exposes `build(raw: Path) -> list[Table]` (or a helper the
builder composes). Every parse error names the raw file, its line and the column, so that a
broken upstream release is diagnosed from the message alone.
"""
