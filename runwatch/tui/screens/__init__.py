"""Screens: the run view (dashboard), the compare view, and two small modals."""
