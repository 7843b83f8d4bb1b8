"""The access record as a stored row (schema 3), and a schema 2 store upgraded in place."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from cookiegate.crypto import KeyRing, NamedKey
from cookiegate.proxies import TrustedProxies
from cookiegate.records.accesslog import _direct_row, _parsed_rows, decode, spooled_rows
from cookiegate.records.sealing import RecordSealer
from cookiegate.records.types import OUTCOMES
from cookiegate.stores.access_rows import record_of_row, row_of_record
from tests.store_support import PROXIED_RECORD


def payload(xff: str | None, peer: str = "10.0.0.2") -> bytes:
    return orjson.dumps([1_760_000_000_000, peer, 41000, "shop.example", "GET", "/p", 200, 10, 5, "2", xff, None, "ok"])


def test_a_visitor_without_forwarding_is_stored_as_the_peer_with_the_payload_unchanged() -> None:
    (row,) = spooled_rows([payload(None)], TrustedProxies(()))
    assert row == (1_760_000_000_000, "10.0.0.2", "", payload(None).decode())
    record = record_of_row(*row)
    assert (record.client_ip, record.client_port, record.peer_ip, record.protocol) == (
        "10.0.0.2",
        41000,
        "10.0.0.2",
        "HTTP/2",
    )


def test_a_trusted_proxy_names_the_client_in_its_own_column() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    (row,) = spooled_rows([payload("198.51.100.7")], proxies)
    assert row[1] == "198.51.100.7" and row[2] == '["198.51.100.7",null]'
    record = decode(payload("198.51.100.7"), proxies)
    assert (record.client_ip, record.client_port, record.peer_ip, record.forwarded_chain) == (
        "198.51.100.7", None, "10.0.0.2", "198.51.100.7")  # fmt: skip


def test_an_untrusted_peers_forwarding_header_is_kept_as_evidence_only() -> None:
    (row,) = spooled_rows([payload("198.51.100.7", peer="192.0.2.9")], TrustedProxies(["10.0.0.0/8"]))
    record = record_of_row(*row)
    assert (record.client_ip, record.client_port, record.forwarded_chain) == ("192.0.2.9", 41000, "198.51.100.7")


def test_a_record_round_trips_through_its_row_sealed_or_not() -> None:
    assert record_of_row(*row_of_record(PROXIED_RECORD)) == PROXIED_RECORD
    sealer = RecordSealer(KeyRing(encryption=(NamedKey("k1", b"k" * 32),), lookup=(NamedKey("l1", b"l" * 32),)))
    sealed = sealer.seal_record(PROXIED_RECORD)
    row = row_of_record(sealed)
    assert "198.51.100.7" not in repr(row) and "10.0.0.2" not in repr(row)
    assert sealer.open_record(record_of_row(*row)) == PROXIED_RECORD


def test_a_batch_with_a_record_of_the_wrong_shape_is_refused_whole() -> None:
    bad = orjson.dumps(["1760000000000", None, None, "h", "GET", "/", 200, 0, 0, "1.1", None, None, "ok"])
    for payloads in ([payload(None), bad], [payload(None), b"[1, 2]"]):
        try:
            spooled_rows(payloads, TrustedProxies(()))
        except ValueError:
            continue
        raise AssertionError(f"accepted {payloads!r}")


def test_a_direct_visitors_record_is_read_by_position_with_the_row_a_parse_gives() -> None:
    record = payload(None, peer="2001:db8::7")
    assert _direct_row(record) == (1_760_000_000_000, "2001:db8::7", "", record.decode())
    assert _direct_row(payload("198.51.100.7")) is None  # forwarded: for the trusted proxies to resolve


#: Strings made of the pieces that could fool a reader by position: quotes, escapes, separators, ``null``.
_TEXT = st.lists(
    st.sampled_from(['"', "\\", ",", "null", ",null,null,", "[", "]", "a", "é", "\x00", "1"]), max_size=8
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(
    ts_ms=st.one_of(st.integers(10**12, 10**13 - 1), st.integers(-(10**14), 10**14)),
    peer=st.one_of(st.none(), st.ip_addresses().map(str), _TEXT),
    path=_TEXT,
    chains=st.tuples(st.one_of(st.none(), _TEXT), st.one_of(st.none(), _TEXT)),
    outcome=st.one_of(st.sampled_from(OUTCOMES), _TEXT),
)
def test_any_record_gives_the_same_row_read_by_position_or_parsed(
    ts_ms: int, peer: str | None, path: str, chains: tuple[str | None, str | None], outcome: str
) -> None:
    record = orjson.dumps([ts_ms, peer, 41000, "h", "GET", path, 200, 0, 1, "1.1", chains[0], chains[1], outcome])
    proxies = TrustedProxies(["10.0.0.0/8"])
    parsed = _parsed_rows([record], proxies)
    direct = _direct_row(record)  # what the compiled build uses; called directly, so both builds test it
    assert direct is None or [direct] == parsed
    assert spooled_rows([record], proxies) == parsed
