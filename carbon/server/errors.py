"""Every error the API answers is `{"detail": "one line"}`; request validation included.

FastAPI's own validation answer is a list of error objects; here it becomes one line naming
the first bad field and why (`body.cpu_util: Input should be ...`), with the full list kept
under `errors` for programs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Problem(BaseModel):
    detail: str


def _where(location: Sequence[object]) -> str:
    return ".".join(str(part) for part in location)


def one_line(errors: list[dict[str, Any]]) -> str:
    first: dict[str, Any] = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    text = f"{_where(first.get('loc', ()))}: {first.get('msg', 'invalid')}".strip(": ")
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in error.errors()
        ]
        return JSONResponse({"detail": one_line(errors), "errors": errors}, status_code=422)
