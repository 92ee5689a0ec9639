"""Batch wire format: what googleapiclient sends is read, what it reads is written."""

import json

import pytest
from googleapiclient.http import BatchHttpRequest

from reconciler.emulator.batch import (
    MAX_PARTS,
    BatchFormatError,
    PartResponse,
    boundary_of,
    format_batch,
    parse_batch,
    response_id,
)

BOUNDARY = "===============7330845974216740156=="
CONTENT_TYPE = f'multipart/mixed; boundary="{BOUNDARY}"'


def request_body(n: int, newline: str = "\n") -> bytes:
    parts = []
    for i in range(1, n + 1):
        body = json.dumps({"email": f"m{i}@example.com"})
        parts.append(
            f"--{BOUNDARY}\nContent-Type: application/http\nMIME-Version: 1.0\n"
            f"Content-Transfer-Encoding: binary\nContent-ID: <8f1d-uuid + {i}>\n\n"
            f"POST /admin/directory/v1/groups/g%40example.com/members?alt=json HTTP/1.1\n"
            f"Content-Type: application/json\nMIME-Version: 1.0\naccept: application/json\n"
            f"content-length: {len(body)}\nHost: 127.0.0.1:1\n\n{body}\n"
        )
    return ("".join(parts) + f"--{BOUNDARY}--\n").replace("\n", newline).encode()


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_parse_reads_googleapiclient_parts_with_either_line_ending(newline):
    parts = parse_batch(CONTENT_TYPE, request_body(3, newline))
    assert [p.content_id for p in parts] == [f"<8f1d-uuid + {i}>" for i in (1, 2, 3)]
    first = parts[0]
    assert first.method == "POST"
    assert first.target == "/admin/directory/v1/groups/g%40example.com/members?alt=json"
    assert first.headers["content-type"] == "application/json"
    assert json.loads(first.body) == {"email": "m1@example.com"}


def test_parse_part_without_headers_or_body():
    body = f"--{BOUNDARY}\nContent-ID: <a + 1>\n\nGET /admin/directory/v1/users HTTP/1.1\n\n\n"
    body += f"--{BOUNDARY}--"
    (part,) = parse_batch(CONTENT_TYPE, body.encode())
    assert (part.method, part.target, part.headers, part.body) == (
        "GET",
        "/admin/directory/v1/users",
        {},
        None,
    )


def test_parse_absolute_request_target_keeps_path_and_query():
    body = f"--{BOUNDARY}\n\nGET http://h/admin/directory/v1/users?a=1 HTTP/1.1\nX: y\n\n"
    (part,) = parse_batch(CONTENT_TYPE, (body + f"\n--{BOUNDARY}--").encode())
    assert part.target == "/admin/directory/v1/users?a=1"


def test_parse_reads_the_real_clients_serialization():
    batch = BatchHttpRequest(batch_uri="http://127.0.0.1:1/batch")

    class Req:  # the attributes _serialize_request reads
        uri = "http://127.0.0.1:1/admin/directory/v1/groups?alt=json"
        method = "POST"
        headers = {"content-type": "application/json"}
        body = '{"email": "g@example.com"}'
        http = None

    text = batch._serialize_request(Req())
    body = f"--{BOUNDARY}\nContent-Type: application/http\nContent-ID: <u + 1>\n\n{text}\n"
    (part,) = parse_batch(CONTENT_TYPE, (body + f"--{BOUNDARY}--\n").encode())
    assert part.target == "/admin/directory/v1/groups?alt=json"
    assert json.loads(part.body) == {"email": "g@example.com"}


def test_boundary_quoted_or_bare():
    assert boundary_of(CONTENT_TYPE) == BOUNDARY
    assert boundary_of("multipart/mixed; boundary=abc; charset=x") == "abc"


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("application/json", b"{}", "must be multipart/mixed"),
        ("multipart/mixed", b"", "has no boundary"),
        (CONTENT_TYPE, b"nothing here", "does not contain its boundary"),
        (CONTENT_TYPE, f"--{BOUNDARY}--\n".encode(), "holds no requests"),
        (CONTENT_TYPE, f"--{BOUNDARY}\n\n\n--{BOUNDARY}--".encode(), "request line"),
        (
            CONTENT_TYPE,
            f"--{BOUNDARY}\nContent-Type: text/plain\n\nGET / HTTP/1.1\n\n--{BOUNDARY}--".encode(),
            "must be application/http",
        ),
    ],
)
def test_unreadable_batches_say_why(content_type, body, message):
    with pytest.raises(BatchFormatError, match=message):
        parse_batch(content_type, body)


