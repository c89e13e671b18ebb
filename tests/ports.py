"""A free TCP port on 127.0.0.1, for the tests that serve (fake vendor APIs, SMTP, the daemon's
metrics, Prometheus) or dial a port where nothing listens."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
