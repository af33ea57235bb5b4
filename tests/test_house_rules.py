"""House rules that a reviewer should not have to check by eye."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 80


def long_functions(root: Path = REPO, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """`path:name` -> lines (decorators excluded, docstring included) of every function longer than `limit`."""
    found = {}
    for folder in ("carbon", "providers", "scripts"):
        for path in sorted((root / folder).rglob("*.py")):
            if "migrations" in path.parts:  # Alembic revisions: one table per statement, generated shape
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    if lines > limit:
                        found[f"{path.relative_to(root).as_posix()}:{node.name}"] = lines
    return found


def test_no_function_is_longer_than_80_lines():
    too_long = long_functions()
    assert too_long == {}, f"split these into named steps: {too_long}"


def test_the_check_sees_a_long_function(tmp_path):
    (tmp_path / "carbon").mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "carbon" / "m.py").write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}", encoding="utf-8")
    assert long_functions(tmp_path) == {"carbon/m.py:long": MAX_FUNCTION_LINES + 1}
