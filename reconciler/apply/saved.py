"""Saved plans (`plan --out PLAN.json`): reading them back, refusing edited, truncated or
foreign ones, and saying what moved when a fresh plan no longer matches.

A saved plan is bound to its state directory: `meta.binding` is a sha256 over the changes'
checksum, the directory (as given, inside its git repository, and resolved) and the state
digest, so none can be edited alone; and apply checks them against the directory it finds:
the same folder of a git repository (any clone, as in CI), or outside one the same path,
and the same files. An identical copy elsewhere is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reconciler.plan.change import ACTION_NAMES, Change
from reconciler.plan.kinds import PHASE_RANK, change_from_json
from reconciler.plan.plan import FORMAT_VERSION, Plan
from reconciler.plan.render import change_lines, describe
from reconciler.problems import ReconcilerError


class InvalidPlanFile(ReconcilerError):
    """A saved plan that cannot be applied as it is."""


# What a saved plan is bound to besides its changes (keys of `meta`).
BOUND_META = ("directory", "directory_in_repo", "directory_path", "state_digest")


def bind(meta: dict[str, Any], plan: Plan, root: Path) -> dict[str, Any]:
    """`meta` (provenance) with the resolved state directory and the binding added."""
    bound = {**meta, "directory_path": Path(root).resolve().as_posix()}
    bound["binding"] = _binding(bound, plan.checksum())
    return bound


def _binding(meta: dict[str, Any], checksum: str) -> str:
    bound = {"checksum": checksum, **{key: meta.get(key) for key in BOUND_META}}
    text = json.dumps(bound, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class SavedPlan:
    path: Path
    plan: Plan
    checksum: str
    meta: dict[str, Any]

    @property
    def directory(self) -> Path:
        """The state directory: as recorded (relative to where `plan` ran), else found from
        the repository root of the working directory or of the plan file."""
        recorded = Path(self.meta["directory"])
        if recorded.is_dir():
            return recorded
        in_repo = self.meta.get("directory_in_repo")
        if in_repo:
            from reconciler.provenance import git_toplevel

            for start in (Path.cwd(), self.path.resolve().parent):
                top = git_toplevel(start)
                if top is not None and (top / in_repo).is_dir():
                    return top / in_repo
        return recorded

    def foreign(self, directory: Path) -> str | None:
        """Why `directory` is not the state directory this plan was made for, or None."""
        in_repo = self.meta.get("directory_in_repo")
        if in_repo:
            from reconciler.provenance import repo_relative

            here = repo_relative(directory)
            if here != in_repo:
                where = f"the folder {here} of a git repository" if here else "not in one"
                return (
                    f"the plan {self.path} was made for the folder {in_repo} of a git "
                    f"repository, and {directory} is {where}"
                )
            return None
        made = self.meta.get("directory_path")
        here = Path(directory).resolve().as_posix()
        if here != made:
            return f"the plan {self.path} was made for the state directory {made}, not {here}"
        return None


def load_saved_plan(path: Path) -> SavedPlan:
    """Read a saved plan; InvalidPlanFile says precisely what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidPlanFile(f"{path}: cannot read the plan file ({exc})") from None
    if not text.strip():
        raise InvalidPlanFile(
            f"{path}: the plan file is empty; was it truncated? "
            "Make a new one with `reconciler plan --out`"
        )
    if not text.lstrip().startswith("{"):
        raise InvalidPlanFile(
            f"{path}: not a plan file (a JSON plan from `reconciler plan --out`); to apply a "
            "state directory, give the directory"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidPlanFile(
            f"{path}:{exc.lineno}: not a complete JSON plan ({exc.msg}); was it truncated? "
            "Make a new one with `reconciler plan --out`"
        ) from None
    if not isinstance(data, dict) or "format_version" not in data:
        raise InvalidPlanFile(f"{path}: not a plan file (no format_version)")
    version = data["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InvalidPlanFile(
            f"{path}: plan format_version {version!r} is newer than this reconciler reads "
            f"({FORMAT_VERSION}); apply it with the version that made it, or plan again"
        )
    meta = data.get("meta")
    if not isinstance(meta, dict) or not meta.get("directory"):
        raise InvalidPlanFile(f"{path}: the plan does not say which state directory it is for")
    wrong = _shape_problem(data)
    if wrong:
        raise InvalidPlanFile(
            f"{path}: not a plan as `reconciler plan --out` writes it: {wrong}. "
            "Make a new one with `reconciler plan --out`"
        )
    try:
        plan = Plan(
            changes=[change_from_json(c) for c in data["changes"]],
            refused=[change_from_json(c) for c in data.get("refused", [])],
            over_limits=list(data.get("over_limits", [])),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidPlanFile(f"{path}: a change in the plan is malformed ({exc!r})") from None
    checksum = data.get("checksum")
    if checksum != plan.checksum():
        raise InvalidPlanFile(
            f"{path}: the changes do not match the plan's checksum: the file was edited or "
            "damaged. Make a new one with `reconciler plan --out`"
        )
    binding = meta.get("binding")
    if binding is None:
        raise InvalidPlanFile(
            f"{path}: the plan is not bound to its state directory (it was saved by an older "
            "reconciler); make a new one with `reconciler plan --out`"
        )
    if binding != _binding(meta, checksum):
        raise InvalidPlanFile(
            f"{path}: the plan's checksum, state directory or state digest do not match its "
            "binding (meta.binding): the file was edited. A saved plan applies only to the "
            "directory it was made for; make a new one with `reconciler plan --out`"
        )
    return SavedPlan(path, plan, checksum, meta)


_JSON_TYPES = {dict: "an object", list: "a list", str: "text", bool: "a boolean"}
_TEXT_FIELDS = ("key", "from", "group", "member", "role", "member_type", "reason", "source")
_META_TEXT = ("directory", "directory_in_repo", "directory_path", "state_digest", "binding")


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _shape_problem(data: dict[str, Any]) -> str | None:
    """What in a parsed plan file has the wrong JSON type, or None: a plan is only trusted
    (checksum, binding) once every part of it has the shape the reconciler writes."""
    for name in ("changes", "refused", "over_limits", "notes"):
        if name in data and not isinstance(data[name], list):
            return f"{name} must be a list, not {_kind_of(data[name])}"
    if "changes" not in data:
        return "it has no changes list"
    if not isinstance(data.get("checksum"), str):
        return f"checksum must be text, not {_kind_of(data.get('checksum'))}"
    for name in ("over_limits", "notes"):
        for i, item in enumerate(data.get(name, [])):
            if not isinstance(item, str):
                return f"{name}[{i}] must be text, not {_kind_of(item)}"
    meta = data["meta"]
    for name in _META_TEXT:
        if meta.get(name) is not None and not isinstance(meta[name], str):
            return f"meta.{name} must be text, not {_kind_of(meta[name])}"
    for name in ("changes", "refused"):
        for i, change in enumerate(data.get(name, [])):
            wrong = _change_problem(change)
            if wrong:
                return f"{name}[{i}]{wrong}"
    return None


def _change_problem(change: Any) -> str | None:
    if not isinstance(change, dict):
        return f" must be an object, not {_kind_of(change)}"
    if change.get("action") not in ACTION_NAMES:
        return f".action: unknown action {change.get('action')!r}"[:200]
    if (change.get("kind"), change["action"]) not in PHASE_RANK:
        return f".kind: no {change['action']} of kind {change.get('kind')!r}"[:200]
    if not isinstance(change.get("key"), str):
        return f".key must be text, not {_kind_of(change.get('key'))}"
    for name in _TEXT_FIELDS:
        if change.get(name) is not None and not isinstance(change[name], str):
            return f".{name} must be text, not {_kind_of(change[name])}"
    fields = change.get("fields")
    if fields is None:
        return None
    if not isinstance(fields, dict):
        return f".fields must be an object, not {_kind_of(fields)}"
    for name, value in fields.items():
        if not isinstance(value, dict) or not set(value) <= {"old", "new"}:
            return f".fields.{name} must be an object with old and new"[:200]
        for side in ("old", "new"):
            item = value.get(side)
            if isinstance(item, dict) or (
                isinstance(item, list) and not all(isinstance(x, str) for x in item)
            ):
                kinds = "text, a number, a boolean, null or a list of text"
                return f".fields.{name}.{side} must be {kinds}"[:200]
    return None


def what_moved(saved: Plan, fresh: Plan, limit: int = 20) -> list[str]:
    """Lines naming changes planned now but not saved (+), saved but not planned now (-), and
    planned both times with other values (~, with the fields that differ)."""

    def canonical(c: Change) -> str:
        return json.dumps({k: v for k, v in c.to_json().items() if k != "source"}, sort_keys=True)

    before = {canonical(c): c for c in [*saved.changes, *saved.refused]}
    after = {canonical(c): c for c in [*fresh.changes, *fresh.refused]}
    gone = {c.identity(): c for k, c in before.items() if k not in after}
    lines: list[str] = []
    for key, change in after.items():
        if key in before:
            continue
        was = gone.pop(change.identity(), None)
        if was is None:
            lines.append(f"  + now also: {describe(change)}")
        else:
            lines += _differences(was, change)
    lines += [f"  - no longer: {describe(c)}" for c in gone.values()]
    if len(lines) > limit:
        lines = [*lines[:limit], f"  ... and {len(lines) - limit} more"]
    return lines


def _differences(was: Change, now: Change) -> list[str]:
    """The same change on the same resource, with other values: what each plan said."""
    names = [n for n in {**was.fields, **now.fields} if was.fields.get(n) != now.fields.get(n)]
    lines = [f"  ~ now different: {describe(now)}"]
    for label, change in (("saved:", was), ("now:  ", now)):
        fields = {n: change.fields[n] for n in names if n in change.fields}
        shown = [line.strip() for line in change_lines(replace(change, fields=fields))[1:]]
        if not names:  # same fields, another role or reason
            shown = [describe(change)]
        lines.append(f"      {label} {'; '.join(shown) or '(no change)'}")
    return lines
