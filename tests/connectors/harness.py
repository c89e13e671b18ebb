"""Test harness shared by the connector tests.

A vendor fake is written once, as a function from ``httpx.Request`` to ``httpx.Response``. Unit tests
mount it with ``httpx.MockTransport``; clients that do not use httpx (google-api-python-client,
stripe) and the end-to-end tests reach it over a real socket through :class:`FakeServer`.
:func:`sync_through_daemon` runs one tenant's connector through the daemon's own scheduler, sync
runner and store, the way ``saaswatch run`` does.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from ports import free_port
from sqlalchemy import select

from collector.config import Config, load_config
from collector.daemon import Daemon
from collector.models import SyncRun
from collector.store import Store

Handler = Callable[[httpx.Request], httpx.Response]


class FakeServer:
    """Serves ``handler`` on 127.0.0.1 over real HTTP/1.1 until closed."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        outer = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm and the
                # client's delayed ACK add ~40 ms to every request.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                host = self.headers.get("Host", "127.0.0.1")
                request = httpx.Request(
                    self.command,
                    f"http://{host}{self.path}",
                    headers=list(self.headers.items()),
                    content=body,
                )
                outer.requests.append(request)
                try:
                    response = outer.handler(request)
                    content = response.read()
                except Exception as exc:  # a broken fake must show up as a 500, not a hung client
                    response, content = httpx.Response(500), f"fake crashed: {exc!r}".encode()
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in {"content-length", "transfer-encoding", "content-encoding"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def write_config(tmp_path: Path, text: str, store_url: str) -> Config:
    """Write a config file (``{database_url}`` and ``{metrics_listen}`` are filled in) and load it."""
    path = tmp_path / "saaswatch.yaml"
    path.write_text(
        text.replace("{database_url}", store_url).replace("{metrics_listen}", f"127.0.0.1:{free_port()}")
    )
    return load_config(path, environ={})


@contextmanager
def running_daemon(config: Config) -> Iterator[Daemon]:
    store = Store(config.database_url)
    daemon = Daemon(config, store, max_workers=2)
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.shutdown()


def wait_for_runs(
    store: Store, tenant_id: str, source: str, count: int = 1, timeout: float = 60
) -> list[SyncRun]:
    """Wait until ``count`` runs of ``source`` have finished; return them, oldest first."""
    deadline = time.monotonic() + timeout
    while True:
        with store.transaction() as session:
            runs = list(
                session.scalars(
                    select(SyncRun)
                    .where(SyncRun.tenant_id == tenant_id, SyncRun.connector == source)
                    .order_by(SyncRun.id)
                )
            )
            finished = [r for r in runs if r.status != "running"]
            if len(finished) >= count:
                for run in finished:
                    session.expunge(run)
                return finished
        if time.monotonic() > deadline:
            raise TimeoutError(f"{source}: {len(finished)} of {count} runs finished after {timeout}s")
        time.sleep(0.05)


def sync_through_daemon(config: Config, tenant_id: str, source: str, timeout: float = 60) -> SyncRun:
    """Start the daemon (scheduler, runner, store, exporter) and return the first finished run of
    ``source``; the connector must be scheduled with ``run_at_start`` (the default)."""
    with running_daemon(config) as daemon:
        return wait_for_runs(daemon.store, tenant_id, source, timeout=timeout)[0]
