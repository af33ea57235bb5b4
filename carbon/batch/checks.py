"""The record checks every reader applies: a bad record is a reject with its line number, never a
negative kWh, a crash of the whole batch, or a job counted twice.

- A number that cannot be a number (text in a numeric field, `inf`, `nan` written out) is a reject;
  an empty field is "unknown", which the engine fills from the hardware.
- A number outside its plausible range (negative CPUs or kWh, a utilisation above 1, 1e308 GB of
  memory) is a reject naming the field, its value and the range.
- A job id seen before is a duplicate: the later record is rejected as "duplicate of line N",
  unless the two records name different clusters (ids are unique per cluster only).

`Verdicts` collects rejects as masks over a table, first reason wins, and builds the reasons' texts
only for the rejected rows: a million clean records cost a few vectorised comparisons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

# column -> (lowest, highest, what the column holds). Wide on purpose: only the impossible is refused.
LIMITS: dict[str, tuple[float, float, str]] = {
    "cpus": (0.0, 1e7, "CPUs"),
    "cpu_time_s": (0.0, 1e13, "CPU seconds"),
    "cpu_util": (0.0, 1.0, "a fraction, not a percentage"),
    "memory_gb": (0.0, 1e8, "GB"),
    "memory_used_gb": (0.0, 1e8, "GB"),
    "gpus": (0.0, 1e6, "GPUs"),
    "gpu_util": (0.0, 1.0, "a fraction, not a percentage"),
    "measured_kwh": (0.0, 1e7, "kWh"),
}


class Verdicts:
    """Rejects over the rows of one table: masks with their reasons, the first reason a row gets wins."""

    def __init__(self, rows: int) -> None:
        import numpy as np

        self.rejected = np.zeros(rows, dtype=bool)
        self._parts: list[tuple[Any, Any]] = []  # (row positions, reasons)

    def add(self, mask: Any, reasons: str | Callable[[Any], Sequence[str]]) -> None:
        """Reject the rows of `mask` not yet rejected; `reasons` is one text or a function of the rows'
        positions giving one text each (called only when there are such rows)."""
        import numpy as np

        fresh = np.asarray(mask, dtype=bool) & ~self.rejected
        if not fresh.any():
            return
        positions = np.flatnonzero(fresh)
        self.rejected[positions] = True
        texts = np.full(len(positions), reasons, dtype=object) if isinstance(reasons, str) else reasons(positions)
        self._parts.append((positions, np.asarray(texts, dtype=object)))

    def frame(self, lines: Any, texts: Callable[[Any], Sequence[str]]) -> Any:
        """The rejects (line, reason, text), by line; `texts(positions)` gives the records' texts."""
        from carbon.batch.schema import empty_rejects, rejects_frame

        if not self._parts:
            return empty_rejects()
        import numpy as np

        positions = np.concatenate([p for p, _ in self._parts])
        reasons = np.concatenate([r for _, r in self._parts])
        order = np.argsort(positions, kind="stable")
        positions, reasons = positions[order], reasons[order]
        return rejects_frame(np.asarray(lines)[positions], reasons, list(texts(positions)))


def check_ranges(table: Any, verdicts: Verdicts) -> None:
    """Reject every row with a value outside LIMITS (infinities included; NaN is unknown, not bad)."""
    import numpy as np

    for name, (low, high, unit) in LIMITS.items():
        if name not in table:
            continue
        values = np.asarray(table[name], dtype=float)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(values) & ~((values >= low) & (values <= high))
        if bad.any():
            verdicts.add(bad, _outside_texts(name, values, low, high, unit))


def check_numbers(frame: Any, verdicts: Verdicts) -> None:
    """Reject rows whose numeric fields hold something that is not a finite number, before the
    conversion would quietly turn it into 'unknown'; those columns of `frame` become numbers
    (what cannot be one: NaN). Only text and mixed columns need looking at."""
    import numpy as np
    import pandas as pd

    for name in LIMITS:
        if name not in frame or pd.api.types.is_numeric_dtype(frame[name].dtype):
            continue
        raw = frame[name]
        parsed = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = raw.notna().to_numpy() & ~np.isfinite(parsed)
        if bad.any():
            shown = raw.to_numpy(dtype=object)
            for row in np.flatnonzero(bad):  # blanks are unknown, not bad: looked at only here, where few
                bad[row] = str(shown[row]).strip() != ""
            verdicts.add(bad, _not_a_number_texts(name, shown))
        frame[name] = parsed


