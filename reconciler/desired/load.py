"""Load a state directory: workspace.yaml plus every other YAML file, each entry located."""

from __future__ import annotations

import difflib
import errno
import fnmatch
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from reconciler.desired.models import (
    ENTRY_MODELS,
    ITEM_TAGS,
    BindingEntry,
    GroupEntry,
    OrgUnitEntry,
    UserEntry,
)
from reconciler.desired.yamlread import YMap, YSeq, read_yaml
from reconciler.entra_settings import ENTRA_SEED, ENTRA_STATE, Entra, EntraEmulatorProvider
from reconciler.files import LINK_REFUSED, kind_of
from reconciler.problems import InvalidInput, Problem, excerpt, not_a_directory, not_a_file
from reconciler.settings import Directory, EmulatorProvider, Ownership, Workspace

WORKSPACE_FILE = "workspace.yaml"
LOCAL_STATE_DIR = ".reconciler"
YAML_SUFFIXES = (".yaml", ".yml")
LINK_FIX = "put the folder itself here, or remove the link"
FOLDER_LINK_REFUSED = (
    "a symbolic link to a folder: refused (only folders inside the state directory are read, "
    f"never through a link); {LINK_FIX}"
)

SECRET_KEYS = {
    "password",
    "password_hash",
    "hash_function",
    "hashfunction",
    "secret",
    "client_secret",
    "private_key",
    "token",
    "access_token",
    "refresh_token",
    "api_key",
}
SECRET_HELP = (
    "secrets never live in Git: new accounts get a random password and must change it at "
    "first login (collect generated passwords with `reconciler apply --password-file FILE`), "
    "and credentials belong in a key file or CI secret outside the repository"
)

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Source:
    """Where an entry was written: file, line, and its raw mapping for field lines (dropped
    once the checks pass: see pipeline._forget_raw)."""

    path: Path
    line: int
    raw: YMap | None = field(default=None, compare=False, repr=False)

    def line_of(self, *loc: str | int) -> int:
        """The line of a field (or list item) inside this entry; the entry's line if unknown."""
        return _line_at(self.raw, loc) if self.raw is not None else self.line

    def problem(self, message: str, *loc: str | int, rule: str = "", warning: bool = False):
        return Problem(self.path, self.line_of(*loc), message, rule, warning)


@dataclass(frozen=True, slots=True)
class Located(Generic[T]):
    entry: T
    source: Source


@dataclass
class DesiredTree:
    """Everything a state directory says, entry by entry, before resolution."""

    root: Path
    workspace: Workspace
    workspace_source: Source
    files: list[Path] = field(default_factory=list)
    org_units: list[Located[OrgUnitEntry]] = field(default_factory=list)
    users: list[Located[UserEntry]] = field(default_factory=list)
    groups: list[Located[GroupEntry]] = field(default_factory=list)
    bindings: list[Located[BindingEntry]] = field(default_factory=list)
    # Keys (user emails, group names and emails) of entries that failed validation and could
    # not be kept: references to them are not reported again.
    broken_keys: set[str] = field(default_factory=set)
    # False when some users or groups could not be read at all (a file that does not parse, a
    # user or group without a readable key): "not in Git" cannot then be told.
    entries_complete: bool = True
    # Settings of workspace.yaml that failed validation, as dotted names ("directory.domains",
    # "provider"): `workspace` holds defaults in their place, and checks that need them skip.
    broken_settings: frozenset[str] = frozenset()
    # Every member entry and binding with `until:`, expired or not (desired/expiry.py),
    # once the pipeline has taken out the expired ones.
    dated: list[Any] = field(default_factory=list)
    # With entries that ended: the groups and bindings as if none had (expiry.py), else None.
    unexpired: tuple[list[Any], list[Any]] | None = None

    def has_setting(self, name: str) -> bool:
        """Whether a setting (e.g. "directory.domains") validated, so checks may rely on it."""
        return name not in self.broken_settings and (
            name.partition(".")[0] not in self.broken_settings
        )


