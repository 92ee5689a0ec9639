"""Cells of the tables the reports write: one line, safe in a spreadsheet, safe in markdown.
Shared by `reconciler report` and `reconciler access-review`."""

from __future__ import annotations


def one_line(text: str) -> str:
    # A line break in a value (a group description, say) would end a row in every format.
    return text.replace("\r", "\\r").replace("\n", "\\n")


def no_formula(text: str) -> str:
    # A spreadsheet would run a cell starting with one of these as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def markdown_cell(text: str) -> str:
    """A markdown table's cell: its pipes and backslashes escaped, no HTML tag in it."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
