"""Access records sealed at rest: in the spool, in the store, until a lawful export opens them.

개인정보 보호법 제29조 and 안전성 확보조치 기준 제7조: the client address the access log must keep
(통신비밀보호법 시행령 제41조) is personal data, stored encrypted with the key kept apart (``crypto.py``).

* Spool: the request path seals each frame's payload (AES-GCM, ~2.8 µs CPU) before it touches the disk, so a
  spool segment holds no address, port or forwarding header in the clear.
* Store: the ingester stores, per record, the keyed lookup tag of the client address in ``client_ip`` (an
  exact lookup is an equality on the tag, no decryption; tags remembered per address), and the sealed address
  evidence (client address and port, TCP peer, forwarding header) in ``forwarded_chain`` — in a schema-3 row
  the ``client`` column, with those fields empty in the stored payload (``stores/access_rows.py``).
  Host, method, path, status and times are not personal by themselves and stay readable for purge and
  statistics.
* Export: ``open_record`` restores the fields, only for the records a permit covers (``disclosure.py``).

The ingester pays ~1.5 µs to open a payload and ~10 µs to seal a record (CPU time on this loaded machine).
"""

from __future__ import annotations

import os
from typing import Final

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cookiegate.bounded import FifoCache
from cookiegate.crypto import SEALED_PREFIX, AddressCipher, KeyRing, SealedAddressError
from cookiegate.records.types import AccessRecord

#: First byte of a sealed spool payload; plain payloads are JSON and start with ``[`` or ``{``.
SEALED_PAYLOAD: Final = b"\x00"
_PAYLOAD_AAD: Final = b"cookiegate.spool-payload.v1"
_NONCE: Final = 12
#: Addresses whose lookup tag the ingester remembers (oldest out: a flood of distinct addresses costs HMACs).
_TAG_MEMO: Final = 8192


class RecordSealer:
    """Seals spool payloads and access records with a key ring; opens them again for a lawful export."""

    __slots__ = ("_aead", "_key_id", "_openers", "_tags", "cipher")

    def __init__(self, keys: KeyRing) -> None:
        self.cipher = AddressCipher(keys)
        self._openers = {key.id.encode(): AESGCM(key.secret) for key in keys.encryption}
        self._key_id = keys.encryption[-1].id.encode()
        self._aead = self._openers[self._key_id]
        #: Lookup tags of recent addresses (ingest process): an HMAC once per distinct address, not per record.
        self._tags: FifoCache[str, str] = FifoCache(_TAG_MEMO)

    def seal_payload(self, payload: bytes) -> bytes:
        """``\\x00 | len(key id) | key id | nonce | ciphertext`` of one spool payload (request path)."""
        nonce = os.urandom(_NONCE)
        head = SEALED_PAYLOAD + bytes((len(self._key_id),)) + self._key_id + nonce
        return head + self._aead.encrypt(nonce, payload, _PAYLOAD_AAD)

    def open_payload(self, payload: bytes) -> bytes:
        """The plain payload of a sealed one; raises ``SealedAddressError`` if no key opens it."""
        size = payload[1] if len(payload) > 1 else 0
        key_id = payload[2 : 2 + size]
        nonce = payload[2 + size : 2 + size + _NONCE]
        opener = self._openers.get(key_id)
        if opener is None:
            raise SealedAddressError(f"no key {key_id!r} in the key ring for a sealed spool record")
        try:
            return opener.decrypt(nonce, payload[2 + size + _NONCE :], _PAYLOAD_AAD)
        except (InvalidTag, ValueError) as exc:
            raise SealedAddressError("a sealed spool record does not verify") from exc

    def seal_record(self, record: AccessRecord) -> AccessRecord:
        """The record as stored: lookup tag in ``client_ip``, the sealed address evidence in ``forwarded_chain``."""
        evidence = orjson.dumps([record.client_ip, record.client_port, record.peer_ip, record.forwarded_chain])
        return record._replace(
            client_ip=None if record.client_ip is None else self._tag(record.client_ip),
            client_port=None,
            peer_ip=None,
            forwarded_chain=self.cipher.seal(evidence.decode(), None),
        )

    def _tag(self, address: str) -> str:
        tag = self._tags.entries.get(address)
        if tag is None:
            tag = self.cipher.tag(address)
            self._tags.put(address, tag)
        return tag

    def open_record(self, record: AccessRecord) -> AccessRecord:
        """The record with its addresses restored (records stored before encryption pass unchanged)."""
        if not is_sealed_record(record):
            return record
        evidence, _ = self.cipher.open(str(record.forwarded_chain))
        client_ip, client_port, peer_ip, chain = orjson.loads(evidence)
        return record._replace(client_ip=client_ip, client_port=client_port, peer_ip=peer_ip, forwarded_chain=chain)


def is_sealed_payload(payload: bytes) -> bool:
    return payload[:1] == SEALED_PAYLOAD


def is_sealed_record(record: AccessRecord) -> bool:
    return isinstance(record.forwarded_chain, str) and record.forwarded_chain.startswith(SEALED_PREFIX + ".")
