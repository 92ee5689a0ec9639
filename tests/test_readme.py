"""The README's set-up commands stay true: CI runs exactly the documented test command; the
Google pages name exactly the scopes a run asks for."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_starts_with_the_two_setup_commands():
    main_job, tests = setup_commands()
    assert "reconciler" in main_job and "examples/desired-state" in main_job
    assert "pytest" in tests and "[test]" in tests


def test_ci_runs_the_readme_test_command_exactly():
    _, tests = setup_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci


def test_google_pages_name_exactly_the_scopes_asked_for():
    """Every scope a run asks for, read-only ones included, in docs/google.md and in
    docs/google-setup.md, and no other."""
    from reconciler.google.credentials import SCOPE_ROOT, scopes

    asked = {s.removeprefix(SCOPE_ROOT) for s in scopes(True) + scopes(False)}
    google = (ROOT / "docs" / "google.md").read_text()
    section = google.split("\n## Scopes\n", 1)[1].split("\n## ", 1)[0]
    delegated = section.split("domain-wide delegation for these", 1)[1].split(". ", 1)[0]
    in_google = set(re.findall(r"`(admin\.directory\.[a-z.]+)`", delegated))
    setup = (ROOT / "docs" / "google-setup.md").read_text()
    listed = setup.split("OAuth scopes, comma-separated:", 1)[1].split("```")[1].strip()
    in_setup = {s.removeprefix(SCOPE_ROOT) for s in listed.split(",")}
    assert in_google == in_setup == asked
    assert len(asked) == 9 and "admin.directory.domain" not in asked


def test_google_setup_names_exactly_the_scopes_of_each_optional_feature():
    """docs/google-setup.md's step 3 gives, besides the nine, one block of scopes per
    feature (offboarding, group settings, licenses, onboarding): each is exactly what
    credentials.scopes() adds for that feature's flag (onboarding's: the one scope its
    messages are sent with), read-only and read-write together, and no block names a scope
    no run asks for. `reconciler doctor` prints the scopes from the same function."""
    from reconciler.google.credentials import scopes

    def added(**flag: bool) -> set[str]:
        both = [*scopes(True, **flag), *scopes(False, **flag)]
        return set(both) - set(scopes(True) + scopes(False))

    setup = (ROOT / "docs" / "google-setup.md").read_text()
    step = setup.split("## 3. ", 1)[1].split("\n## ", 1)[0]
    blocks = [b.strip() for b in re.findall(r"```\n(.+?)\n```", step, flags=re.S)]
    in_blocks = [set(b.split(",")) for b in blocks]
    # Onboarding's is asked for as `onboarding.from`, apart (google/execute.py: mail_as).
    from reconciler.onboarding import GMAIL_SEND_SCOPE

    assert in_blocks[1:] == [
        added(offboarding=True),
        added(group_settings=True),
        added(licenses=True),
        {GMAIL_SEND_SCOPE},
    ]
    everything = set(scopes(True, True, True, True) + scopes(False, True, True, True))
    assert set().union(*in_blocks) == everything | {GMAIL_SEND_SCOPE}
