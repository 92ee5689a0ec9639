"""Authorization as Google checks it: the token endpoint's subject and scopes, and the Bearer
token of every call and every batch part."""

from __future__ import annotations

import json
import uuid

import pytest

from reconciler.emulator import auth
from reconciler.emulator.api import SERVICES
from reconciler.emulator.auth import Tokens, method_scopes
from reconciler.google.credentials import scopes as scopes_for

from .api_support import (
    SERVICE_ACCOUNT,
    Client,
    access_token,
    key,
    make,
    token_answer,
    unsigned_assertion,
)

ROOT = "https://www.googleapis.com/auth/"
USER_READ = ROOT + "admin.directory.user.readonly"
USER_WRITE = ROOT + "admin.directory.user"
GROUP_READ = ROOT + "admin.directory.group.readonly"
DOMAIN_READ = ROOT + "admin.directory.domain.readonly"
DOMAIN_WRITE = ROOT + "admin.directory.domain"
ADMIN = "admin@example.com"  # isAdmin in SMALL_SEED
NOT_ADMIN = "jo@example.com"


def grant(client: Client, scopes=(USER_READ,), subject: str | None = None, **claims):
    assertion = unsigned_assertion(scopes, subject, **claims)
    return token_answer(client.netloc, assertion)


def use(client: Client, token: str | None) -> Client:
    client.authorization = None if token is None else f"Bearer {token}"
    return client


# -- the token endpoint --------------------------------------------------------------------------


def test_a_subject_of_the_tenant_gets_a_token_that_remembers_its_scopes():
    client = make()
    status, answer = grant(client, (USER_READ, GROUP_READ), ADMIN)
    assert status == 200, answer
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 3600
    use(client, answer["access_token"])
    assert client.ok("GET", "users/" + key(NOT_ADMIN))["primaryEmail"] == NOT_ADMIN
    assert client.ok("GET", "groups/" + key("eng@example.com"))["email"] == "eng@example.com"
    stats = client.server.stats_json()
    assert stats["token_grants"] == 2  # the Client's own, and this one
    assert stats["token_scopes"][USER_READ] == 2 and stats["token_scopes"][GROUP_READ] == 2
    assert answer["access_token"] not in json.dumps(stats)


@pytest.mark.parametrize("subject", ["nobody@example.com", "eng@example.com", "x@elsewhere.net"])
def test_a_subject_that_is_no_user_of_the_tenant_is_an_invalid_grant(subject):
    status, answer = grant(make(), (USER_READ,), subject)
    assert status == 400
    assert answer == {"error": "invalid_grant", "error_description": "Invalid email or User ID"}


def test_a_subject_may_be_named_by_alias_id_or_in_another_case():
    client = make()
    jo_id = client.ok("GET", "users/" + key(NOT_ADMIN))["id"]
    for subject in ("jo.lei@example.com", jo_id, "JO@Example.com"):
        status, answer = grant(client, (USER_READ,), subject)
        assert status == 200, (subject, answer)


def test_scopes_the_tenant_did_not_delegate_are_an_unauthorized_client():
    client = make()
    client.server.configure(delegated_scopes=[USER_READ])
    assert grant(client, (USER_READ,), ADMIN)[0] == 200
    status, answer = grant(client, (USER_READ, USER_WRITE), ADMIN)
    assert status == 401
    assert answer == {
        "error": "unauthorized_client",
        "error_description": "Client is unauthorized to retrieve access tokens using this "
        "method, or client not authorized for any of the scopes requested.",
    }
    # Without a subject there is no delegation: the service account asks for itself.
    assert grant(client, (USER_READ, USER_WRITE))[0] == 200


def test_an_assertion_without_scopes_or_issuer_is_refused():
    client = make()
    status, answer = grant(client, ())
    assert (status, answer["error"]) == (400, "invalid_scope")
    status, answer = grant(client, (USER_READ,), issuer="")
    assert (status, answer["error"]) == (400, "invalid_grant")
    assert client.server.stats_json()["token_grants"] == 1  # the Client's own