def test_at_most_1000_parts():
    assert len(parse_batch(CONTENT_TYPE, request_body(MAX_PARTS))) == MAX_PARTS
    with pytest.raises(BatchFormatError, match="at most 1000"):
        parse_batch(CONTENT_TYPE, request_body(MAX_PARTS + 1))


def test_response_ids_follow_the_request_ids():
    assert response_id("<8f1d + 3>", 3) == "<response-8f1d + 3>"
    assert response_id(None, 2) == "<response-part + 2>"


def test_formatted_reply_is_read_by_googleapiclient():
    batch = BatchHttpRequest(batch_uri="http://127.0.0.1:1/batch")
    error = {"error": {"code": 409, "message": "Entity already exists.", "errors": []}}
    responses = [
        PartResponse("<u + 1>", 200, b'{"id": "1"}'),
        PartResponse("<u + 2>", 409, json.dumps(error).encode()),
        PartResponse("<u + 3>", 204),
    ]
    content_type, body = format_batch("b_1", responses)
    assert content_type == "multipart/mixed; boundary=b_1"
    text = body.decode()
    assert "HTTP/1.1 409 Conflict\r\n" in text and "HTTP/1.1 204 No Content\r\n" in text

    # The same steps as BatchHttpRequest._execute after the HTTP round trip.
    from email.parser import FeedParser

    parser = FeedParser()
    parser.feed(f"content-type: {content_type}\r\n\r\n" + text)
    seen = {}
    for part in parser.close().get_payload():
        resp, content = batch._deserialize_response(part.get_payload())
        seen[batch._header_to_id(part["Content-ID"])] = (resp.status, content)
    assert seen == {
        "1": (200, '{"id": "1"}'),
        "2": (409, json.dumps(error)),
        "3": (204, ""),
    }


def test_the_boundary_counts_only_at_the_start_of_a_line():
    # A JSON string may hold the delimiter text (escaped line breaks keep it mid-line).
    text = json.dumps(
        {"email": "x@example.com", "description": f"a\n--{BOUNDARY}\nb --{BOUNDARY}--"}
    )
    body = (
        f"--{BOUNDARY}\nContent-Type: application/http\nContent-ID: <u + 1>\n\n"
        f"POST /admin/directory/v1/groups HTTP/1.1\nContent-Type: application/json\n\n{text}\n"
        f"--{BOUNDARY}\nContent-Type: application/http\nContent-ID: <u + 2>\n\n"
        f"GET /admin/directory/v1/groups/x%40example.com HTTP/1.1\n\n\n"
        f"--{BOUNDARY}--\n"
    )
    first, second = parse_batch(CONTENT_TYPE, body.encode())
    assert json.loads(first.body)["description"] == f"a\n--{BOUNDARY}\nb --{BOUNDARY}--"
    assert (second.content_id, second.method) == ("<u + 2>", "GET")


def test_delimiter_lines_may_carry_transport_padding():
    body = (
        f"--{BOUNDARY} \t\r\nContent-ID: <u + 1>\r\n\r\n"
        "GET /admin/directory/v1/users HTTP/1.1\r\n\r\n\r\n"
        f"--{BOUNDARY}--  \r\n"
    )
    (part,) = parse_batch(CONTENT_TYPE, body.encode())
    assert (part.content_id, part.target) == ("<u + 1>", "/admin/directory/v1/users")


def test_folded_part_headers_are_unfolded():
    # googleapiclient's email generator folds a long Content-ID (a long request_id).
    body = (
        f"--{BOUNDARY}\nContent-Type: application/http\n"
        "Content-ID: <9687d705-262c-46d6-95a0-98a7026cca22 +\n directory.users.aliases.insert>\n\n"
        "GET /admin/directory/v1/users HTTP/1.1\n\n\n"
        f"--{BOUNDARY}--\n"
    )
    (part,) = parse_batch(CONTENT_TYPE, body.encode())
    assert (
        part.content_id == "<9687d705-262c-46d6-95a0-98a7026cca22 + directory.users.aliases.insert>"
    )