def load_tree(root: Path) -> DesiredTree:
    """Read and validate the structure of every file; raise InvalidInput with all problems."""
    tree, problems = read_tree(root)
    if problems:
        raise InvalidInput(problems)
    return tree


def read_tree(root: Path) -> tuple[DesiredTree, list[Problem]]:
    """Read every file and return what validated, with every problem found on the way.

    An invalid workspace.yaml does not stop the entry files from being read: its valid
    settings are used and the broken ones are named in `broken_settings`. An entry that fails
    its model is kept without the fields in error when the rest is valid. Raises InvalidInput
    only when there is no state directory to read (not a directory, no workspace.yaml)."""
    root = Path(root)
    problems: list[Problem] = []
    ws_path = root / WORKSPACE_FILE
    if not root.is_dir():
        why = not_a_directory(root) or "not a directory"
        raise InvalidInput([Problem(root, 0, f"{why}: give the state directory")])
    if not ws_path.is_file():
        why = not_a_file(ws_path) or "not found"
        raise InvalidInput(
            [Problem(ws_path, 0, f"{why}: a state directory needs workspace.yaml (README)")]
        )
    workspace, ws_raw, broken = _read_workspace(ws_path, problems)
    tree = DesiredTree(root, workspace, Source(ws_path, 1, ws_raw), broken_settings=broken)
    unreadable: list[Problem] = []
    for path in desired_files(root, workspace, unreadable):
        tree.files.append(path)
        _load_file(path, tree, problems)
    if unreadable:  # a folder or file not read may hold any user or group
        problems.extend(unreadable)
        tree.entries_complete = False
    return tree, problems


def desired_files(
    root: Path, workspace: Workspace, problems: list[Problem] | None = None
) -> list[Path]:
    """Every desired-state YAML file under root, in a stable order (each folder's files,
    then its sub-folders, by name).

    Whatever cannot be read is a problem, never an absence (users in a folder skipped would
    look unbound, and be suspended): a folder that cannot be listed, a symbolic link to a
    folder, in a loop or named as a YAML file, and a YAML name that is no regular file (a
    FIFO, a device). Links are refused rather than followed, even to a place inside the
    directory: such a place is read already under its own name (through the link, every
    entry would be defined twice), a place outside is not what review saw, and a link is
    how a loop is made. Such problems go to `problems`; without that list, InvalidInput is
    raised with them all. Hidden folders (.git, .github, .reconciler) never hold desired
    state and are not looked into."""
    own: list[Problem] = []
    skip = {root / WORKSPACE_FILE}
    skip.update(root / seed for seed, _ in emulator_seeds(workspace))
    found: list[Path] = []
    pending = [Path(root)]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            own.append(_unreadable_folder(folder, exc))
            continue
        folders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(folder, entry.name)
            is_yaml = entry.name.endswith(YAML_SUFFIXES)
            if is_yaml and (path in skip or _excluded(path, root, workspace.exclude)):
                continue
            try:  # the entry's type as listed: no system call per file where it is known
                if entry.is_symlink():
                    why = LINK_REFUSED if is_yaml else _folder_link_problem(path)
                    if why:
                        own.append(Problem(path, 0, why))
                elif entry.is_dir(follow_symlinks=False):
                    folders.append(path)
                elif is_yaml and entry.is_file(follow_symlinks=False):
                    found.append(path)
                elif is_yaml:
                    kind = kind_of(entry.stat(follow_symlinks=False).st_mode)
                    own.append(Problem(path, 0, f"not a regular file ({kind}): refused"))
            except OSError as exc:
                own.append(Problem(path, 0, f"cannot read: {exc.strerror or exc}"))
        pending.extend(reversed(folders))
    if problems is not None:
        problems.extend(own)
    elif own:
        raise InvalidInput(own)
    return found


