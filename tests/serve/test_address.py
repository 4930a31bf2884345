"""`--listen` and `[watch] listen` addresses."""

from __future__ import annotations

import pytest

from runwatch.serve.address import ListenAddress, parse_listen


@pytest.mark.parametrize(("text", "want"), [
    ("9464", ListenAddress("127.0.0.1", 9464)),
    (":9464", ListenAddress("127.0.0.1", 9464)),
    ("0.0.0.0:9464", ListenAddress("0.0.0.0", 9464)),
    ("node1.cluster:80", ListenAddress("node1.cluster", 80)),
    ("[::1]:9464", ListenAddress("::1", 9464)),
    ("127.0.0.1:0", ListenAddress("127.0.0.1", 0)),
])
def test_parsed(text: str, want: ListenAddress) -> None:
    assert parse_listen(text) == want


@pytest.mark.parametrize(("text", "says"), [
    ("", "HOST:PORT"), ("host:", "port must be a number"), ("host:99999", "0 to 65535"),
    ("::1:9464", "in brackets"), ("[::1]9464", "[IPV6]:PORT"), ("localhost:http", "port must be a number"),
])
def test_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=r".*") as e:
        parse_listen(text)
    assert says in str(e.value)


def test_shown_as_typed() -> None:
    assert str(ListenAddress("::1", 9)) == "[::1]:9" and str(ListenAddress("127.0.0.1", 9)) == "127.0.0.1:9"
