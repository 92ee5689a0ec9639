"""Google's batch wire format: parse a multipart/mixed request, format the multipart reply.

What googleapiclient sends: a quoted boundary that contains `=`, bare LF line endings, and
per part `Content-Type: application/http`, `Content-ID: <uuid + N>`, a blank line, then a
relative request line, headers, a blank line and the body. What it accepts back: one part
per request with `Content-ID: <response-uuid + N>`, a status line with a reason phrase, at
least one header and a CRLF CRLF separator before the body. Both line endings are read here;
CRLF is always written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

MAX_PARTS = 1000

_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


class BatchFormatError(ValueError):
    """The batch request cannot be read; the message says why, for a 400 answer."""


@dataclass(frozen=True)
class BatchPart:
    """One request inside a batch: its Content-ID and the HTTP request it carries."""

    content_id: str | None
    method: str
    target: str  # path and query, as on a request line
    headers: dict[str, str]  # lower-case names
    body: bytes | None


@dataclass(frozen=True)
class PartResponse:
    """The answer to one part: status, headers and body bytes."""

    content_id: str | None
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=UTF-8"


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a multipart/mixed Content-Type header."""
    if not content_type.lower().startswith("multipart/mixed"):
        raise BatchFormatError(
            f"a batch request must be multipart/mixed, not {content_type or 'untyped'!r}"
        )
    match = _BOUNDARY.search(content_type)
    if not match:
        raise BatchFormatError("the multipart/mixed Content-Type has no boundary")
    return match.group(1) or match.group(2)


def parse_batch(content_type: str, body: bytes) -> list[BatchPart]:
    """Split a batch request into its parts, in order.

    A delimiter counts only as a whole line (RFC 2046): `--boundary` at the start of the
    body or of a line, then optional spaces or tabs (transport padding) and a line break;
    `--boundary--` closes. The same text inside a part (a JSON string, say) is content."""
    delimiter = re.escape(b"--" + boundary_of(content_type).encode("latin-1"))
    lines = re.compile(rb"(?:\A|(?<=\n))" + delimiter + rb"(--)?[ \t]*(?:\r?\n|\Z)")
    matches = list(lines.finditer(body))
    if not matches:
        raise BatchFormatError("the batch body does not contain its boundary")
    parts = []
    ends = [m.start() for m in matches[1:]] + [len(body)]
    for n, (match, end) in enumerate(zip(matches, ends, strict=True), start=1):
        if match.group(1):  # the close delimiter
            break
        if len(parts) == MAX_PARTS:
            raise BatchFormatError(f"a batch holds at most {MAX_PARTS} requests")
        parts.append(_parse_part(_strip_line_break(body[match.end() : end]), n))
    if not parts:
        raise BatchFormatError("the batch holds no requests")
    return parts


def _strip_line_break(segment: bytes) -> bytes:
    # The line break before the next delimiter belongs to that delimiter.
    if segment.endswith(b"\r\n"):
        return segment[:-2]
    if segment.endswith(b"\n"):
        return segment[:-1]
    return segment


def _parse_part(segment: bytes, n: int) -> BatchPart:
    mime_headers, payload = _split_head(segment)
    kind = mime_headers.get("content-type", "application/http").split(";")[0].strip().lower()
    if kind != "application/http":
        raise BatchFormatError(f"part {n} must be application/http, not {kind!r}")
    request_line, _, rest = payload.partition(b"\n")
    words = request_line.decode("latin-1").strip().split()
    if len(words) not in (2, 3) or not words[1]:
        raise BatchFormatError(f"part {n} does not start with a request line")
    method, target = words[0].upper(), words[1]
    if not target.startswith("/"):
        split = urlsplit(target)  # an absolute URL: keep its path and query
        target = split.path + (f"?{split.query}" if split.query else "")
    headers, body = _split_head(rest)
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) < len(body):
        body = body[: int(length)]
    return BatchPart(
        content_id=mime_headers.get("content-id"),
        method=method,
        target=target,
        headers=headers,
        body=body or None,
    )


def _split_head(data: bytes) -> tuple[dict[str, str], bytes]:
    """Headers up to the first blank line (LF or CRLF), and what follows it."""
    if data.startswith(b"\r\n"):
        return {}, data[2:]
    if data.startswith(b"\n"):
        return {}, data[1:]
    match = _BLANK_LINE.search(data)
    head, rest = (data[: match.start()], data[match.end() :]) if match else (data, b"")
    headers: dict[str, str] = {}
    name = None
    for line in head.decode("latin-1").splitlines():
        if line[:1] in (" ", "\t") and name is not None:
            # A folded header (RFC 5322): googleapiclient's email generator folds a long
            # Content-ID, such as one made from a long request_id.
            headers[name] = f"{headers[name]} {line.strip()}".strip()
            continue
        name, sep, value = line.partition(":")
        name = name.strip().lower() if sep else None
        if name is not None:
            headers[name] = value.strip()
    return headers, rest


def response_id(request_id: str | None, n: int) -> str:
    """`<response-uuid + N>` for `<uuid + N>`, as Google answers."""
    if request_id and request_id.startswith("<") and request_id.endswith(">"):
        return f"<response-{request_id[1:-1]}>"
    return f"<response-{request_id or f'part + {n}'}>"


def format_batch(boundary: str, responses: list[PartResponse]) -> tuple[str, bytes]:
    """The multipart/mixed reply: its Content-Type header value and body."""
    chunks = []
    for n, r in enumerate(responses, start=1):
        reason = _reason(r.status)
        head = (
            f"--{boundary}\r\n"
            "Content-Type: application/http\r\n"
            f"Content-ID: {response_id(r.content_id, n)}\r\n"
            "\r\n"
            f"HTTP/1.1 {r.status} {reason}\r\n"
        )
        if r.body:
            head += f"Content-Type: {r.content_type}\r\n"
        head += f"Content-Length: {len(r.body)}\r\n\r\n"
        chunks.append(head.encode("latin-1"))
        chunks.append(r.body)
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode("latin-1"))
    return f"multipart/mixed; boundary={boundary}", b"".join(chunks)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
