"""Who may ask the listener what: decided from the peer address and the bearer token."""

from __future__ import annotations

import pytest

from runwatch.serve.access import Access, bearer_ok, decide, is_loopback

TOKEN = "s3cret-token-value"
GOOD = f"Bearer {TOKEN}"


@pytest.mark.parametrize(("peer", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("192.0.2.77", False), ("10.0.0.1", False), ("::ffff:10.0.0.1", False), ("fe80::1%eth0", False),
    ("not an address", False), ("", False),
])
def test_loopback(peer: str, loopback: bool) -> None:
    assert is_loopback(peer) is loopback


@pytest.mark.parametrize(("header", "ok"), [
    (GOOD, True), (f"bearer {TOKEN}", True), (f"Bearer {TOKEN}x", False), ("Bearer ", False),
    (f"Basic {TOKEN}", False), (TOKEN, False), (None, False),
])
def test_bearer(header: str | None, ok: bool) -> None:
    assert bearer_ok(header, TOKEN) is ok


def test_no_token_configured_accepts_no_bearer() -> None:
    assert not bearer_ok("Bearer ", None) and not bearer_ok("Bearer x", "")


@pytest.mark.parametrize(("peer", "write", "token", "auth", "want"), [
    ("127.0.0.1", False, None, None, Access.ALLOWED),
    ("127.0.0.1", True, None, None, Access.ALLOWED),            # no token set: loopback may write
    ("192.0.2.77", False, None, None, Access.FORBIDDEN),        # nothing could let it in
    ("192.0.2.77", False, None, GOOD, Access.FORBIDDEN),
    ("192.0.2.77", False, TOKEN, None, Access.NEEDS_TOKEN),
    ("192.0.2.77", False, TOKEN, "Bearer wrong", Access.NEEDS_TOKEN),
    ("192.0.2.77", False, TOKEN, GOOD, Access.ALLOWED),
    ("192.0.2.77", True, TOKEN, GOOD, Access.ALLOWED),
    ("127.0.0.1", False, TOKEN, None, Access.ALLOWED),          # loopback reads need no token
    ("127.0.0.1", True, TOKEN, None, Access.NEEDS_TOKEN),       # a token set: every write needs it
    ("127.0.0.1", True, TOKEN, GOOD, Access.ALLOWED),
])
def test_decision(peer: str, write: bool, token: str | None, auth: str | None, want: Access) -> None:
    assert decide(peer, write=write, token=token, authorization=auth) == want
