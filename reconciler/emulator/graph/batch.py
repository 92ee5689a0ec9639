"""JSON `$batch` (https://learn.microsoft.com/en-us/graph/json-batching).

`POST /v1.0/$batch` with `{"requests": [{"id", "method", "url", "headers"?, "body"?,
"dependsOn"?}]}`:
- at most 20 requests; ids unique, compared without case; a `dependsOn` naming no id of
  the batch, or a cycle: the whole batch is 400 (the wording of these refusals is
  UNVERIFIED; the limit, the uniqueness and the shape are documented);
- `url` is relative to the version (`/groups/…`, with or without the leading slash); an
  absolute URL, or one that repeats `/v1.0`, is refused for that item (400);
- an item with a `body` needs a `Content-Type` in its `headers` (else that item is 400);
- each item runs like a single call, with the batch's Authorization; it is counted, throttled
  and faulted on its own (a throttled item carries its own `Retry-After`:
  https://learn.microsoft.com/en-us/graph/throttling);
- an item whose `dependsOn` names one that failed is 424 and does not run;
- the answer is 200 `{"responses": [{"id", "status", "headers", "body"?}]}` in REVERSED
  order: Graph documents that the order may differ, so clients must correlate by id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.emulator.graph.errors import GraphError

if TYPE_CHECKING:
    from reconciler.emulator.graph.api import Answer, GraphApi

MAX_REQUESTS = 20


def _bad(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def run_batch(
    api: GraphApi,
    authorization: str | None,
    headers: Mapping[str, str],
    body: bytes | None,
    client_request_id: str,
) -> Answer | GraphError:
    from reconciler.emulator.graph.api import Answer, _json_body

    try:
        api.tokens.grant(authorization)
        payload = _json_body("POST", headers, body)
        requests = _validate(payload)
    except GraphError as exc:
        return exc
    by_id = {r["id"].lower(): r for r in requests}
    done: dict[str, dict[str, Any]] = {}

    def run(item: dict) -> dict[str, Any]:
        key = item["id"].lower()
        if key in done:
            return done[key]
        failed = [
            d
            for d in item.get("dependsOn") or []
            if not 200 <= run(by_id[d.lower()])["status"] < 300
        ]
        if failed:
            error = GraphError(424, "FailedDependency", f"Request '{failed[0]}' failed.")
            answer = api.error_answer(error, client_request_id)
        else:
            answer = _run_item(api, item, authorization, client_request_id)
        result: dict[str, Any] = {"id": item["id"], "status": answer.status}
        item_headers = dict(answer.headers or {})
        if answer.body is not None:
            item_headers["Content-Type"] = "application/json"
        result["headers"] = item_headers
        if answer.body is not None:
            result["body"] = answer.body
        done[key] = result
        return result

    try:
        _check_cycles(requests, by_id)
    except GraphError as exc:
        return exc
    responses = [run(r) for r in requests]
    return Answer(200, {"responses": list(reversed(responses))})


def _validate(payload: Any) -> list[dict]:
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise _bad("Invalid batch payload format.")
    requests = payload["requests"]
    if not requests:
        raise _bad("Invalid batch payload format: no requests.")
    if len(requests) > MAX_REQUESTS:
        raise _bad(f"Number of included requests in the batch cannot exceed {MAX_REQUESTS}.")
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict):
            raise _bad("Invalid batch payload format.")
        for key in ("id", "method", "url"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise _bad(f"Invalid batch payload format: a request has no '{key}'.")
        if item["id"].lower() in seen:
            raise _bad(f"Batch request id '{item['id']}' is used more than once.")
        seen.add(item["id"].lower())
        if "headers" in item and not isinstance(item["headers"], dict):
            raise _bad(f"Request '{item['id']}': headers must be an object.")
    for item in requests:
        depends = item.get("dependsOn")
        if depends is None:
            continue
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise _bad(f"Request '{item['id']}': dependsOn must be a list of ids.")
        for dep in depends:
            if dep.lower() not in seen:
                raise _bad(f"Request '{item['id']}' depends on '{dep}', which is not in the batch.")
    return requests


def _check_cycles(requests: list[dict], by_id: dict[str, dict]) -> None:
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(key: str) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            raise _bad(f"The dependsOn of request '{by_id[key]['id']}' form a cycle.")
        state[key] = 1
        for dep in by_id[key].get("dependsOn") or []:
            visit(dep.lower())
        state[key] = 2

    for item in requests:
        visit(item["id"].lower())


def _run_item(
    api: GraphApi, item: dict, authorization: str | None, client_request_id: str
) -> Answer:
    headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
    has_type = any(k.lower() == "content-type" for k in headers)
    body = item.get("body")
    if body is not None and not has_type:
        return api.error_answer(
            _bad(f"Write request id : {item['id']} does not contain Content-Type header or body."),
            client_request_id,
        )
    url = item["url"]
    if "://" in url:
        return api.error_answer(
            _bad("A batch request's url must be relative to the version, e.g. '/groups'."),
            client_request_id,
        )
    path, _, query = ("/" + url.lstrip("/")).partition("?")
    if path.lower().startswith(("/v1.0/", "/beta/")) or path == "/$batch":
        return api.error_answer(
            _bad(
                f"A batch request's url is relative to the version: '{url}' names one again "
                "(or a batch)."
            ),
            client_request_id,
        )
    raw: bytes | None = None
    if body is not None:
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return api.call(
        item["method"].upper(), path, query, headers, raw, authorization, client_request_id
    )