def first_rows(job_ids: Any, clusters: Any = None) -> Any:
    """For each row, the first row with the same id (and cluster); -1 for a missing id. One Arrow
    hash lookup over the ids."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = _arrow_text(job_ids)
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks() if keys.num_chunks else pa.array([], type=pa.string())
    if increasing_integers(keys) is not None:  # distinct ids: with or without clusters, no duplicate
        return np.arange(len(keys))
    if clusters is not None:  # a missing cluster or id joins as ""
        keys = pc.binary_join_element_wise(
            _arrow_text(clusters), keys, "\x1f", null_handling="replace", null_replacement=""
        )
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks() if keys.num_chunks else pa.array([], type=pa.string())
    from carbon.batch.columns import numpy_values

    first, found = numpy_values(pc.index_in(keys, value_set=keys))  # through the buffers: no pandas
    return first if found is None else np.where(found, first, -1)


def increasing_integers(texts: Any) -> Any:
    """The texts (an Arrow string array) as int64 when every one reads as an integer and they
    strictly increase, else None. Strictly increasing numbers are distinct, so the texts are too
    (equal texts read as equal numbers): the usual log, numbered job ids in order, needs no hash
    of a million strings to show it holds no duplicate."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if texts.null_count or not len(texts):
        return None
    from carbon.batch.columns import numpy_values

    try:
        numbers = numpy_values(pc.cast(texts, pa.int64()))[0]  # no nulls: checked above
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # ids with text ("123_4", "a1"): hashed instead
        return None
    return numbers if bool(np.all(numbers[1:] > numbers[:-1])) else None


def check_duplicates(job_ids: Any, lines: Any, verdicts: Verdicts, clusters: Any = None, first: Any = None) -> None:
    """Reject a job id seen on an earlier line ("duplicate of line N"); with a cluster column, the
    same id on two clusters is two jobs. `first` (see first_rows) when the caller has it already."""
    import numpy as np

    first = first_rows(job_ids, clusters) if first is None else first
    duplicate = (first >= 0) & (first != np.arange(len(first)))
    if duplicate.any():
        lines = np.asarray(lines)
        verdicts.add(duplicate, lambda rows: [f"duplicate of line {int(lines[first[i]])}" for i in rows])


def _arrow_text(values: Any) -> Any:
    import pyarrow as pa

    if isinstance(values, (pa.Array, pa.ChunkedArray)):  # a Parquet log read into Arrow: no pandas
        return values.cast(pa.string())
    import pandas as pd

    series = pd.Series(values, copy=False)
    if isinstance(series.dtype, pd.ArrowDtype) or isinstance(series.dtype, pd.StringDtype):
        return pa.array(series.array).cast(pa.string())
    try:  # text ids (the usual case): one conversion in Arrow
        return pa.array(series, from_pandas=True).cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):  # mixed numbers and text
        return pa.array([None if is_missing(v) else str(v) for v in series.astype(object)], type=pa.string())


def is_missing(value: Any) -> bool:
    """None, NaN or NaT; never an error for a list or a dict (what a JSON field may hold)."""
    import pandas as pd

    return value is None or value is pd.NaT or (isinstance(value, float) and value != value)


def _outside_texts(name: str, values: Any, low: float, high: float, unit: str) -> Callable[[Any], list[str]]:
    """Reasons for the rows of `values` outside low..high (built only for the rows rejected)."""

    def texts(rows: Any) -> list[str]:
        return [f"{name} {values[i]:g} is outside {low:g}..{high:g} ({unit})" for i in rows]

    return texts


def _not_a_number_texts(name: str, shown: Any) -> Callable[[Any], list[str]]:
    def texts(rows: Any) -> list[str]:
        return [f"{name} {shown[i]!r} is not a number" for i in rows]

    return texts