def not_loaded(root: Path, workspace: Workspace, path: Path) -> str | None:
    """Why `path` (existing or not) is no file desired_files would load, or None if it is one."""
    root = Path(root).resolve()
    full = (root / path).resolve()
    try:
        rel = full.relative_to(root)
    except ValueError:
        return "is outside the state directory"
    if not rel.parts:
        return "is the state directory itself, not a file in it"
    if any(part.startswith(".") for part in rel.parts):
        return "is hidden (a name that starts with '.')"
    if full == root / WORKSPACE_FILE:
        return "is the settings file"
    for seed, setting in emulator_seeds(workspace):
        if full == (root / seed).resolve():
            return f"is the emulator's tenant ({setting})"
    if not rel.name.endswith(YAML_SUFFIXES):
        return f"is not a {' or '.join(YAML_SUFFIXES)} file"
    for pattern in workspace.exclude:
        if fnmatch.fnmatch(rel.as_posix(), pattern):
            return f"matches exclude '{pattern}' of {WORKSPACE_FILE}"
    return None


def emulator_seeds(workspace: Workspace) -> list[tuple[str, str]]:
    """The seed files of the emulators workspace.yaml names, with the setting naming each
    (provider.seed, entra.provider.seed): tenants to start from, never desired state."""
    seeds = []
    if workspace.provider.kind == "emulator" and workspace.provider.seed:
        seeds.append((workspace.provider.seed, "provider.seed"))
    entra = workspace.entra
    if entra is not None and entra.provider.kind == "emulator" and entra.provider.seed:
        seeds.append((entra.provider.seed, "entra.provider.seed"))
    return seeds


def _excluded(path: Path, root: Path, patterns: list[str]) -> bool:
    if not patterns:
        return False
    rel = path.relative_to(root).as_posix()
    return any(fnmatch.fnmatch(rel, p) for p in patterns)


def _folder_link_problem(path: Path) -> str | None:
    """What is wrong with a link not named as a YAML file: it leads to a folder, in a loop,
    or somewhere that cannot be looked at; None for a link to a file that is not desired
    state, or to nothing."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link that leads round in a loop: refused; remove it"
        return f"a symbolic link that cannot be followed ({exc.strerror}): refused; remove it"
    return FOLDER_LINK_REFUSED if stat.S_ISDIR(mode) else None


def _unreadable_folder(folder: Path, exc: OSError) -> Problem:
    why = exc.strerror or type(exc).__name__
    return Problem(
        folder,
        0,
        f"cannot read this folder ({why}): the files in it may hold desired state, so it "
        "must be readable (or hidden, with a name starting with '.')",
    )


def _load_workspace(path: Path, problems: list[Problem]) -> tuple[Workspace | None, YMap | None]:
    """workspace.yaml's settings, None when they are invalid (problems says why)."""
    workspace, raw, broken = _read_workspace(path, problems)
    return (None if broken else workspace), raw


def _read_workspace(
    path: Path, problems: list[Problem]
) -> tuple[Workspace, YMap | None, frozenset[str]]:
    """workspace.yaml's settings, or when they are invalid a stand-in made of the valid ones,
    with the dotted names of the settings that are not (every one if the file is unreadable)."""
    try:
        raw = read_yaml(path)
    except InvalidInput as exc:
        problems.extend(exc.problems)
        raw = None
    else:
        if not isinstance(raw, YMap):
            problems.append(Problem(path, 1, "workspace.yaml must be a map of settings (README)"))
            raw = None
    if raw is None:
        workspace, broken = _stand_in({}, set(Workspace.model_fields))
        return workspace, None, broken
    problems.extend(_secret_problems(raw, path))
    try:
        return Workspace.model_validate(raw), raw, frozenset()
    except ValidationError as exc:
        problems.extend(_model_problems(exc, raw, path, "workspace", Workspace))
        workspace, broken = _stand_in(raw, {_setting_name(err["loc"]) for err in exc.errors()})
        return workspace, raw, broken