def test_tokens_expire_after_an_hour():
    now = [1000.0]
    tokens = Tokens(clock=lambda: now[0])
    token = tokens.issue([USER_READ], None, SERVICE_ACCOUNT)
    assert tokens.lookup(token) is not None
    now[0] += auth.TOKEN_LIFETIME_S - 1
    assert tokens.lookup(token) is not None
    now[0] += 1
    assert tokens.lookup(token) is None
    assert tokens.lookup(None) is None and tokens.lookup("made-up") is None


# -- every call needs a token whose scopes cover it ----------------------------------------------


UNAUTHENTICATED = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "errors": [
            {
                "message": "Invalid Credentials",
                "domain": "global",
                "reason": "authError",
                "location": "Authorization",
                "locationType": "header",
            }
        ],
        "status": "UNAUTHENTICATED",
    }
}


@pytest.mark.parametrize("header", [None, "Bearer made-up", "Basic YTpi", "Bearer "])
def test_a_call_without_a_valid_token_is_401(header):
    client = make()
    client.authorization = header
    response = client.request("GET", "users/" + key(NOT_ADMIN))
    assert (response.status, response.body) == (401, UNAUTHENTICATED)
    response = client.request("POST", "groups", {"email": "new@example.com"})
    assert response.status == 401
    use(client, access_token(client.netloc))
    assert client.request("GET", "groups/" + key("new@example.com")).status == 404  # not run


def test_a_read_only_token_reads_but_cannot_write():
    client = make()
    use(client, access_token(client.netloc, [USER_READ], ADMIN))
    client.ok("GET", "users", customer="my_customer")
    message = client.fails(
        403, "insufficientPermissions", "PATCH", "users/" + key(NOT_ADMIN), {"suspended": True}
    )
    assert message == "Request had insufficient authentication scopes."
    # A scope of another resource authorizes nothing here.
    client.fails(403, "insufficientPermissions", "GET", "groups/" + key("eng@example.com"))
    use(client, access_token(client.netloc))
    assert client.ok("GET", "users/" + key(NOT_ADMIN))["suspended"] is False


def test_the_domain_scopes_authorize_the_domain_reads_and_nothing_else():
    for method in ("domains.list", "domains.get", "domainAliases.list", "domainAliases.get"):
        assert method_scopes()["directory." + method] == {DOMAIN_READ, DOMAIN_WRITE}, method
    client = make()
    domains, aliases = "customer/my_customer/domains", "customer/my_customer/domainaliases"
    use(client, access_token(client.netloc, [DOMAIN_READ], ADMIN))
    assert [d["domainName"] for d in client.ok("GET", domains)["domains"]] == [
        "example.com",
        "example.org",
    ]
    client.ok("GET", domains + "/example.com")
    client.ok("GET", aliases)
    client.fails(403, "insufficientPermissions", "GET", "users", customer="my_customer")
    # The Directory scopes of users, groups, org units and schemas do not cover domains.
    others = [s for s in access_scopes() if not s.startswith(ROOT + "admin.directory.domain")]
    use(client, access_token(client.netloc, others, ADMIN))
    client.fails(403, "insufficientPermissions", "GET", domains)
    client.fails(403, "insufficientPermissions", "GET", aliases)


def access_scopes() -> list[str]:
    """Every scope the tool asks for, read-only and read-write."""
    return [*scopes_for(True), *scopes_for(False)]


def test_a_token_acting_as_a_user_who_is_no_admin_is_forbidden():
    client = make()
    use(client, access_token(client.netloc, [USER_READ], NOT_ADMIN))
    message = client.fails(403, "forbidden", "GET", "users/" + key(ADMIN))
    assert message == "Not Authorized to access this resource/api"


