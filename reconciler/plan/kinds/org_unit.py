"""A change to an organizational unit; `key` is its path."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.plan.change import Change


@dataclass(frozen=True)
class OrgUnitChange(Change):
    kind = "org_unit"
    label = "org unit"
    plural = "org units"
    scoped_by = None  # org units are read whole: every targeted plan has their changes
    limits = {}
    protected = frozenset()
    # First: users are created and moved into units that exist.
    phases = {"create": 10, "update": 20}

    def needs(self) -> list[str]:
        return ancestors(self.key)

    def establishes(self) -> bool:
        # Users are moved into a unit as Git spells it: one not created or renamed blocks them.
        return True


def ancestors(path: str) -> list[str]:
    """The units above `path`, from the top: /A/B/C -> /A, /A/B."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]
