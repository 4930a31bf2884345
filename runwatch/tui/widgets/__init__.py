"""Textual widgets: each holds the latest data it was given and draws it with a pure renderable."""
