"""How the diff compares a value Git manages with the one Google has."""

from __future__ import annotations


def same(want, have) -> bool:
    """Equal as Google stores them: "" and absent alike."""
    return (want or "") == (have or "")