# Required settings: a value that validates, put in while the stand-in is built, and the empty
# value left in its place (nothing relies on it: the setting is named broken).
_REQUIRED_SETTINGS: dict[str, tuple[Any, Any]] = {
    "directory.domains": (["stand-in.invalid"], []),
    "ownership.id": ("stand-in", ""),
}


def _setting_name(loc: tuple[str | int, ...]) -> str:
    """The setting an error of the Workspace model is about: a section's field, else a key."""
    head = str(loc[0]) if loc else ""
    if head in Workspace.whole_settings:
        return head
    sections = {n for n, f in Workspace.model_fields.items() if _first_model(f.annotation)}
    if head in sections and len(loc) > 1 and isinstance(loc[1], str):
        return f"{head}.{loc[1]}"
    return head


def _stand_in(raw: dict[str, Any], broken: set[str]) -> tuple[Workspace, frozenset[str]]:
    """The valid settings of an invalid workspace.yaml, with defaults for the broken ones."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for name in broken:
        head, _, tail = name.partition(".")
        if not tail:
            data.pop(head, None)
        elif isinstance(data.get(head), dict):
            data[head].pop(tail, None)
    provider = data.get("provider")
    if not isinstance(provider, dict) or provider.get("kind") not in ("emulator", "google"):
        # Required too, and reported already: the emulator's defaults stand in, which keep
        # an emulator seed out of the entry files.
        data["provider"] = {"kind": "emulator"}
    for name, (valid, _) in _REQUIRED_SETTINGS.items():
        head, _, tail = name.partition(".")
        section = data.get(head)
        section = dict(section) if isinstance(section, dict) else {}
        section.setdefault(tail, valid)
        data[head] = section
    try:
        workspace = Workspace.model_validate(data)
    except ValidationError:  # a required setting _REQUIRED_SETTINGS does not know
        defaults = Workspace.model_construct(
            directory=Directory.model_construct(domains=[]),
            ownership=Ownership.model_construct(id=""),
            provider=EmulatorProvider(kind="emulator"),
        )
        return defaults, frozenset(Workspace.model_fields)
    for name, (_, empty) in _REQUIRED_SETTINGS.items():
        head, _, tail = name.partition(".")
        if name in broken or head in broken:
            section = getattr(workspace, head).model_copy(update={tail: empty})
            workspace = workspace.model_copy(update={head: section})
    if "entra" in broken:
        workspace = workspace.model_copy(update={"entra": _entra_stand_in(raw.get("entra"))})
    if "exclude" in broken:
        # Finding the entry files needs the patterns: take the ones written as text, so that
        # the files meant to be left out are not read (and their errors not reported).
        value = raw.get("exclude")
        patterns = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        update = {"exclude": [p for p in patterns if isinstance(p, str)]}
        workspace = workspace.model_copy(update=update)
    return workspace, frozenset(broken)


def _entra_stand_in(raw: Any) -> Entra | None:
    """In place of an invalid `entra:` block, one that names only its emulator's seed (the
    one written as text, else the default), so that the seed is not read as desired state;
    the block is named broken, and nothing else relies on it."""
    if not isinstance(raw, dict):
        return None
    provider = raw.get("provider")
    provider = provider if isinstance(provider, dict) else {}
    if provider.get("kind", "emulator") != "emulator":
        return None
    seed = provider.get("seed", ENTRA_SEED)
    return Entra.model_construct(
        tenant_id="",
        client_id="",
        provider=EntraEmulatorProvider.model_construct(
            kind="emulator",
            seed=seed if isinstance(seed, str) or seed is None else ENTRA_SEED,
            state=ENTRA_STATE,
        ),
    )


def _load_file(path: Path, tree: DesiredTree, problems: list[Problem]) -> None:
    try:
        raw = read_yaml(path)
    except InvalidInput as exc:
        problems.extend(exc.problems)
        tree.entries_complete = False
        return
    if raw is None:
        return
    if not isinstance(raw, YMap):
        allowed = ", ".join(ENTRY_MODELS)
        problems.append(Problem(path, 1, f"expected a map with any of the keys {allowed}"))
        _forget_entries(raw, tree)  # e.g. a list of users without `users:`
        return
    problems.extend(_secret_problems(raw, path))
    for key, items in raw.items():
        line = raw.key_lines[key]
        model = ENTRY_MODELS.get(key)
        if model is None:
            problems.append(Problem(path, line, _unknown_key_message(key, ENTRY_MODELS)))
            _forget_entries(items, tree)  # e.g. `usres:`
            continue
        if items is None:
            continue
        if not isinstance(items, YSeq):
            problems.append(Problem(path, line, f"'{key}' must be a list of entries"))
            _forget_entries(items, tree, _REFERRED_BY.get(key, ()))
            continue
        for item, item_line in zip(items, items.item_lines, strict=True):
            _load_entry(key, model, item, Source(path, item_line, None), tree, problems)


def _load_entry(
    key: str,
    model: type[BaseModel],
    item: Any,
    where: Source,
    tree: DesiredTree,
    problems: list[Problem],
) -> None:
    singular = key[:-1].replace("_", " ")
    if not isinstance(item, YMap):
        problems.append(Problem(where.path, where.line, f"each {singular} must be a map of fields"))
        _forget_entry(item, _REFERRED_BY.get(key, ()), tree)
        return
    source = Source(where.path, where.line, item)
    try:
        entry = model.model_validate(item)
    except ValidationError as exc:
        ident = _entry_identity(key, item)
        what = f"{singular} {excerpt(ident)}" if ident else singular
        problems.extend(_model_problems(exc, item, where.path, what, model))
        salvaged = _salvage(model, item, exc)
        if salvaged is None:
            _forget_entry(item, _REFERRED_BY.get(key, ()), tree)
            return
        entry = salvaged
    getattr(tree, key).append(Located(entry, source))


_IDENTITY_FIELDS = {
    "users": ("email",),
    "groups": ("name", "email"),
    "org_units": ("path",),
    "bindings": ("user", "group"),
}
# Entries other entries refer to, and the fields they are referred to by.
_REFERRED_BY = {"users": ("email",), "groups": ("name", "email")}


def _entry_identity(key: str, item: YMap) -> str | None:
    for k in _IDENTITY_FIELDS[key]:
        value = item.get(k)
        if isinstance(value, str) and value:
            return value
    return None


def _salvage(model: type[BaseModel], item: YMap, exc: ValidationError) -> BaseModel | None:
    """The entry without its fields in error, so that the checks still see it; None when
    what is left is not valid (a required field in error) or the entry fails as a whole."""
    bad = set()
    for err in exc.errors():
        if not err["loc"]:
            return None
        bad.add(err["loc"][0])
    try:
        return model.model_validate({k: v for k, v in item.items() if k not in bad})
    except ValidationError:
        return None


def _forget_entries(
    value: Any, tree: DesiredTree, fields: tuple[str, ...] = ("email", "name")
) -> None:
    """The keys of the maps in a section that could not be read as entries (by default,
    either a user's or a group's): references to them are not reported as unknown."""
    for item in value if isinstance(value, YSeq) else [value]:
        if isinstance(item, YMap):
            _forget_entry(item, fields, tree, keyless_is_unknown=False)


def _forget_entry(
    item: Any, fields: tuple[str, ...], tree: DesiredTree, keyless_is_unknown: bool = True
) -> None:
    """Remember the keys (`fields`) of an entry that could not be kept, so that references to
    it are not reported as unknown. A user or group without a readable key could be what any
    reference names: then none is judged."""
    if not fields:
        return  # org units and bindings: nothing refers to them
    keys = [(f, item.get(f)) for f in fields] if isinstance(item, YMap) else []
    readable = [(f, v) for f, v in keys if isinstance(v, str) and v.strip()]
    if not readable and keyless_is_unknown:
        tree.entries_complete = False
    for f, value in readable:
        # As the models store them: addresses lower-cased, group names as written.
        tree.broken_keys.add(value.strip().lower() if f == "email" else value)


def _line_at(raw: Any, loc: tuple[str | int, ...]) -> int:
    """The line of the deepest node of `loc` that exists in the raw tree."""
    line = getattr(raw, "line", 0)
    node = raw
    for part in loc:
        if isinstance(node, YMap) and part in node.key_lines:
            line = node.key_lines[part]
            node = node[part]
        elif isinstance(node, YSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line


def _secret_problems(raw: Any, path: Path) -> list[Problem]:
    found: list[Problem] = []
    stack: list[tuple[Any, int]] = [(raw, getattr(raw, "line", 1))]
    while stack:
        node, line = stack.pop()
        if isinstance(node, YMap):
            for key, value in node.items():
                key_line = node.key_lines[key]
                if key.lower() in SECRET_KEYS:
                    found.append(Problem(path, key_line, f"'{key}': {SECRET_HELP}"))
                stack.append((value, key_line))
        elif isinstance(node, YSeq):
            stack.extend(zip(node, node.item_lines, strict=True))
        elif isinstance(node, str) and "PRIVATE KEY-----" in node:
            found.append(Problem(path, line, f"a private key is in this file: {SECRET_HELP}"))
    return found


def _model_problems(
    exc: ValidationError, raw: YMap, path: Path, what: str, model: type[BaseModel]
) -> list[Problem]:
    out = []
    for err in exc.errors():
        place = _place(model, err)
        # An invalid key of a map (a seats SKU): at the key, which pydantic follows by [key].
        loc = tuple(part for part in place.loc if part != "[key]")
        if err["type"] == "extra_forbidden" and str(loc[-1]).lower() in SECRET_KEYS:
            continue  # already explained by the secrets rule
        line = _line_at(raw, loc)
        where = ".".join(excerpt(str(p)) for p in loc)
        prefix = f"{what}: {where}: " if where else f"{what}: "
        message = _explain(err, place)
        if err["type"] in ("missing", "union_tag_not_found") or (
            err["type"] == "model_attributes_type" and err.get("input") is None
        ):
            hint = getattr(model, "missing_help", {}).get(where)
            message = f"{message}: {hint}" if hint else message
        out.append(Problem(path, line, prefix + message, rule="schema"))
    return out


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a validation error lies: its location as the YAML names it, the model whose field
    the last part is, and, when that model is one of a discriminated union (a provider
    kind), its tag and the union's models by tag."""

    loc: tuple[str | int, ...]
    parent: type[BaseModel] | None
    tag: str | None = None
    choices: dict[str, type[BaseModel]] = field(default_factory=dict)


