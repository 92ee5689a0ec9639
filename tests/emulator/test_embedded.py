"""The embedded emulator of a state directory: seeded from tenant.yaml, persisted locally."""

import shutil
import sys
from pathlib import Path

import children
import httplib2
import pytest
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document

from reconciler.desired.load import load_tree
from reconciler.emulator.embedded import open_embedded, open_embedded_entra
from reconciler.emulator.journal import StateError
from reconciler.emulator.server import discovery_document
from reconciler.google.credentials import loopback_credentials, scopes

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "desired-state"


def service(base_url: str):
    credentials = loopback_credentials(base_url, None, scopes(read_only=False))
    http = AuthorizedHttp(credentials, http=httplib2.Http())
    return build_from_document(discovery_document(base_url), http=http)


def emails(base_url: str) -> set[str]:
    users = service(base_url).users().list(customer="my_customer", maxResults=500).execute()
    return {u["primaryEmail"] for u in users["users"]}


def test_example_tenant_is_served_and_persists_locally(tmp_path):
    root = tmp_path / "state"
    shutil.copytree(EXAMPLE, root)
    workspace = load_tree(root).workspace
    with open_embedded(root, workspace) as server:
        url = server.start()
        assert url.startswith("http://127.0.0.1:")
        before = emails(url)
        assert "maria.costa@example.com" in before and "info@example.com" in before
        service(url).users().delete(userKey="info@example.com").execute()
    local = root / ".reconciler"
    assert (local / "emulator.json").is_file()
    assert (local / ".gitignore").read_text().splitlines()[-1] == "*"
    with open_embedded(root, workspace) as server:
        assert emails(server.start()) == before - {"info@example.com"}


def test_missing_default_seed_means_an_empty_tenant(tmp_path):
    (tmp_path / "workspace.yaml").write_text(
        "directory:\n  domains: [example.com]\nownership:\n  id: acme/identity\n"
        "provider:\n  kind: emulator\n"
    )
    workspace = load_tree(tmp_path).workspace
    with open_embedded(tmp_path, workspace) as server:
        listing = service(server.start()).users().list(customer="my_customer").execute()
    assert "users" not in listing


def test_one_run_at_a_time_per_state_directory(tmp_path):
    root = tmp_path / "state"
    shutil.copytree(EXAMPLE, root)
    workspace = load_tree(root).workspace
    with open_embedded(root, workspace) as server:
        service(server.start()).users().delete(userKey="info@example.com").execute()
        with pytest.raises(StateError, match="is in use by process"):
            open_embedded(root, workspace)
    for _ in range(2):  # runs one after the other: each opens the state the last one left
        with open_embedded(root, workspace) as server:
            assert "info@example.com" not in emails(server.start())


def test_a_server_that_never_started_releases_the_state(tmp_path):
    root = tmp_path / "state"
    shutil.copytree(EXAMPLE, root)
    workspace = load_tree(root).workspace
    open_embedded(root, workspace).stop()
    with open_embedded(root, workspace) as server:
        assert "info@example.com" in emails(server.start())


def test_the_emulated_entra_tenant_is_kept_out_of_git_too(tmp_path):
    """Its state lands in .reconciler/ even when Google's emulator is not the embedded one
    (RECONCILER_GOOGLE_ENDPOINT, or `provider.kind: google`): the folder ignores itself."""
    root = tmp_path / "state"
    shutil.copytree(EXAMPLE, root)
    entra = load_tree(root).workspace.entra
    with open_embedded_entra(root, entra):
        pass
    assert (root / ".reconciler" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_one_process_at_a_time_holds_the_emulated_entra_tenant(tmp_path):
    root = tmp_path / "state"
    shutil.copytree(EXAMPLE, root)
    entra = load_tree(root).workspace.entra
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from reconciler.desired.load import load_tree\n"
        "from reconciler.emulator.embedded import open_embedded_entra\n"
        "from reconciler.emulator.journal import StateInUse\n"
        "root = Path(sys.argv[1])\n"
        "try:\n"
        "    with open_embedded_entra(root, load_tree(root).workspace.entra):\n"
        "        print('opened')\n"
        "except StateInUse as exc:\n"
        "    print('in use:', exc)\n"
    )

    def open_elsewhere():
        return children.run(
            [sys.executable, "-c", code, str(root)],
            capture_output=True,
            text=True,
            timeout=children.RUN_TIMEOUT_S,
            check=False,
        )

    with open_embedded_entra(root, entra):
        held = open_elsewhere()
    assert held.returncode == 0, held.stderr
    assert held.stdout.startswith("in use:") and "entra.json" in held.stdout
    assert open_elsewhere().stdout.strip() == "opened"
