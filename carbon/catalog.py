"""Hardware lookups in the bundled catalogs: instance types, CPU models, GPU models.

An instance type the catalog does not list is estimated from its siblings in the same family
(same vCPU-to-memory ratio and CPU platform), and the caller is told so: a guess is never silent.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

from carbon.bundle import derived, line_after, optional_float, parse_rows, table, table_searchable
from carbon.hardware_names import cpu_key, gpu_key
from carbon.model import Bounds, Hardware
from carbon.units import gib_to_gb

# AWS size names -> vCPUs on x86 families (the documented pattern; metal sizes vary).
_AWS_SIZE_VCPUS = {"nano": 2, "micro": 2, "small": 2, "medium": 2, "large": 2, "xlarge": 4}


def _hardware_from_row(provider: str, row: dict[str, str]) -> Hardware:
    # Fractional counts are GPU partitions (a g6f.large has 1/8 of an L4).
    gpu_count = float(row["gpu_count"]) if row.get("gpu_count") else 0.0
    baseline = optional_float(row.get("burstable_baseline_fraction"))
    memory_gib = optional_float(row["memory_gib"])
    return Hardware(
        vcpus=optional_float(row["vcpus"]),
        memory_gb=gib_to_gb(memory_gib) if memory_gib is not None else None,
        microarchitecture=row.get("cpu_microarchitecture") or None,
        cpu_model=row.get("cpu_model") or None,
        gpu_model=(row.get("gpu_model") or None) if gpu_count else None,
        gpu_count=gpu_count,
        instance_type=row["instance_type"],
        provider=provider,
        burstable_baseline_fraction=baseline,
    )


@derived
def _instances(provider: str) -> dict[str, dict[str, str]]:
    return {row["instance_type"].lower(): row for row in table(f"instances_{provider}")}


@derived
def _instance_text(provider: str) -> tuple[list[str], str, str, int] | None:
    """The catalog's header, text, lower-case text and where its rows start, when a position in the
    lower-case text is the same position in the text (lowering changed no character's length)."""
    header, text, rows_at = table_searchable(f"instances_{provider}")
    lowered = text.lower()
    return (header, text, lowered, rows_at) if len(lowered) == len(text) and header[0] == "instance_type" else None


def _instance_row(provider: str, name: str) -> dict[str, str] | None:
    """The row of one type (lower case), found by searching the catalog's text: parsing every row of
    the AWS catalog to look one up cost each `carbon estimate` ~3 ms. The last row of a repeated
    type wins, as in `_instances`."""
    found = _instance_text(provider)
    if found is None:
        return _instances(provider).get(name)
    header, text, lowered, rows_at = found
    at = lowered.rfind("\n" + name + ",", rows_at)
    return None if at == -1 else parse_rows(header, csv.reader([line_after(text, at)]))[0]


def instance(provider: str, instance_type: str) -> Hardware | None:
    """The catalog's hardware for a type, or None when the catalog does not list it."""
    row = _instance_row(provider, instance_type.strip().lower())
    if row is not None:
        return _hardware_from_row(provider, row)
    if provider == "gcp":
        # Custom and rule-named GCP types resolve from the name alone (Google's naming rules).
        from carbon import gcp_machine_types

        return gcp_machine_types.hardware(instance_type)
    return None


@derived
def memory_gb_per_vcpu() -> Bounds:
    """Memory per vCPU over every CPU instance type of the three catalogs (decimal GB): central the
    median, low the 10th and high the 90th percentile. The stand-in for a job that asked for "all
    of the node's memory" on a node of unknown size: a typical server's ratio, never zero."""
    import statistics

    ratios = sorted(
        gib_to_gb(float(row["memory_gib"])) / float(row["vcpus"])
        for provider in ("aws", "gcp", "azure")
        for row in table(f"instances_{provider}")
        if optional_float(row["vcpus"]) and optional_float(row["memory_gib"]) and not optional_float(row["gpu_count"])
    )
    tenth, *_, ninetieth = statistics.quantiles(ratios, n=10)
    return Bounds(statistics.median(ratios), tenth, ninetieth)


def _size_vcpus(provider: str, instance_type: str) -> float | None:
    name = instance_type.lower()
    if provider == "aws":
        size = name.split(".", 1)[1] if "." in name else ""
        if size in _AWS_SIZE_VCPUS:
            return float(_AWS_SIZE_VCPUS[size])
        match = re.fullmatch(r"(\d+)xlarge", size)
        return float(4 * int(match.group(1))) if match else None
    if provider == "gcp":
        match = re.search(r"-(\d+)(?:-[a-z]+)?$", name)
        return float(match.group(1)) if match else None
    match = re.match(r"standard_[a-z]+?(\d+)", name)
    return float(match.group(1)) if match else None


def _family_key(provider: str, instance_type: str) -> str:
    name = instance_type.lower()
    if provider == "aws":
        return name.split(".", 1)[0]
    if provider == "gcp":
        return re.sub(r"-\d+(?:-[a-z]+)?$", "", name)
    return re.sub(r"(standard_[a-z]+?)\d+", r"\1#", name, count=1)


def estimate_instance_from_family(provider: str, instance_type: str) -> tuple[Hardware, str]:
    """Guess an unlisted type from its family; returns the hardware and the warning to show."""
    family = _family_key(provider, instance_type)
    siblings = [row for name, row in _instances(provider).items() if _family_key(provider, name) == family]
    vcpus = _size_vcpus(provider, instance_type)
    if not siblings or vcpus is None:
        raise LookupError(
            f"unknown {provider} instance type {instance_type!r}: not in the bundled catalog and no known "
            f"family to estimate it from; give --cpus and --memory-gb instead"
        )
    import statistics

    ratios = [gib_to_gb(float(r["memory_gib"])) / float(r["vcpus"]) for r in siblings if r["vcpus"] and r["memory_gib"]]
    archs = sorted({a for r in siblings for a in (r.get("cpu_microarchitecture") or "").split("|") if a})
    hardware = Hardware(
        vcpus=vcpus,
        memory_gb=vcpus * statistics.median(ratios) if ratios else None,
        microarchitecture="|".join(archs) or None,
        instance_type=instance_type,
        provider=provider,
    )
    warning = (
        f"{provider} instance type {instance_type!r} is not in the bundled catalog; estimated from "
        f"{len(siblings)} sibling(s) of family {family!r} as {vcpus:g} vCPUs"
        + (f", {hardware.memory_gb:g} GB" if hardware.memory_gb else "")
    )
    return hardware, warning


class _Catalog:
    """A hardware table by its `key` column, searched as text: a lookup finds the lines holding one
    of the name's tokens (a C-speed substring search over the file) and parses only those. Reading
    every key of ~5,000 CPUs cost each tracker start ~7 ms. Rows are what `table()` gives; a key
    that repeats keeps its first place and its last row, as a dict built from the rows would."""

    def __init__(self, name: str) -> None:
        self._header, self._text, self._rows_at = table_searchable(name)  # rows follow a newline from _rows_at
        self._column = self._header.index("key")
        self._rows: dict[str, dict[str, str]] = {}  # parsed rows, by key
        self._first_at: dict[str, int] = {}  # where each key seen so far first appears
        self._last_line: dict[str, str] = {}  # and its last line, when every line holding it was seen
        self._keys: list[str] | None = None  # every key in file order, when a whole-table parse was needed
        if self._has_multiline_field():  # a quoted field spans lines: parse the table
            rows = {row["key"]: row for row in table(name)}
            self._rows, self._keys = rows, [key for key in rows if key is not None]
            self._first_at = {key: place for place, key in enumerate(self._keys)}

    def _lines_holding(self, needle: str) -> Iterator[tuple[int, str]]:
        """(where it starts, its text) of each row line holding `needle`, once each, in file order."""
        text = self._text
        at = text.find(needle, self._rows_at)
        while at != -1:
            start, end = text.rfind("\n", 0, at) + 1, text.find("\n", at)
            end = len(text) if end == -1 else end
            yield start, text[start:end]
            at = text.find(needle, end)

    def _has_multiline_field(self) -> bool:
        return any(line.count('"') % 2 for _, line in self._lines_holding('"'))

    def _key_of(self, line: str) -> str | None:
        values = next(csv.reader([line])) if '"' in line else line.split(",", self._column + 1)
        return values[self._column] if len(values) > self._column else None

    def keys_with(self, token: str) -> list[str]:
        """The distinct keys, in file order, whose text holds `token` (a superset of the keys that
        have it as a whole token; callers check tokens themselves)."""
        if self._keys is not None:
            return [key for key in self._keys if token in key]
        found: dict[str, None] = {}
        for start, line in self._lines_holding(token):
            key = self._key_of(line)
            if key is not None and token in key:  # every line of this key holds the token: all are seen
                found.setdefault(key)
                self._first_at.setdefault(key, start)
                self._last_line[key] = line
        return list(found)

    def position(self, key: str) -> int:
        """Where a key returned by `keys_with` first appears: candidates are ranked in file order."""
        return self._first_at[key]

    def get(self, key: str) -> dict[str, str] | None:
        """The row of `key` (its last line's, as a dict built from the rows keeps), or None."""
        row = self._rows.get(key)
        if row is None and key and (key in self._last_line or key in self.keys_with(key)):
            row = self._rows[key] = parse_rows(self._header, csv.reader([self._last_line[key]]))[0]
        return row

    def __getitem__(self, key: str) -> dict[str, str]:
        row = self.get(key)
        if row is None:
            raise KeyError(key)
        return row


@derived
def _cpus() -> _Catalog:
    return _Catalog("cpus")


@derived
def _gpus() -> _Catalog:
    return _Catalog("gpus")


def _best_by_tokens(key: str, rows: _Catalog) -> dict[str, str] | None:
    """Exact key, else the row whose key's tokens are all in the name and cover the most of it."""
    exact = rows.get(key)
    if exact is not None:
        return exact
    tokens = set(key.split())
    # A candidate must hold a token with a digit (a model number), so "intel xeon" alone never
    # matches; its tokens all being the name's, that token is one of the name's digit tokens.
    numbered = [t for t in tokens if any(ch.isdigit() for ch in t)]
    candidates = sorted({k for t in numbered for k in rows.keys_with(t)}, key=rows.position)
    best, best_score = None, 0.0
    for candidate in candidates:
        ctokens = set(candidate.split())
        if not ctokens or candidate.split(None, 1)[0] not in tokens or not ctokens <= tokens:
            continue
        if not any(any(ch.isdigit() for ch in t) for t in ctokens):
            continue
        score = len(ctokens) / len(tokens)
        if score > best_score:
            best, best_score = candidate, score
    return None if best is None else rows[best]


def _family(key: str, rows: _Catalog) -> list[dict[str, str]]:
    """Rows whose key holds every token of a family name ('a100', 'amd epyc'): the family's members.
    A single token must carry a digit (a model line such as 'a100'), so 'intel' alone is no family."""
    tokens = set(key.split())
    if not tokens or (len(tokens) == 1 and not any(ch.isdigit() for ch in key)):
        return []
    return [
        rows[candidate]
        for candidate in rows.keys_with(max(tokens, key=len))
        if all(token in candidate for token in tokens) and tokens <= set(candidate.split())
    ]


def cpu(model_name: str) -> dict[str, str] | None:
    return _best_by_tokens(cpu_key(model_name), _cpus())


def cpu_family(model_name: str) -> list[dict[str, str]]:
    """The CPU rows a family name such as 'AMD EPYC' or 'Xeon Gold' covers (empty when none)."""
    return _family(cpu_key(model_name), _cpus())


def gpu(model_name: str) -> dict[str, str] | None:
    return _best_by_tokens(gpu_key(model_name), _gpus())


def gpu_family(model_name: str) -> list[dict[str, str]]:
    """The GPU rows a family name such as 'A100' or 'H100' covers (empty when none)."""
    return _family(gpu_key(model_name), _gpus())
