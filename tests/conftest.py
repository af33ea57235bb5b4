"""Suite-wide guards: no test may reach beyond the loopback interface, and each test starts with
the library's logging as importing it leaves it (the CLI configures the `carbon` logger when a test
runs `main` in-process)."""

from __future__ import annotations

import ipaddress
import logging
import socket

import pytest

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
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    yield


@pytest.fixture(autouse=True)
def _library_logging():
    """No handler, no level, propagating to the root (where caplog listens): the state after `import carbon`."""
    logger = logging.getLogger("carbon")
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)
    logger.propagate = True
    yield
