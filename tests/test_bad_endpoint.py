"""An endpoint that answers, but not as the Directory API does: 200 with an HTML page, JSON
cut short, or JSON of the wrong shape (users: "x", a user without primaryEmail, a member
whose role is 5). `reconciler plan` refuses with an error naming the API call, exit 1, never
an internal error. A tiny server on loopback, started here, stands in for the endpoint.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import JO, WORKSPACE, reconciler, write_state

USERS = (
    JO
    + """\
groups:
  - name: eng
    email: eng@example.com
    members: [jo.lei@example.com]
bindings:
  - user: jo.lei@example.com
  - group: eng
"""
)
USER = {
    "id": "1",
    "primaryEmail": "jo.lei@example.com",
    "name": {"givenName": "Jo", "familyName": "Lei"},
    "orgUnitPath": "/",
}
GROUP = {"id": "g1", "email": "eng@example.com", "name": "eng", "directMembersCount": "1"}
MEMBER = {"id": "1", "email": "jo.lei@example.com", "role": "MEMBER", "type": "USER"}
DOMAINS = {"domains": [{"domainName": "example.com", "isPrimary": True, "verified": True}]}
NOT_FOUND = {"error": {"code": 404, "message": "Not Found", "errors": [{"reason": "notFound"}]}}


def answers(**changed: Any) -> dict[str, Any]:
    """What each listing answers (by a part of its path), with `changed` ones replaced."""
    found = {
        "domains": DOMAINS,
        "schemas": (404, NOT_FOUND),
        "deleted": {"users": []},
        "users": {"users": [USER]},
        "orgunits": {"organizationUnits": []},
        "members": {"members": [MEMBER]},
        "groups": {"groups": [GROUP]},
    }
    found.update(changed)
    return found


class FakeDirectory(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, table: dict[str, Any]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.table = table

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeDirectory

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        key = "deleted" if "showDeleted=true" in self.path else None
        key = key or next(
            k
            for k in ("domains", "schemas", "members", "groups", "orgunits", "users")
            if f"/{k}" in path
        )
        answer = self.server.table[key]
        status, answer = answer if isinstance(answer, tuple) else (200, answer)
        if isinstance(answer, bytes):
            body, kind = answer, "text/html" if answer.startswith(b"<") else "application/json"
        else:
            body, kind = json.dumps(answer).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        # The token endpoint: the tool signs a throwaway assertion for a loopback endpoint
        # and trades it here, as with Google; this fake grants any.
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"access_token": "fake", "token_type": "Bearer", "expires_in": 3600})
        self.send_response(200 if self.path.split("?")[0] == "/token" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return write_state(tmp_path, {"workspace.yaml": WORKSPACE, "users.yaml": USERS})


@pytest.fixture
def directory() -> Iterator[FakeDirectory]:
    server = FakeDirectory(answers())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def plan(state: Path, endpoint: str, **env: str) -> subprocess.CompletedProcess[str]:
    return reconciler("plan", ".", cwd=state, env={"RECONCILER_GOOGLE_ENDPOINT": endpoint, **env})


def test_the_fake_directory_answers_a_plan(state, directory):
    """The stand-in is good enough for a plan when nothing is wrong with it."""
    done = plan(state, directory.url)
    assert done.returncode == 0, done.stderr


BAD = {
    "html-page": (
        {"users": b"<html><body>Sign in to the proxy</body></html>"},
        "users.list: http://127.0.0.1:",
        "answered with text that is not JSON, or JSON cut short ('<html><body>Sign in",
    ),
    "json-cut-short": (
        {"users": b'{"users": [{"primaryEmail": "jo.le'},
        "users.list: http://127.0.0.1:",
        "JSON cut short",
    ),
    "json-list": ({"domains": [1, 2]}, "domains.list: ", "JSON that is not an object (a list)"),
    "users-text": ({"users": {"users": "x"}}, "users.list: ", "users is text, not a list"),
    "user-a-number": ({"users": {"users": [5]}}, "users.list: ", "users[0] is the number 5"),
    "user-without-primary-email": (
        {"users": {"users": [{"id": "7"}]}},
        "users.list: ",
        "user 7: primaryEmail is missing, not text",
    ),
    "user-aliases-text": (
        {"users": {"users": [{**USER, "aliases": "a@example.com"}]}},
        "users.list: ",
        "aliases is str, not a list",
    ),
    "member-role-5": (
        {"members": {"members": [{**MEMBER, "role": 5}]}},
        "members.list eng@example.com: ",
        "member jo.lei@example.com: role is int 5, not text",
    ),
    "members-an-object": (
        {"members": {"members": {"a": 1}}},
        "members.list eng@example.com: ",
        "members is an object, not a list",
    ),
    "group-email-a-list": (
        {"groups": {"groups": [{**GROUP, "email": ["eng@example.com"]}]}},
        "groups.list: ",
        "email is list",
    ),
    "group-count-text": (
        {"groups": {"groups": [{**GROUP, "directMembersCount": "many"}]}},
        "groups.list: ",
        "invalid literal",
    ),
    "org-unit-without-path": (
        {"orgunits": {"organizationUnits": [{"orgUnitId": "ou1"}]}},
        "orgunits.list: ",
        "orgUnitPath is missing",
    ),
    "schema-fields-text": (
        {"schemas": {"schemaName": "Reconciler", "fields": "x"}},
        "schemas.get Reconciler: ",
        "an entry of an unexpected shape",
    ),
    "page-token-a-number": (
        {"users": {"users": [USER], "nextPageToken": 5}},
        "users.list: ",
        "nextPageToken is the number 5, not text",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_an_answer_of_the_wrong_shape_is_a_clear_error(state, directory, case):
    changed, call, said = BAD[case]
    directory.table.update(changed)
    done = plan(state, directory.url)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert done.stderr.startswith("Error: " + call), done.stderr
    assert said in done.stderr, done.stderr


@pytest.fixture
def hung() -> Iterator[str]:
    """An endpoint that accepts connections, reads nothing and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
    for conn in held:
        conn.close()


def test_a_hung_endpoint_is_given_up_on_with_progress_and_its_name(state, hung):
    """Each request waits RECONCILER_HTTP_TIMEOUT (60 s unless set); every retry says so on
    stderr, and after a few the run ends naming the endpoint."""
    done = plan(state, hung, RECONCILER_HTTP_TIMEOUT="0.5")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    lines = done.stderr.splitlines()
    retries = [line for line in lines if "trying again in" in line]
    assert retries and retries[0].startswith(
        f"{hung}: no answer within 0.5 s to domains.list (attempt 1); trying again in"
    ), done.stderr
    assert lines[-1] == (
        f"Error: domains.list: no answer from {hung} within 0.5 s, 3 times: it accepts "
        "connections but does not answer (check provider.endpoint / "
        "RECONCILER_GOOGLE_ENDPOINT; RECONCILER_HTTP_TIMEOUT sets the wait)"
    )


def test_a_timeout_that_is_no_number_is_refused(state, hung):
    done = plan(state, hung, RECONCILER_HTTP_TIMEOUT="soon")
    assert done.returncode == 1
    assert "Error: RECONCILER_HTTP_TIMEOUT: 'soon' is not a number of seconds" in done.stderr
