"""Who may ask the listener what: decided from the peer address and the bearer token."""

from __future__ import annotations

import pytest

from runwatch.serve.access import Access, bearer_ok, decide, is_loopback, named_locally

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


@pytest.mark.parametrize(("host", "local"), [
    (None, True), ("localhost", True), ("localhost:9464", True), ("127.0.0.1:9464", True), ("[::1]:9464", True),
    ("10.1.2.3", True), ("LOCALHOST:1", True),
    ("evil.example:9464", False), ("node1:9464", False), ("127.0.0.1.nip.io:9464", False), ("", False),
])
def test_named_locally(host: str | None, local: bool) -> None:
    assert named_locally(host) is local


@pytest.mark.parametrize(("origin", "host", "auth", "want"), [
    ("https://evil.example", "127.0.0.1:9464", None, Access.FORBIDDEN),  # a page's fetch to localhost
    ("null", "localhost:9464", None, Access.FORBIDDEN),
    (None, "rebound.evil.example:9464", None, Access.FORBIDDEN),          # DNS rebinding
    (None, "localhost:9464", None, Access.ALLOWED),
    ("https://grafana.example", "node1:9464", GOOD, Access.ALLOWED),       # the token opens it
])
def test_web_pages_on_this_machine_need_the_token(origin: str | None, host: str, auth: str | None,
                                                  want: Access) -> None:
    token = TOKEN if auth else None
    assert decide("127.0.0.1", write=False, token=token, authorization=auth, origin=origin, host=host) == want
