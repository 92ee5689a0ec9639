"""Graph's error body, and the identity platform's.

Graph answers every error as `{"error": {"code", "message", "innerError": {"date",
"request-id", "client-request-id"}}}`; clients are told to code against `code`, not
`message` (https://learn.microsoft.com/en-us/graph/errors ;
https://learn.microsoft.com/en-us/graph/json-batching).

The token endpoint answers `{"error", "error_description" (starting "AADSTSnnnn:"),
"error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}`
(https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow ;
https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

# The 404 Graph gives for an id that names nothing (or nothing yet replicated):
# https://github.com/microsoftgraph/microsoft-graph-docs/issues/8637
NOT_FOUND_MESSAGE = (
    "Resource '{id}' does not exist or one of its queried reference-property objects are not "
    "present."
)


class GraphError(Exception):
    """An error answer of Graph: HTTP status, `code`, `message`, and extra headers."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self, request_id: str, client_request_id: str) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": now_iso(),
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                },
            }
        }


def now_iso() -> str:
    """The current UTC time as Graph writes `innerError.date`: seconds, no zone suffix."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def bad_request(message: str) -> GraphError:
    """400 `Request_BadRequest`, the directory's code for a refused value or reference."""
    return GraphError(400, "Request_BadRequest", message)


def not_found(object_id: str) -> GraphError:
    """404 `Request_ResourceNotFound` for an id that names no (replicated) object."""
    return GraphError(404, "Request_ResourceNotFound", NOT_FOUND_MESSAGE.format(id=object_id))


def invalid_property_value(name: str, resource: str = "Group") -> GraphError:
    """400 for a missing or malformed property of a new or changed object.

    The wording is the one Graph is seen to answer for a bad `mailNickname`; that it is the
    same for every property is UNVERIFIED.
    """
    return bad_request(f"Invalid value specified for property '{name}' of resource '{resource}'.")


class TokenError(Exception):
    """The token endpoint refuses: OAuth `error`, AADSTS number, description, HTTP status."""

    def __init__(self, error: str, aadsts: int, description: str, status: int = 400) -> None:
        super().__init__(f"{error} AADSTS{aadsts}: {description}")
        self.error = error
        self.aadsts = aadsts
        self.description = description
        self.status = status

    def body(self) -> dict[str, Any]:
        trace = str(uuid.uuid4())
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.aadsts}: {self.description} Trace ID: {trace}",
            "error_codes": [self.aadsts],
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
            "error_uri": "https://login.microsoftonline.com/error?code=" + str(self.aadsts),
        }
