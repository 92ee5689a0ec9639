"""Tests of the Directory API emulator."""
