"""Access that ends by itself: member entries and bindings with `until:`
(docs/state-directory.md, "Expiring access").

A day `until` is the last day of the access, in UTC: it ends at the start of the next day.
Once a tree is read, `expire` turns every `{email, until}` member entry into its plain
reference and leaves out the entries and bindings whose day has passed, so that nothing
after it (checks, the index, resolution, the importer) sees an expired grant, and records
every dated entry, expired or not, for the warnings, the plan's reasons and the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from reconciler.clock import now
from reconciler.desired.load import DesiredTree, Located, Source
from reconciler.desired.models import BindingEntry, Grant, GroupEntry
from reconciler.desired.yamlread import YMap, YSeq
from reconciler.problems import Problem

ROLE_LISTS = (("OWNER", "owners"), ("MANAGER", "managers"), ("MEMBER", "members"))
EXPIRED_RULE = "expired"
LASTING_RULE = "dated-and-plain"
PRUNE_HINT = "`reconciler fmt --prune-expired` deletes the entries that ended"


@dataclass(frozen=True, slots=True)
class Dated:
    """One entry with an end: a group's member, owner or manager, or a binding."""

    kind: Literal["OWNER", "MANAGER", "MEMBER", "binding"]
    holder: str  # the group's Git name (memberships); "user" or "group" (bindings)
    ref: str  # the member reference, or the user or group the binding names
    until: str  # YYYY-MM-DD
    path: Path
    line: int
    expired: bool
    # The group also lists the same member plainly: the dated entry ends nothing.
    lasting: bool = False

    @property
    def ends(self) -> date:
        """The first day without the access."""
        return date.fromisoformat(self.until) + timedelta(days=1)

    def where(self, root: Path) -> str:
        """`file:line`, the file relative to the state directory `root`."""
        return f"{self.path.relative_to(root).as_posix()}:{self.line}"

    def describe(self) -> str:
        if self.kind == "binding":
            return f"binding of {self.holder} {self.ref}"
        return f"group {self.holder}: {self.kind.lower()} {self.ref}"


def today() -> date:
    """The current UTC day (RECONCILER_NOW when set: reconciler/clock.py)."""
    return now().date()


def expire(tree: DesiredTree, day: date | None) -> None:
    """Put plain references in place of dated member entries, leave out what ended before
    `day` (nothing when `day` is None: every entry is kept, as a load of an old revision for
    comparison needs), and record every dated entry in `tree.dated`."""
    dated: list[Dated] = []
    all_groups, all_bindings = tree.groups, list(tree.bindings)
    tree.groups = [_group(g, day, dated) for g in tree.groups]
    kept: list[Located[BindingEntry]] = []
    for located in tree.bindings:
        binding = located.entry
        if binding.until is None:
            kept.append(located)
            continue
        holder, ref = ("user", binding.user) if binding.user else ("group", binding.group)
        ended = has_ended(binding.until, day)
        line = located.source.line_of("until")
        dated.append(Dated("binding", holder, ref or "", binding.until, *_at(located, line), ended))
        if not ended:
            kept.append(located)
    tree.bindings = kept
    tree.dated = dated
    if any(d.expired for d in dated):
        # As if nothing had ended: what a targeted plan compares with, to take in whatever
        # an ended entry reaches (desired/pipeline.py, state_without_expiry).
        tree.unexpired = ([_group(g, None, []) for g in all_groups], all_bindings)


def _group(
    located: Located[GroupEntry], day: date | None, dated: list[Dated]
) -> Located[GroupEntry]:
    entry = located.entry
    if not any(isinstance(item, Grant) for _, attr in ROLE_LISTS for item in getattr(entry, attr)):
        return located
    update: dict[str, list[str]] = {}
    raw = located.source.raw
    new_raw = None
    if raw is not None:
        new_raw = YMap(raw)
        new_raw.line, new_raw.key_lines = raw.line, raw.key_lines
    plain = {item for _, a in ROLE_LISTS for item in getattr(entry, a) if isinstance(item, str)}
    for role, attr in ROLE_LISTS:
        items, kept, kept_at = getattr(entry, attr), [], []
        for i, item in enumerate(items):
            if isinstance(item, Grant):
                ended = has_ended(item.until, day)
                line = located.source.line_of(attr, i)
                where = _at(located, line)
                lasting = item.email in plain
                record = Dated(role, entry.name, item.email, item.until, *where, ended, lasting)  # type: ignore[arg-type]
                dated.append(record)
                if ended:
                    continue
                item = item.email
            kept.append(item)
            kept_at.append(i)
        update[attr] = kept
        if new_raw is not None and isinstance(new_raw.get(attr), YSeq):
            new_raw[attr] = _kept_items(new_raw[attr], kept_at)
    source = Source(located.source.path, located.source.line, new_raw)
    return Located(entry.model_copy(update=update), source)


def _kept_items(seq: YSeq, kept_at: list[int]) -> YSeq:
    """The raw list without the items left out, each kept item with its line: problems
    found later by position name the right line."""
    out = YSeq(seq[i] for i in kept_at)
    out.line = seq.line
    out.item_lines = [seq.item_lines[i] for i in kept_at]
    return out


def _at(located: Located, line: int) -> tuple[Path, int]:
    return located.source.path, line


def has_ended(until: str, day: date | None) -> bool:
    """Whether the access of a dated entry has ended by `day` (never with no day). A text
    that is no day ends nothing: validation says what is wrong with it."""
    try:
        return day is not None and date.fromisoformat(until) < day
    except ValueError:
        return False


def expired_warnings(dated: Iterable[Dated]) -> Iterator[Problem]:
    """A warning per entry whose access has ended (the plan takes it away; the line can go),
    and per dated entry the group also grants plainly (it ends nothing)."""
    for d in dated:
        if d.lasting:
            yield Problem(
                d.path,
                d.line,
                f"{d.describe()}: dated until {d.until}, but the group also lists "
                f"{d.ref} without a date, so the access does not end; remove one of the two",
                LASTING_RULE,
                warning=True,
            )
        elif d.expired:
            yield Problem(
                d.path,
                d.line,
                f"{d.describe()}: expired after {d.until}; the plan takes this access away, "
                f"and {PRUNE_HINT}",
                EXPIRED_RULE,
                warning=True,
            )


def expiring_within(dated: Iterable[Dated], day: date, days: int) -> list[Dated]:
    """The live entries whose last day falls within `days` days of `day`, soonest first."""
    last = day + timedelta(days=days)
    live = [d for d in dated if not d.expired and date.fromisoformat(d.until) <= last]
    return sorted(live, key=lambda d: (d.until, d.describe()))
