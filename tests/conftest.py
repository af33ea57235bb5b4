"""Suite-wide guards: no test may reach beyond the loopback interface."""

from __future__ import annotations

import ipaddress
import socket

import pytest

# The service's databases (SQLite files, a throwaway PostgreSQL cluster): see tests/fixtures/server_db.py.
from fixtures.server_db import _templates, database_url, postgres_cluster  # noqa: F401

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(address) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            if host != "localhost":
                raise RuntimeError(f"test tried to reach {host!r}: tests use loopback servers only") from None
            return
        if not ip.is_loopback:
            raise RuntimeError(f"test tried to reach {host}: tests use loopback servers only")


def _guarded_connect(self, address):
    _check_address(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _comet_artefacts_in_tmp(monkeypatch, tmp_path):
    """comet_ml, once imported, hooks MLflow and writes offline archives to ./.cometml-runs: keep
    whatever it writes in the test's own folder, never in the working tree."""
    monkeypatch.setenv("COMET_OFFLINE_DIRECTORY", str(tmp_path / "cometml-runs"))


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    yield


@pytest.fixture(autouse=True)
def _cli_logging_restored():
    """The CLI configures the `carbon` logger and warning filters for its process; a test that calls
    `main()` in-process must not leave them behind for the next test (caplog reads propagated records)."""
    import logging
    import warnings

    logger = logging.getLogger("carbon")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    with warnings.catch_warnings():
        yield
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]