def _place(model: type[BaseModel], err: Any) -> _Place:
    """Drops the tag pydantic adds after a discriminated union (provider.emulator.seed is
    provider.seed), and ends at the discriminator when that is missing or unknown
    (provider.kind)."""
    rest = list(err["loc"])
    loc: list[str | int] = []
    current: type[BaseModel] | None = model
    current_tag: str | None = None
    current_choices: dict[str, type[BaseModel]] = {}
    parent, tag, choices = current, current_tag, current_choices
    while rest:
        part = rest.pop(0)
        if loc and isinstance(loc[-1], int) and part in ITEM_TAGS:
            current = ITEM_TAGS[str(part)]  # a list item's kind (a plain or dated member)
            continue
        loc.append(part)
        parent, tag, choices = current, current_tag, current_choices
        if current is None or isinstance(part, int):
            continue
        info = _field_named(current, part)
        union = _union_choices(info)
        if union and rest and rest[0] in union:
            current_tag, current_choices = rest.pop(0), union
            current = union[current_tag]
        else:
            current_tag, current_choices = None, {}
            current = _first_model(info.annotation) if info else None
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc.append(str(err["ctx"]["discriminator"]).strip("'"))
    return _Place(tuple(loc), parent, tag, choices)


def _union_choices(info: Any) -> dict[str, type[BaseModel]]:
    """The models of a discriminated union field, by the tag that selects each."""
    if info is None or not isinstance(info.discriminator, str):
        return {}
    return {
        tag: arg
        for arg in get_args(info.annotation)
        for tag in get_args(arg.model_fields[info.discriminator].annotation)
    }


