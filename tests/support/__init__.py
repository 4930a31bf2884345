"""Helpers shared by several test packages (import from here, not from other test modules)."""
