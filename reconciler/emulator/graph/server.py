"""`GraphServer`: `GraphApi` on its own loopback HTTP server.

It reuses the Google emulator's loopback server (127.0.0.1 only, loopback Host headers
only) and its refusal of requests a web page makes (a non-loopback `Origin`,
`Sec-Fetch-Site: cross-site`). Its connection threads are daemons; `stop()` ends them by
closing their sockets, then joins them. A client reaches it by sending what it would send
to `https://login.microsoftonline.com` and `https://graph.microsoft.com` to `base_url`
instead.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping

from reconciler.emulator.graph.api import GraphApi
from reconciler.emulator.graph.errors import GraphError
from reconciler.emulator.server import (
    HOST,
    POLL_INTERVAL_S,
    Reply,
    _cross_site,
    _Handler,
    _LoopbackHTTPServer,
)


def graph_reply(api: GraphApi, method: str, target: str, headers, body: bytes | None) -> Reply:
    """`api`'s answer as the HTTP layer's Reply (its Content-Type apart, other headers kept)."""
    status, out_headers, out_body = api.handle(method, target, headers, body)
    content_type = "application/json"
    extra = []
    for name, value in out_headers.items():
        if name.lower() == "content-type":
            content_type = value
        else:
            extra.append((name, value))
    return Reply(status, out_body, content_type=content_type, headers=tuple(extra))


# How long stop() waits for one connection thread after closing its socket.
JOIN_TIMEOUT_S = 10


class _GraphHTTPServer(_LoopbackHTTPServer):
    """The loopback server, keeping its (daemon) connection threads so stop() joins them:
    the standard library's ThreadingMixIn joins only non-daemon ones."""

    def __init__(self, address: tuple[str, int], handler: type) -> None:
        self._workers: list[threading.Thread] = []
        self._workers_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:
        with self._open_lock:
            self._open.add(request)
        worker = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="graph-emulator-connection",
            daemon=True,
        )
        with self._workers_lock:
            self._workers = [w for w in self._workers if w.is_alive()]
            self._workers.append(worker)
        worker.start()

    def join_workers(self) -> None:
        with self._workers_lock:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.join(JOIN_TIMEOUT_S)


def graph_error_reply(api: GraphApi, status: int, code: str, message: str) -> Reply:
    """An emulator's own refusal, in Graph's error shape."""
    answer = api.error_answer(GraphError(status, code, message), str(uuid.uuid4()))
    return Reply(status, json.dumps(answer.body).encode(), content_type="application/json")


class _GraphFront:
    """What the loopback handler calls: cross-site refusal, then the Graph API."""

    def __init__(self, api: GraphApi) -> None:
        self.api = api

    def handle(self, method: str, target: str, headers: Mapping, body: bytes | None) -> Reply:
        if _cross_site(headers) is not None:
            return graph_error_reply(
                self.api, 403, "Forbidden", "The emulator answers no requests from web pages."
            )
        return graph_reply(self.api, method, target, headers, body)


class GraphServer:
    """`with GraphServer(api) as server:` serves `api` on 127.0.0.1 (any free port)."""

    def __init__(self, api: GraphApi, *, port: int = 0) -> None:
        self.api = api
        self.port = port
        self._httpd: _GraphHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the Graph emulator is not running")
        return f"http://{HOST}:{self._httpd.server_address[1]}"

    def start(self) -> str:
        """Bind and serve in a daemon thread; the base URL `http://127.0.0.1:PORT`."""
        if self._httpd is not None:
            return self.base_url
        httpd = _GraphHTTPServer((HOST, self.port), _Handler)
        httpd.emulator = _GraphFront(self.api)  # type: ignore[assignment]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            args=(POLL_INTERVAL_S,),
            name=f"graph-emulator:{self.base_url}",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving, end open connections and join their threads."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        httpd.join_workers()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> GraphServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