def _models_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[type[BaseModel]]:
    """The nested models a location inside `model` may fall in: one, or each model of a
    discriminated union (none past a scalar)."""
    current = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        infos = [f for m in current if (f := _field_named(m, part)) is not None]
        if not infos:
            return []
        first = _first_model(infos[0].annotation)
        current = list(_union_choices(infos[0]).values()) or ([first] if first else [])
    return current


def _explain(err: dict[str, Any], place: _Place) -> str:
    kind, value = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    if kind in ("missing", "union_tag_not_found"):
        return "required field is missing"
    if kind == "union_tag_invalid":
        tags = str(ctx.get("expected_tags", "")).split(", ")
        expected = ", ".join(tags[:-1]) + " or " + tags[-1] if len(tags) > 1 else tags[0]
        return f"must be one of {expected}, not {ctx.get('tag')!r}"
    if kind == "extra_forbidden":
        return _unknown_field_message(place)
    if kind == "string_type":
        if isinstance(value, bool | int | float):
            return f"must be text, not the {type(value).__name__} {value!r}: put it in quotes"
        return f"must be text, not {_describe(value)}"
    if kind == "list_type":
        return f"must be a list, not {_describe(value)}"
    if kind == "bool_type":
        return f"must be true or false, not {_describe(value)}"
    if kind in ("int_type", "float_type"):
        return f"must be a number, not {_describe(value)}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}, not {_describe(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a map of fields, not {_describe(value)}"
    if kind == "greater_than_equal":
        return f"must be {ctx.get('ge')} or more, not {_describe(value)}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        return f"{_describe(value)} is not valid here (allowed: letters, digits, . _ / -)"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return str(err["msg"])


