"""End-to-end tests of `reconciler apply`: the real CLI and client against the emulator."""
