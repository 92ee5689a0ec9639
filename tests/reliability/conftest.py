"""Fixtures for the reliability and security suites: the apply suite's isolation (loopback
only, no ambient credentials, no CI variables), its CLI runner and its emulators."""

from __future__ import annotations

from apply.conftest import _isolated, cli, emulator, state_dir  # noqa: F401