def _unknown_field_message(place: _Place) -> str:
    """An unknown field, with the fields allowed there. In one model of a discriminated union
    (provider kind emulator), a field of another model (admin_subject) says which kind it
    belongs to."""
    key = str(place.loc[-1])
    own = getattr(place.parent, "unknown_field", None)
    if own is not None:
        return own(key)  # a model that names its nearest key itself (group settings)
    known = _keys(place.parent) if place.parent else []
    if place.tag is not None:
        owners = [t for t, m in place.choices.items() if t != place.tag and key in _keys(m)]
        if owners:
            kinds = " or ".join(f"kind: {o}" for o in owners)
            return (
                f"'{key}' is a setting of {kinds}; with kind: {place.tag} the allowed fields "
                f"are {', '.join(known)}"
            )
    return _unknown_key_message(key, known, noun="field")


def _keys(model: type[BaseModel]) -> list[str]:
    """The keys YAML writes a model's fields by (a field's alias, as `import`, else its name)."""
    return [f.alias or name for name, f in model.model_fields.items()]


def _field_named(model: type[BaseModel], key: str | int) -> Any:
    """The field YAML writes as `key` (its alias, else its name), or None."""
    for name, f in model.model_fields.items():
        if (f.alias or name) == key:
            return f
    return None


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The nested model that a location inside `model` falls in (None past a scalar); the
    first model of a discriminated union."""
    models = _models_at(model, loc)
    return models[0] if models else None


def _first_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    return excerpt(value if not isinstance(value, str) else repr(value))


def _unknown_key_message(key: str, known: Any, noun: str = "top-level key") -> str:
    names = list(known)
    close = difflib.get_close_matches(key, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {noun} '{excerpt(key)}'{hint}; allowed: {', '.join(names)}"
