"""Fakes for the Graph client's tests: a requests transport adapter that answers from a
handler, records what was sent, and never touches a network."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

Answer = tuple[int, dict[str, str], Any]


def response(request: requests.PreparedRequest, status: int, headers: dict, body: Any):
    """A requests.Response for `request`: `body` as JSON (None: empty)."""
    resp = requests.Response()
    resp.status_code = status
    resp.headers = CaseInsensitiveDict(headers or {})
    if body is None:
        resp._content = b""
    elif isinstance(body, bytes):
        resp._content = body
    else:
        resp._content = json.dumps(body).encode()
        resp.headers.setdefault("Content-Type", "application/json")
    resp.url = request.url
    resp.request = request
    resp.encoding = "utf-8"
    return resp


class FakeAdapter(BaseAdapter):
    """Answers each request with `handler(request)` -> (status, headers, body), or an
    exception to raise; every request is kept in `sent`."""

    def __init__(self, handler: Callable[[requests.PreparedRequest], Answer | BaseException]):
        super().__init__()
        self.handler = handler
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.sent.append(request)
        answer = self.handler(request)
        if isinstance(answer, BaseException):
            raise answer
        status, headers, body = answer
        return response(request, status, headers, body)

    def close(self) -> None:
        pass

    def bodies(self) -> list[Any]:
        return [json.loads(r.body) if r.body else None for r in self.sent]


def sequence(*answers: Answer | BaseException):
    """A handler that gives `answers` in turn (the last one again once they run out)."""
    queue = list(answers)

    def handler(request):
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


class Tokens:
    """A token source: token-1, token-2 ... a new one each time a fresh one is asked for."""

    def __init__(self) -> None:
        self.issued = 0
        self.fresh_asked = 0

    def __call__(self, fresh: bool = False) -> str:
        if fresh:
            self.fresh_asked += 1
        if fresh or not self.issued:
            self.issued += 1
        return f"token-{self.issued}"


class Sleeps(list):
    """An injectable sleep that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_with(handler, **retry: Any):
    """A GraphClient over a FakeAdapter: (client, adapter, sleeps)."""
    from reconciler.entra.client import GraphClient, GraphRetry

    adapter = FakeAdapter(handler)
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    sleeps = Sleeps()
    client = GraphClient(session, Tokens(), retry=GraphRetry(sleep=sleeps, **retry))
    return client, adapter, sleeps


def graph_error(code: str, message: str = "") -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "innerError": {}}}
