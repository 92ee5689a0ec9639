"""The client against a tiny HTTP server on loopback: msal's discovery and token request and
Graph's calls all reach it through the endpoint transport, over a real socket."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace as NS
from urllib.parse import parse_qs

import pytest

from reconciler.entra.client import LOGIN, GraphClient


class Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str]] = []

    def log_message(self, *args):  # quiet
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.seen.append(("GET", self.path, self.headers.get("Authorization", "")))
        if self.path == "/t1/v2.0/.well-known/openid-configuration":
            base = f"{LOGIN}/t1"
            return self.answer(
                200,
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/v2.0",
                },
            )
        if self.path.startswith("/v1.0/users"):
            return self.answer(200, {"value": [{"id": "u1", "userPrincipalName": "a@x.org"}]})
        return self.answer(404, {"error": {"code": "NotFound", "message": self.path}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        self.seen.append(("POST", self.path, body))
        if self.path == "/t1/oauth2/v2.0/token":
            form = parse_qs(body)
            assert form["grant_type"] == ["client_credentials"]
            assert "client_assertion" in form
            return self.answer(
                200, {"token_type": "Bearer", "expires_in": 3599, "access_token": "loop-token"}
            )
        return self.answer(404, {"error": {"code": "NotFound", "message": self.path}})


@pytest.fixture
def server():
    Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_emulator_is_reached_over_loopback_for_tokens_and_graph(server, tmp_path):
    entra = NS(
        tenant_id="t1",
        client_id="c1",
        provider=NS(kind="emulator", credentials=None, endpoint=None),
    )
    client = GraphClient.connect(entra, tmp_path, endpoint=server)
    assert client.get_all("/users", {"$select": "id"}) == [
        {"id": "u1", "userPrincipalName": "a@x.org"}
    ]
    paths = [(method, path) for method, path, _ in Handler.seen]
    assert paths == [
        ("GET", "/t1/v2.0/.well-known/openid-configuration"),
        ("POST", "/t1/oauth2/v2.0/token"),
        ("GET", "/v1.0/users?$top=999&$select=id"),
    ]
    assert Handler.seen[2][2] == "Bearer loop-token"
