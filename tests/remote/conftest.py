"""The remote view's tests: nodes in-process (tests.support.nodes)."""

from tests.support.nodes import nodes  # noqa: F401 (a fixture, for the tests here)
