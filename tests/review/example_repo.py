"""The example directory in a Git repository with a few pull requests merged: squash
commits, a merge commit with a Reviewed-by trailer, a file split, a member removed and added
again, a rebase merge, a group Git does not export, and apply records in git notes. The
access review's tests and the documentation's screenshot (screenshot.py) use it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "desired-state"
OLIVIA = "Olivia Grant <olivia.grant@example.com>"


def git(repo: Path, *args: str, who: str = "Ana", date_: str | None = None) -> str:
    env = {
        "GIT_AUTHOR_NAME": who,
        "GIT_AUTHOR_EMAIL": f"{who.lower()}@example.com",
        "GIT_COMMITTER_NAME": who,
        "GIT_COMMITTER_EMAIL": f"{who.lower()}@example.com",
        "HOME": str(repo),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "GIT_CONFIG_NOSYSTEM": "1",
        **({"GIT_AUTHOR_DATE": date_, "GIT_COMMITTER_DATE": date_} if date_ else {}),
    }
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name}: {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def commit(repo: Path, message: str, when: str, who: str = "Ana") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message, who=who, date_=when)
    return git(repo, "rev-parse", "HEAD")


PLATFORM = """
  # Lena Hoffmann (staged) joins the Google group once her account is active.
  - name: platform
"""


def make_history(repo: Path) -> dict[str, str]:
    """The example in a repository at `repo` with a few pull requests merged (as squash
    commits, a merge commit with a reviewer, a rebase merge) and apply records in git notes;
    the repository and the commit of each step by name. tests/review/screenshot.py makes the
    documentation's screenshot from it."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    directory = repo / "directory"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns(".reconciler"))
    shas = {"repo": str(repo)}
    shas["initial"] = commit(repo, "Initial directory (#1)", "2026-01-05T09:00:00Z")
    # PR 2, merged with a merge commit whose message carries the reviewer.
    git(repo, "checkout", "-q", "-b", "add-kenji")
    edit(
        directory / "groups/engineering.yaml",
        "      - maria.silva@example.com\n      - platform",
        "      - kenji.watanabe@example.com\n      - maria.silva@example.com\n      - platform",
    )
    shas["branch"] = commit(repo, "Add Kenji to engineering", "2026-02-09T10:00:00Z", who="Kenji")
    git(repo, "checkout", "-q", "main")
    message = f"Merge pull request #2 from acme/add-kenji\n\nReviewed-by: {OLIVIA}"
    git(repo, "merge", "-q", "--no-ff", "-m", message, "add-kenji", date_="2026-02-10T12:00:00Z")
    shas["merge"] = git(repo, "rev-parse", "HEAD")
    # PR 3: the platform group moves to a file of its own (its grants keep their age).
    eng = directory / "groups/engineering.yaml"
    text = eng.read_text(encoding="utf-8")
    head, _, platform = text.partition(PLATFORM)
    assert platform, "the example's platform group moved"
    eng.write_text(head, encoding="utf-8")
    (directory / "groups/platform.yaml").write_text(
        "groups:" + PLATFORM + platform, encoding="utf-8"
    )
    shas["split"] = commit(repo, "Platform in a file of its own (#3)", "2026-02-20T09:00:00Z")
    # PRs 4 and 5: Maria leaves engineering, then comes back.
    edit(eng, "      - maria.silva@example.com\n", "")
    shas["removed"] = commit(repo, "Maria moves to sales (#4)", "2026-03-01T09:00:00Z")
    edit(eng, "      - platform", "      - maria.silva@example.com\n      - platform")
    shas["readded"] = commit(repo, "Maria is back (#5)", "2026-03-15T09:00:00Z")
    # A rebase merge: a commit with no PR in its subject line.
    edit(
        eng,
        "      - tom.becker@example.com",
        "      - omar.haddad@example.com\n      - tom.becker@example.com",
    )
    shas["rebased"] = commit(repo, "Omar joins engineering", "2026-04-01T09:00:00Z", who="Jo")
    # PR 6: an on-call rota, a group Git does not export, joins platform: its people become
    # platform's members through it.
    (directory / "groups/oncall.yaml").write_text(
        "groups:\n  - name: oncall\n    members:\n      - jo.lei@example.com\n",
        encoding="utf-8",
    )
    edit(
        directory / "groups/platform.yaml",
        "    members:\n      - kenji.watanabe@example.com",
        "    members:\n      - kenji.watanabe@example.com\n      - oncall",
    )
    shas["oncall"] = commit(repo, "On-call rota in platform (#6)", "2026-04-10T09:00:00Z")
    # Apply records: the merge of PR 2 was applied the next day by the deploy bot.
    records = [
        {
            "time": "2026-02-11T08:00:00.000+00:00",
            "git_commit": shas["merge"],
            "actor": "deploy-bot",
            "action": "add_member",
            "kind": "membership",
            "key": "eng@example.com/kenji.watanabe@example.com",
            "group": "eng@example.com",
            "member": "kenji.watanabe@example.com",
            "role": "MEMBER",
            "result": "applied",
        },
        {
            "time": "2026-04-02T08:00:00.000+00:00",
            "git_commit": shas["rebased"],
            "actor": "jo",
            "action": "add_member",
            "kind": "membership",
            "key": "eng@example.com/omar.haddad@example.com",
            "group": "eng@example.com",
            "member": "omar.haddad@example.com",
            "role": "MEMBER",
            "result": "applied",
        },
    ]
    for sha, record in ((shas["merge"], records[0]), (shas["rebased"], records[1])):
        git(repo, "notes", "--ref=reconciler", "add", "-m", json.dumps(record), sha)
    return shas
