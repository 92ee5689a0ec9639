"""The real googleapiclient over a running emulator, with the scopes a test asks for.

    service = real_service(server, "directory_v1", [USER_SECURITY], subject="admin@example.com")
    service.tokens().list(userKey="jo@example.com").execute()

Credentials are the tool's own throwaway loopback ones (a service account whose assertion the
emulator's /token grants), so every call carries a token whose scopes the emulator checks.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import httplib2
import pytest
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

from reconciler.emulator.server import EmulatorServer, discovery_document
from reconciler.google.credentials import loopback_credentials

from .discovery_check import assert_valid_response

ROOT = "https://www.googleapis.com/auth/"
USER_SECURITY = ROOT + "admin.directory.user.security"
USER = ROOT + "admin.directory.user"
DATATRANSFER = ROOT + "admin.datatransfer"
DATATRANSFER_READ = ROOT + "admin.datatransfer.readonly"


def real_service(
    server: EmulatorServer, version: str, scopes: list[str], subject: str | None = None
) -> Any:
    """The real client of admin `version` (directory_v1, datatransfer_v1) built from the
    document the emulator serves, with a token for `scopes`."""
    credentials = loopback_credentials(server.base_url, subject, scopes)
    authed = AuthorizedHttp(credentials, http=httplib2.Http(timeout=10))
    return build_from_document(discovery_document(server.base_url, version), http=authed)


def checked(method_id: str, request: Any) -> Any:
    """Execute a request that must succeed; its answer checked against the discovery
    document. None for an empty answer (googleapiclient hands over "")."""
    body = request.execute() or None
    assert_valid_response(method_id, 200 if body is not None else 204, body)
    return body


def refusal(request: Any) -> tuple[int, str, str]:
    """Status, reason and message of a request that must fail in Google's error shape."""
    with pytest.raises(HttpError) as caught:
        request.execute()
    body = json.loads(caught.value.content)
    assert_valid_response("unknown", caught.value.status_code, body)
    error = body["error"]
    return caught.value.status_code, error["errors"][0]["reason"], error["message"]


def emulator_json(server: EmulatorServer, method: str, name: str, body: Any = None) -> Any:
    """GET or POST /_emulator/<name> over plain HTTP (state, config, stats)."""
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, f"/_emulator/{name}", body=data, headers=headers)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


def state_user(server: EmulatorServer, email: str, key: str = "users") -> dict[str, Any]:
    """A user's entry in /_emulator/state (security state included)."""
    status, doc = emulator_json(server, "GET", "state")
    assert status == 200
    return next(u for u in doc[key] if u["primaryEmail"] == email)
