"""`reconciler emulator serve`: starts, answers on loopback only, persists on exit."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import children
import pytest

from .api_support import access_token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def other_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses, if it has any."""
    try:
        names = socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        names = []
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent
        names.append(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    return sorted({a for a in names if not a.startswith("127.") and a != "0.0.0.0"})


def start(*args: str) -> subprocess.Popen:
    """`reconciler emulator serve ARGS` in a child; use it in `with children.reaped(...)`."""
    return children.start(
        [sys.executable, "-m", "reconciler", "emulator", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_url(proc: subprocess.Popen) -> str:
    line = proc.stderr.readline()
    assert "http://127.0.0.1:" in line, line + proc.stderr.read()
    return line.split(" at ", 1)[1].split()[0]


def options_args(options: dict[str, str]) -> list[str]:
    return [word for pair in options.items() for word in pair]


def bearer(url: str) -> dict[str, str]:
    """An Authorization header with a token the emulator at `url` issued."""
    return {"Authorization": f"Bearer {access_token(url)}"}


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def test_serve_answers_on_loopback_and_persists_on_ctrl_c(tmp_path: Path):
    seed = tmp_path / "tenant.json"
    seed.write_text(
        json.dumps({"domains": ["example.com"], "groups": [{"email": "a@example.com"}]})
    )
    state = tmp_path / "state.json"
    port = free_port()
    options = {
        "--latency-ms": "1",
        "--fault-rate": "0",
        "--fault-seed": "5",
        "--quota-per-minute": "1000",
        "--consistency-delay-ms": "0",
        "--listing-lag-ms": "250",
        "--address-hold-ms": "250",
        "--transfer-delay-ms": "50",
    }
    proc = start(
        "--port", str(port), "--seed", str(seed), "--state", str(state), *options_args(options)
    )
    with children.reaped(proc):
        url = wait_for_url(proc)
        assert url == f"http://127.0.0.1:{port}"
        config = get_json(url + "/_emulator/stats")["config"]
        for option, value in options.items():
            assert config[option[2:].replace("-", "_")] == float(value)
        doc = get_json(url + "/$discovery/rest?version=directory_v1")
        assert doc["rootUrl"] == url + "/"
        body = json.dumps({"email": "b@example.com", "name": "b"}).encode()
        req = urllib.request.Request(
            url + "/admin/directory/v1/groups",
            data=body,
            headers={"Content-Type": "application/json", **bearer(url)},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        for address in other_addresses():
            # This machine's own address, connected to by number (no name is resolved).
            with socket.socket() as probe, pytest.raises(OSError):
                probe.settimeout(2)
                probe.connect((address, port))
        out, err = children.stop(proc, signal.SIGINT)
    assert proc.returncode == 0, err
    assert "Emulator stopped" in err and out == ""
    assert "b@example.com" in state.read_text() or any(
        "b@example.com" in p.read_text() for p in tmp_path.iterdir() if p.is_file()
    )

    # Restarted on any free port: the one above may be taken again by now (tests run in
    # parallel).
    proc = start("--port", "0", "--seed", str(seed), "--state", str(state))
    with children.reaped(proc):
        url = wait_for_url(proc)
        emails = [g["email"] for g in get_json(url + "/_emulator/state")["groups"]]
        assert "b@example.com" in emails
        # Without the option, transfers still take a moment, as at Google.
        assert get_json(url + "/_emulator/config")["transfer_delay_ms"] > 0
        _, err = children.stop(proc, signal.SIGTERM)  # SIGTERM also stops cleanly
    assert proc.returncode == 0, err


def test_serve_reports_a_busy_port_as_an_error(tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with children.reaped(start("--port", str(busy.getsockname()[1]))) as proc:
            _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "error" in err.lower() and "Traceback" not in err


@pytest.mark.parametrize("args", [["--fault-rate", "2"], ["--port", "-1"], ["--bogus"]])
def test_serve_usage_errors_exit_1(args):
    with children.reaped(start(*args)) as proc:
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "Error:" in err


def test_serve_help_lists_the_contract_options():
    proc = children.run(
        [sys.executable, "-m", "reconciler", "emulator", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    for option in (
        "--port",
        "--seed",
        "--state",
        "--latency-ms",
        "--fault-rate",
        "--fault-seed",
        "--quota-per-minute",
        "--consistency-delay-ms",
        "--listing-lag-ms",
        "--address-hold-ms",
        "--transfer-delay-ms",
    ):
        assert option in proc.stdout


def test_serve_with_a_fault_rate_injects_faults(tmp_path: Path):
    seed = tmp_path / "tenant.json"
    seed.write_text(
        json.dumps({"domains": ["example.com"], "groups": [{"email": "a@example.com"}]})
    )
    proc = start("--port", "0", "--seed", str(seed), "--fault-rate", "1", "--fault-seed", "3")
    with children.reaped(proc):
        url = wait_for_url(proc)
        assert get_json(url + "/_emulator/config")["fault_rate"] == 1  # not faulted itself
        failures = []
        for _ in range(6):
            try:
                req = urllib.request.Request(
                    url + "/admin/directory/v1/groups/a%40example.com", headers=bearer(url)
                )
                urllib.request.urlopen(req, timeout=10)
            except urllib.error.HTTPError as exc:
                body = json.loads(exc.read())
                assert body["error"]["code"] == exc.code
                failures.append(exc.code)
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError):
                failures.append("dropped")
        assert len(failures) == 6 and set(failures) <= {429, 503, 403, "dropped"}
        stats = get_json(url + "/_emulator/stats")
        assert stats["faults_injected"] == 6 and stats["api_calls"] == 6
        assert sum(stats["faults_by_kind"].values()) == 6
        _, err = children.stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err


def test_serve_takes_the_batch_order(tmp_path: Path):
    proc = start("--port", "0", "--batch-order", "shuffle", "--fault-seed", "5")
    with children.reaped(proc):
        url = wait_for_url(proc)
        config = get_json(url + "/_emulator/config")
        assert config["batch_order"] == "shuffle" and config["fault_seed"] == 5
        _, err = children.stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err


def test_a_state_in_use_says_so_without_the_seed_hint(tmp_path: Path):
    state = tmp_path / "tenant.json"
    with children.reaped(start("--port", "0", "--state", str(state))) as first:
        wait_for_url(first)
        with children.reaped(start("--port", "0", "--state", str(state))) as second:
            _, err = second.communicate(timeout=60)
        assert second.returncode == 1
        assert "in use by process" in err and "move it aside" not in err
        assert "Traceback" not in err


def test_serve_with_an_entra_seed_answers_microsoft_graph_on_the_same_port(tmp_path: Path):
    example = Path(__file__).resolve().parents[2] / "examples" / "desired-state"
    state = tmp_path / "entra.json"
    proc = start(
        "--port",
        "0",
        "--entra-seed",
        str(example / "entra-tenant.yaml"),
        "--entra-state",
        str(state),
    )
    with children.reaped(proc):
        url = wait_for_url(proc)
        tenant = "3f6c1a52-8d4e-4b7a-9c21-5e8f0a6d2b94"
        config = get_json(f"{url}/{tenant}/v2.0/.well-known/openid-configuration")
        assert config["token_endpoint"].endswith(f"/{tenant}/oauth2/v2.0/token")
        try:
            urllib.request.urlopen(url + "/v1.0/groups", timeout=10)
            raise AssertionError("Graph answered without a token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
            assert json.loads(exc.read())["error"]["code"] == "InvalidAuthenticationToken"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=children.RUN_TIMEOUT_S)


def test_stats_show_graph_calls_and_round_trips_under_graph(tmp_path: Path):
    tenant, client = "3f6c1a52-8d4e-4b7a-9c21-5e8f0a6d2b94", "b7e2d9a4-1c3f-4e5a-8b6d-0f9e2c4a7d13"
    seed = tmp_path / "entra.yaml"
    seed.write_text(
        f"tenant_id: {tenant}\napplications:\n  - client_id: {client}\n"
        "    roles: [Group.ReadWrite.All, User.Read.All]\n    secret: s3cret\n"
        "users:\n  - {userPrincipalName: admin@example.com}\n"
    )
    proc = start("--port", "0", "--entra-seed", str(seed))
    with children.reaped(proc):
        url = wait_for_url(proc)
        with pytest.raises(urllib.error.HTTPError) as refused:  # counted, though refused
            urllib.request.urlopen(url + "/v1.0/groups", timeout=10)
        assert refused.value.code == 401
        form = (
            f"grant_type=client_credentials&client_id={client}&client_secret=s3cret"
            "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
        )
        with urllib.request.urlopen(
            f"{url}/{tenant}/oauth2/v2.0/token", data=form.encode(), timeout=10
        ) as answer:
            token = json.loads(answer.read())["access_token"]
        items = [{"id": str(i), "method": "GET", "url": "/users"} for i in range(3)]
        batch = urllib.request.Request(
            url + "/v1.0/$batch",
            data=json.dumps({"requests": items}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        with urllib.request.urlopen(batch, timeout=10) as answer:
            assert [r["status"] for r in json.loads(answer.read())["responses"]] == [200] * 3
        stats = get_json(url + "/_emulator/stats")
        graph = stats["graph"]
        assert graph["requests"] == {
            "GET /v1.0/groups": 1,
            "POST /v1.0/$batch": 1,
            "GET /v1.0/users": 3,
        }
        # Calls: each lone request and batch item; round trips: the batch counts once, and
        # the token request is no round trip to Graph (its grants are counted apart).
        assert (graph["api_calls"], graph["http_requests"]) == (4, 2)
        assert graph["token_grants"] == 1
        assert stats["http_requests"] == stats["api_calls"] == 0  # Google's: none
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=children.RUN_TIMEOUT_S)


def test_stats_have_no_graph_key_without_an_entra_seed():
    proc = start("--port", "0")
    with children.reaped(proc):
        url = wait_for_url(proc)
        assert "graph" not in get_json(url + "/_emulator/stats")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=children.RUN_TIMEOUT_S)


def test_a_bad_entra_seed_is_refused_with_its_name(tmp_path: Path):
    seed = tmp_path / "entra.yaml"
    seed.write_text("tenant_id: not-a-guid\n")
    proc = start("--port", "0", "--entra-seed", str(seed))
    with children.reaped(proc):
        _, err = proc.communicate(timeout=children.RUN_TIMEOUT_S)
    assert proc.returncode == 1 and "Traceback" not in err
    assert str(seed) in err and "tenant_id" in err
