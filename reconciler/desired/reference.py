"""The YAML reference (docs/yaml-reference.md), generated from the models so it cannot drift."""

from __future__ import annotations

from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel

from reconciler.desired.models import ENTRY_MODELS, MemberItem
from reconciler.fields import Email, MemberRef
from reconciler.settings import Workspace

HEADER = """# YAML reference

Generated from the models by `reconciler schema --reference`; a test fails when this file
is out of date. [state-directory.md](state-directory.md) explains the semantics; this page
lists every field.
"""


def _type_name(annotation: Any) -> str:
    if annotation is MemberItem:
        return "user email, group name or external email, or [Grant](#grant)"
    if annotation is Email:
        return "email"
    if annotation is MemberRef:
        return "user email, group name or external email"
    origin = get_origin(annotation)
    if origin is Annotated:
        return _type_name(get_args(annotation)[0])
    args = [a for a in get_args(annotation) if a is not type(None)]
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin is not None and str(origin) == "typing.Literal":
        return " \\| ".join(f"`{a}`" for a in get_args(annotation))
    if args and origin is not None:
        names = [_type_name(a) for a in args]
        return " or ".join(dict.fromkeys(names))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return {str: "text", int: "integer", float: "number", bool: "true or false"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "(see below)"
        if isinstance(value, list):
            return "`[" + ", ".join(str(v) for v in value) + "]`"
        return f"`{value}`"
    if field.default is None:  # not required and no factory: the default is set
        return ""
    value = field.default
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def _model_summary(annotation: Any) -> str:
    for arg in (annotation, *get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel) and arg.__doc__:
            return arg.__doc__.strip().splitlines()[0]
    return ""


def _table(model: type[BaseModel], done: set[type[BaseModel]]) -> list[str]:
    """The model's table, then those of the models it nests not shown yet (`done`: the ones
    shown; a model nested in two places, like GroupSettings, is listed once)."""
    if model in done:
        return []
    done.add(model)
    lines = [f"### {model.__name__}", ""]
    if model.__doc__:
        lines += [model.__doc__.strip().splitlines()[0], ""]
    lines += ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
    nested: list[type[BaseModel]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        meaning = field.description or _model_summary(annotation)
        meaning = meaning.replace("|", "\\|")
        key = field.alias or name  # as YAML writes it (`import`, `from`: Python keywords)
        lines.append(f"| `{key}` | {_type_name(annotation)} | {_default(field)} | {meaning} |")
        nested += _models_in(annotation)
    lines.append("")
    for sub in nested:
        lines += _table(sub, done)
    return lines


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a field's type holds, however deep (in a list, a union, an Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def reference_markdown() -> str:
    done: set[type[BaseModel]] = set()
    lines = [HEADER, "## workspace.yaml", ""]
    lines += _table(Workspace, done)
    lines += [
        "## Entry files",
        "",
        "Any other `*.yaml` file holds lists under these top-level keys:",
        "",
    ]
    for key, model in ENTRY_MODELS.items():
        lines += [f"- `{key}`: a list of [{model.__name__}](#{model.__name__.lower()})"]
    lines.append("")
    for model in ENTRY_MODELS.values():
        lines += _table(model, done)
    return "\n".join(lines).rstrip() + "\n"
