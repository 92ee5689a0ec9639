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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from reconciler.plan.change import ACTION_NAMES, Change
from reconciler.plan.change_json import ChangeRecord, FieldRecord
from reconciler.plan.kinds import PHASE_RANK, change_from_json
from reconciler.plan.plan import FORMAT_VERSION, Plan, checksum_of
from reconciler.plan.render import change_lines, describe
from reconciler.problems import ReconcilerError


class InvalidPlanFile(ReconcilerError):
    """A saved plan that cannot be applied as it is."""


# What a saved plan is bound to besides its changes (keys of `meta`).
BOUND_META = ("directory", "directory_in_repo", "directory_path", "state_digest")


def bind(
    meta: dict[str, Any], plan: Plan, root: Path, changed_since: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`meta` (provenance) with the resolved state directory, what a targeted plan covered
    (`changed_since`), and the binding added."""
    bound = {**meta, "directory_path": Path(root).resolve().as_posix()}
    if changed_since is not None:
        bound["changed_since"] = changed_since
    bound["binding"] = _binding(bound, plan.checksum())
    return bound


def _binding(meta: Mapping[str, Any], checksum: str) -> str:
    bound = {"checksum": checksum, **{key: meta.get(key) for key in BOUND_META}}
    if meta.get("changed_since") is not None:  # a targeted plan: bound to its scope too
        bound["changed_since"] = meta["changed_since"]
    text = json.dumps(bound, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


class PlanMeta(BaseModel):
    """`meta`: where and how the plan was made, and what binds it to its state directory.
    Provenance beyond these fields is kept as it is."""

    model_config = ConfigDict(strict=True, extra="allow")

    directory: str = Field(min_length=1)  # as given to `plan`, from where it ran
    directory_in_repo: str | None = None
    directory_path: str | None = None
    state_digest: str | None = None
    binding: str | None = None
    # A plan made with --changed-since: its scope, or why it was a full one.
    changed_since: dict[str, Any] | None = None


# A field's old or new value as a change writes it (an address list is a list of text).
FieldValue = str | int | float | bool | list[str] | None


class SavedField(FieldRecord):
    """One field of a saved change: an object with `old` and `new` (either may be left out),
    each a value a change writes."""

    model_config = ConfigDict(frozen=True, strict=True)

    old: FieldValue = None
    new: FieldValue = None

    @model_validator(mode="before")
    @classmethod
    def _old_and_new(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not set(data) <= {"old", "new"}:
            raise ValueError("must be an object with old and new")
        return data


class SavedChange(ChangeRecord):
    """A change of a saved plan: a ChangeRecord with the JSON types the reconciler writes,
    an action of the action table and a kind that has it. A plan is only trusted (checksum,
    binding) once every change has this shape; `_ranked` says what is wrong with one."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", strict=True)

    action: str
    kind: str
    fields: dict[str, SavedField] | None = None
    # Not checked here: read as every change is (change_from_json), as it always was.
    product: Any = None

    @field_validator("action", mode="plain")
    @classmethod
    def _known_action(cls, action: Any) -> str:
        if not isinstance(action, str) or action not in ACTION_NAMES:
            raise ValueError(f"unknown action {action!r}")
        return action

    @field_validator("kind", mode="plain")
    @classmethod
    def _kind_with_action(cls, kind: Any, info: ValidationInfo) -> str:
        action = info.data.get("action")  # absent when the action was refused: that is said
        if not isinstance(kind, str) or (kind, action) not in PHASE_RANK:
            raise ValueError(f"no {action} of kind {kind!r}")
        return kind


class PlanFile(BaseModel):
    """A saved plan's JSON as `plan --out` writes it. The changes are read by
    `change_from_json` once every one has the shape of a SavedChange."""

    model_config = ConfigDict(strict=True)

    format_version: int
    changes: list[SavedChange]
    refused: list[SavedChange] = []
    summary: Any = None  # for people: apply trusts only the changes, by their checksum
    over_limits: list[str] = []
    notes: list[str] = []
    checksum: str
    meta: PlanMeta

    @field_validator("format_version", mode="plain")
    @classmethod
    def _readable(cls, version: Any) -> int:
        # Checked here, not by type: any int up to ours is read (the message: `_ranked`).
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ValueError(f"newer than {FORMAT_VERSION}")
        return version


