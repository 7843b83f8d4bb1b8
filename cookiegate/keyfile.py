"""Where the keys live: a key file outside the data dir, or an environment variable; generation and rotation.

안전성 확보조치 기준 제7조 wants encryption keys managed apart from the data they protect: whoever copies
the data dir (a backup, a stolen disk) must not get the key with it. So a key file inside the data dir is
refused, and so is one that other users can read.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import orjson

from cookiegate.crypto import KEY_BYTES, KeyRing, KeyRingError, NamedKey

#: The key file's JSON itself (for containers that pass secrets as variables).
KEYS_ENV: Final = "COOKIEGATE_KEYS"
#: The path of the key file.
KEY_FILE_ENV: Final = "COOKIEGATE_KEY_FILE"

KeyKind = Literal["encryption", "lookup", "signing"]
KINDS: Final[tuple[KeyKind, ...]] = ("encryption", "lookup", "signing")


def load_keyring(
    *, key_file: Path | None = None, data_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> KeyRing:
    """The key ring from ``COOKIEGATE_KEYS``, else ``key_file``, else ``COOKIEGATE_KEY_FILE``.

    Raises ``KeyRingError`` saying what to do when there is none, when the file lies inside ``data_dir``
    or when group or others may read it.
    """
    env = os.environ if environ is None else environ
    inline = env.get(KEYS_ENV)
    if inline:
        return keyring_from_json(inline.encode(), source=KEYS_ENV)
    path = key_file or (Path(env[KEY_FILE_ENV]) if env.get(KEY_FILE_ENV) else None)
    if path is None:
        raise KeyRingError(
            "no encryption keys: run `cookiegate keys generate --key-file /etc/cookiegate/keys.json` and set "
            f"{KEY_FILE_ENV}=/etc/cookiegate/keys.json (keep it outside the data dir)"
        )
    refuse_inside(path, data_dir)
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except OSError as exc:
        raise KeyRingError(f"cannot read the key file {path}: {exc.strerror}") from exc
    if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
        raise KeyRingError(f"{path} is readable by other users; chmod 600 {path}")
    return keyring_from_json(raw, source=str(path))


def refuse_inside(path: Path, data_dir: Path | None) -> None:
    """Refuse a key file kept with the data it protects (안전성 확보조치 기준 제7조: keys apart from data)."""
    if data_dir is None:
        return
    key = path.resolve()
    data = data_dir.resolve()
    if key == data or data in key.parents:
        raise KeyRingError(
            f"the key file {path} is inside the data dir {data_dir}: a copy of the data would carry its key; "
            "move it elsewhere, e.g. /etc/cookiegate/keys.json"
        )


def keyring_from_json(raw: bytes, *, source: str) -> KeyRing:
    """Parse ``{"encryption": [{"id", "key"}...], "lookup": [...], "signing": [...]}`` (keys base64)."""
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise KeyRingError(f"{source}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise KeyRingError(f"{source}: expected an object with encryption, lookup and signing key lists")
    lists: dict[str, tuple[NamedKey, ...]] = {}
    for kind in KINDS:
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise KeyRingError(f"{source}: {kind!r} must be a list of {{id, key}} objects")
        keys = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise KeyRingError(f"{source}: each {kind} key needs a string 'id' and a base64 'key'")
            try:
                secret = base64.b64decode(str(entry.get("key", "")), validate=True)
            except ValueError as exc:
                raise KeyRingError(f"{source}: {kind} key {entry['id']} is not base64") from exc
            keys.append(NamedKey(entry["id"], secret))
        lists[kind] = tuple(keys)
    return KeyRing(encryption=lists["encryption"], lookup=lists["lookup"], signing=lists["signing"])


def generate(path: Path, *, rotate: tuple[KeyKind, ...] = (), data_dir: Path | None = None) -> list[str]:
    """Create the key file with one key of each kind, or add a new newest key of each ``rotate`` kind.

    Old keys stay: data sealed or tagged with them still opens and matches. Returns the ids added. The file is
    written to a temporary name with mode 600 and renamed, so a crash never leaves half a key file.
    """
    refuse_inside(path, data_dir)
    if path.exists():
        if not rotate:
            raise KeyRingError(f"{path} exists; add a key with --rotate encryption (or lookup, signing)")
        data: dict[str, Any] = orjson.loads(path.read_bytes())
        keyring_from_json(path.read_bytes(), source=str(path))
    else:
        data = {kind: [] for kind in KINDS}
        rotate = KINDS
    added = []
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for kind in dict.fromkeys(rotate):
        entries = data.setdefault(kind, [])
        key_id = f"{kind[0]}{len(entries) + 1}"
        entries.append({"id": key_id, "key": base64.b64encode(os.urandom(KEY_BYTES)).decode(), "created": now})
        added.append(key_id)
    keyring_from_json(orjson.dumps(data), source=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, orjson.dumps(data, option=orjson.OPT_INDENT_2))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    return added


def configured_keyring(data_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> KeyRing | None:
    """The key ring if ``COOKIEGATE_KEYS`` or ``COOKIEGATE_KEY_FILE`` is set, else None (encryption off).

    A set but unusable configuration raises: a typo in the key path must stop the start, not silently store
    addresses in the clear.
    """
    env = os.environ if environ is None else environ
    if not env.get(KEYS_ENV) and not env.get(KEY_FILE_ENV):
        return None
    return load_keyring(data_dir=data_dir, environ=env)