def test_a_service_account_acting_as_itself_needs_an_admin_role():
    client = make()
    client.server.configure(admin_service_accounts=["other@p.iam.gserviceaccount.com"])
    client.fails(403, "forbidden", "GET", "users/" + key(ADMIN))
    client.server.configure(admin_service_accounts=[SERVICE_ACCOUNT.upper()])
    client.ok("GET", "users/" + key(ADMIN))
    # With a subject, the subject's rights count.
    use(client, access_token(client.netloc, [USER_READ], ADMIN))
    client.server.configure(admin_service_accounts=[])
    client.ok("GET", "users/" + key(ADMIN))


def test_unknown_paths_answer_404_whoever_asks():
    client = make()
    client.authorization = None
    assert client.request("GET", "nowhere").status == 404


def test_every_route_has_scopes_and_read_only_ones_authorize_only_reads():
    scopes = method_scopes()
    routes = [route for table in SERVICES.values() for route in table]
    for http_method, _, method_id, _ in routes:
        allowed = scopes[method_id]
        assert allowed, method_id
        if http_method != "GET":
            assert not any(s.endswith(".readonly") for s in allowed), method_id


# -- batches ----------------------------------------------------------------------------------


def batch(client: Client, parts: list[tuple[str, str, str | None]], outer: str | None):
    """POST a batch of (method, path, part Authorization header) parts; the part statuses."""
    boundary = "===============" + uuid.uuid4().hex + "=="
    chunks = []
    for n, (method, path, part_auth) in enumerate(parts, start=1):
        head = f"{method} /admin/directory/v1/{path} HTTP/1.1\nAccept: application/json\n"
        if part_auth is not None:
            head += f"Authorization: {part_auth}\n"
        chunks.append(
            f"--{boundary}\nContent-Type: application/http\nContent-ID: <x + {n}>\n\n{head}\n"
        )
    body = ("".join(chunks) + f"--{boundary}--\n").encode()
    headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
    if outer is not None:
        headers["Authorization"] = outer
    client.connection.request("POST", "/batch", body=body, headers=headers)
    answer = client.connection.getresponse()
    data = answer.read().decode()
    assert answer.status == 200
    return [int(line.split()[1]) for line in data.splitlines() if line.startswith("HTTP/1.1 ")]


def test_batch_parts_use_their_own_token_or_the_batchs():
    client = make()
    good = f"Bearer {access_token(client.netloc)}"
    reader = f"Bearer {access_token(client.netloc, [USER_READ])}"
    get = ("GET", "users/" + key(NOT_ADMIN))
    delete = ("DELETE", "groups/" + key("all@example.com"))
    assert batch(client, [(*get, None), (*get, None)], None) == [401, 401]
    assert batch(client, [(*get, None), (*get, "Bearer made-up")], good) == [200, 401]
    assert batch(client, [(*get, None), (*delete, None)], reader) == [200, 403]
    assert batch(client, [(*get, reader), (*delete, good)], None) == [200, 204]


def test_an_api_the_project_has_not_enabled_is_refused_as_google_refuses_it():
    client = make()
    assert client.ok("GET", "users/" + key(ADMIN))["primaryEmail"] == ADMIN
    client.server.configure(disabled_apis=["directory"])
    response = client.request("GET", "users/" + key(ADMIN))
    assert response.status == 403
    error = response.body["error"]
    assert error["status"] == "PERMISSION_DENIED" and error["code"] == 403
    assert error["message"].startswith(
        "Admin SDK API has not been used in project 123456789012 before or it is disabled. "
        "Enable it by visiting https://console.developers.google.com/apis/api/"
        "admin.googleapis.com/overview?project=123456789012 then retry."
    )
    (detail,) = error["errors"]
    assert (detail["reason"], detail["domain"]) == ("accessNotConfigured", "usageLimits")
    client.server.configure(disabled_apis=["licensing"])  # another API: this one answers
    assert client.ok("GET", "users/" + key(ADMIN))["primaryEmail"] == ADMIN
    with pytest.raises(ValueError, match="disabled_apis must name APIs among"):
        client.server.configure(disabled_apis=["calendar"])