@dataclass
class SavedPlan:
    path: Path
    plan: Plan
    checksum: str
    meta: PlanMeta

    @property
    def directory(self) -> Path:
        """The state directory: as recorded (relative to where `plan` ran), else found from
        the repository root of the working directory or of the plan file."""
        recorded = Path(self.meta.directory)
        if recorded.is_dir():
            return recorded
        in_repo = self.meta.directory_in_repo
        if in_repo:
            from reconciler.provenance import git_toplevel

            for start in (Path.cwd(), self.path.resolve().parent):
                top = git_toplevel(start)
                if top is not None and (top / in_repo).is_dir():
                    return top / in_repo
        return recorded

    def foreign(self, directory: Path) -> str | None:
        """Why `directory` is not the state directory this plan was made for, or None."""
        in_repo = self.meta.directory_in_repo
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
        made = self.meta.directory_path
        here = Path(directory).resolve().as_posix()
        if here != made:
            return f"the plan {self.path} was made for the state directory {made}, not {here}"
        return None


def _read_json(path: Path) -> Any:
    """The plan file's JSON: refused when unreadable, empty, not JSON or cut short."""
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
    return data


def load_saved_plan(path: Path) -> SavedPlan:
    """Read a saved plan; InvalidPlanFile says precisely what is wrong with it."""
    data = _read_json(path)
    try:
        parsed = PlanFile.model_validate(data)
    except ValidationError as exc:
        raise InvalidPlanFile(f"{path}: {_first_problem(exc.errors())}") from None
    try:
        plan = Plan(
            changes=[change_from_json(c.to_json()) for c in parsed.changes],
            refused=[change_from_json(c.to_json()) for c in parsed.refused],
            over_limits=list(parsed.over_limits),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidPlanFile(f"{path}: a change in the plan is malformed ({exc!r})") from None
    _check_integrity(path, parsed, plan)
    return SavedPlan(path, plan, parsed.checksum, parsed.meta)


def _check_integrity(path: Path, parsed: PlanFile, plan: Plan) -> None:
    """Refuse a plan whose changes do not match its checksum, or whose checksum, directory
    or state digest do not match its binding."""
    checksum, meta = parsed.checksum, parsed.meta
    # Over the records as written, not the changes read from them: a key a kind does not
    # have is dropped when read, and must still fail the checksum.
    written = [c.as_written() for c in [*parsed.changes, *parsed.refused]]
    if checksum != checksum_of(written) or checksum != plan.checksum():
        raise InvalidPlanFile(
            f"{path}: the changes do not match the plan's checksum: the file was edited or "
            "damaged. Make a new one with `reconciler plan --out`"
        )
    if meta.binding is None:
        raise InvalidPlanFile(
            f"{path}: the plan is not bound to its state directory (it was saved by an older "
            "reconciler); make a new one with `reconciler plan --out`"
        )
    if meta.binding != _binding(meta.model_dump(), checksum):
        raise InvalidPlanFile(
            f"{path}: the plan's checksum, state directory or state digest do not match its "
            "binding (meta.binding): the file was edited. A saved plan applies only to the "
            "directory it was made for; make a new one with `reconciler plan --out`"
        )


_JSON_TYPES = {dict: "an object", list: "a list", str: "text", bool: "a boolean"}
_LISTS = ("changes", "refused", "over_limits", "notes")
_META_TEXT = ("directory", "directory_in_repo", "directory_path", "state_digest", "binding")


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _not_as_written(wrong: str) -> str:
    return (
        f"not a plan as `reconciler plan --out` writes it: {wrong}. "
        "Make a new one with `reconciler plan --out`"
    )


def _first_problem(errors: Iterable[Mapping[str, Any]]) -> str:
    """What to say about a plan file the models refuse: of all its problems, the one found
    first when read in order: its format version, then which state directory it is for
    (nothing else is worth saying when that is unknown), then the parts' JSON types, then
    the changes one by one."""
    return min(_ranked(error, at) for at, error in enumerate(errors))[1]


def _ranked(error: Mapping[str, Any], at: int = 0) -> tuple[tuple[int, ...], str]:
    """Where `error` (the `at`th pydantic gave) comes in the reading order, and what to say
    about it."""
    loc = error["loc"]
    missing = error["type"] == "missing"
    value = None if missing else error["input"]
    name = loc[0] if loc else None
    if name is None or (name == "format_version" and missing):
        return (0,), "not a plan file (no format_version)"
    if name == "format_version":
        return (1,), (
            f"plan format_version {value!r} is newer than this reconciler reads "
            f"({FORMAT_VERSION}); apply it with the version that made it, or plan again"
        )
    if name == "meta" and (len(loc) == 1 or (loc[1] == "directory" and not value)):
        return (2,), "the plan does not say which state directory it is for"
    if name in _LISTS and len(loc) == 1 and not missing:
        return (3, _LISTS.index(name)), _not_as_written(
            f"{name} must be a list, not {_kind_of(value)}"
        )
    if name in ("changes", "refused") and len(loc) > 1:  # after every other part
        where = (_LISTS.index(name), int(loc[1]))
        order, wrong = _change_problem(loc[2:], error)
        return (9, *where, order, at), _not_as_written(f"{name}[{loc[1]}]{wrong}")
    if name == "changes":
        return (4,), _not_as_written("it has no changes list")
    if name == "checksum":
        return (5,), _not_as_written(f"checksum must be text, not {_kind_of(value)}")
    if name in _LISTS:
        index = loc[1]
        return (6, _LISTS.index(name), int(index)), _not_as_written(
            f"{name}[{index}] must be text, not {_kind_of(value)}"
        )
    if name == "meta" and loc[1] in _META_TEXT:
        return (7, _META_TEXT.index(str(loc[1]))), _not_as_written(
            f"meta.{loc[1]} must be text, not {_kind_of(value)}"
        )
    where = ".".join(str(part) for part in loc)  # not expected: every field is named above
    return (8,), _not_as_written(f"{where}: {error['msg']}")


# The order a change's parts are read in: the first wrong one is said.
_CHANGE_PARTS = (
    "action",
    "kind",
    "key",
    "from",
    "group",
    "member",
    "role",
    "member_type",
    "reason",
    "source",
    "fields",
)


def _change_problem(loc: tuple[Any, ...], error: Mapping[str, Any]) -> tuple[int, str]:
    """Where in a change (SavedChange) `error` is, in `_CHANGE_PARTS`' order, and what to
    say after `changes[i]`."""
    missing = error["type"] == "missing"
    value = None if missing else error["input"]
    if not loc:
        return -1, f" must be an object, not {_kind_of(value)}"
    part = str(loc[0])
    order = _CHANGE_PARTS.index(part) if part in _CHANGE_PARTS else len(_CHANGE_PARTS)
    reason = error.get("ctx", {}).get("error")
    if part == "action":
        return order, f".action: {reason or 'unknown action None'}"[:200]
    if part == "kind":
        action = error["input"].get("action") if missing else None
        return order, f".kind: {reason or f'no {action} of kind None'}"[:200]
    if part == "fields" and len(loc) == 2:
        return order, f".fields.{loc[1]} must be an object with old and new"[:200]
    if part == "fields" and len(loc) > 2:
        kinds = "text, a number, a boolean, null or a list of text"
        return order, f".fields.{loc[1]}.{loc[2]} must be {kinds}"[:200]
    if part == "fields":
        return order, f".fields must be an object, not {_kind_of(value)}"
    return order, f".{part} must be text, not {_kind_of(value)}"


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
