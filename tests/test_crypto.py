"""Encryption at rest of client addresses (개인정보 보호법 제29조, 안전성 확보조치 기준 제7조)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cookiegate.crypto import AddressCipher, KeyRingError, SealedAddressError, address_in, parse_networks
from cookiegate.keyfile import KEY_FILE_ENV, KEYS_ENV, generate, load_keyring


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "keys.json"
    generate(path)
    return path


def test_article29_sealed_address_holds_no_plain_text_and_opens_again(key_file: Path) -> None:
    cipher = AddressCipher(load_keyring(key_file=key_file))
    sealed = cipher.seal("203.0.113.77", 51234)
    assert "203.0.113.77" not in sealed and "51234" not in sealed
    assert cipher.open(sealed) == ("203.0.113.77", 51234)
    assert cipher.open(cipher.seal("2001:db8::1")) == ("2001:db8::1", None)


def test_article29_random_nonce_makes_equal_addresses_seal_differently(key_file: Path) -> None:
    cipher = AddressCipher(load_keyring(key_file=key_file))
    assert cipher.seal("198.51.100.1") != cipher.seal("198.51.100.1")


def test_article29_tampered_ciphertext_is_refused_not_misread(key_file: Path) -> None:
    cipher = AddressCipher(load_keyring(key_file=key_file))
    sealed = cipher.seal("198.51.100.1", 80)
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SealedAddressError):
        cipher.open(flipped)
    with pytest.raises(SealedAddressError):
        cipher.open("a1.nokey.AAAA")


def test_standard7_rotation_newest_key_seals_every_key_opens(key_file: Path) -> None:
    before = AddressCipher(load_keyring(key_file=key_file))
    old = before.seal("192.0.2.9", 443)
    assert generate(key_file, rotate=("encryption",)) == ["e2"]
    after = AddressCipher(load_keyring(key_file=key_file))
    new = after.seal("192.0.2.9", 443)
    assert new.startswith("a1.e2.") and old.startswith("a1.e1.")
    assert after.open(old) == after.open(new) == ("192.0.2.9", 443)
    with pytest.raises(SealedAddressError):
        before.open(new)  # a ring without the new key cannot read what it sealed


def test_article29_lookup_tag_finds_one_address_without_decryption(key_file: Path) -> None:
    cipher = AddressCipher(load_keyring(key_file=key_file))
    assert cipher.tag("::ffff:192.0.2.9") == cipher.tag("192.0.2.9")
    assert cipher.tag("192.0.2.9") != cipher.tag("192.0.2.10")
    assert "192.0.2.9" not in cipher.tag("192.0.2.9")
    generate(key_file, rotate=("lookup",))
    rotated = AddressCipher(load_keyring(key_file=key_file))
    assert cipher.tag("192.0.2.9") in rotated.tags("192.0.2.9")  # old rows still match after rotation
    assert rotated.tag("192.0.2.9") != cipher.tag("192.0.2.9")


def test_article29_tag_is_keyed_so_another_deployment_cannot_recompute_it(tmp_path: Path, key_file: Path) -> None:
    other = tmp_path / "other.json"
    generate(other)
    assert AddressCipher(load_keyring(key_file=key_file)).tag("192.0.2.9") != AddressCipher(
        load_keyring(key_file=other)
    ).tag("192.0.2.9")


def test_standard7_key_file_inside_the_data_dir_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with pytest.raises(KeyRingError, match="inside the data dir"):
        generate(data_dir / "keys.json", data_dir=data_dir)
    outside = tmp_path / "etc" / "keys.json"
    generate(outside, data_dir=data_dir)
    load_keyring(key_file=outside, data_dir=data_dir)
    (data_dir / "keys.json").write_bytes(outside.read_bytes())
    os.chmod(data_dir / "keys.json", 0o600)
    with pytest.raises(KeyRingError, match="inside the data dir"):
        load_keyring(key_file=data_dir / "keys.json", data_dir=data_dir)


def test_standard7_key_file_readable_by_others_is_refused(key_file: Path) -> None:
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    os.chmod(key_file, 0o644)
    with pytest.raises(KeyRingError, match="chmod 600"):
        load_keyring(key_file=key_file)


def test_standard7_keys_from_environment_variable_or_named_file(key_file: Path) -> None:
    inline = load_keyring(environ={KEYS_ENV: key_file.read_text()})
    named = load_keyring(environ={KEY_FILE_ENV: str(key_file)})
    sealed = AddressCipher(inline).seal("192.0.2.1")
    assert AddressCipher(named).open(sealed) == ("192.0.2.1", None)
    with pytest.raises(KeyRingError, match="keys generate"):
        load_keyring(environ={})


def test_generate_refuses_to_overwrite_an_existing_key_file(key_file: Path) -> None:
    with pytest.raises(KeyRingError, match="exists"):
        generate(key_file)


def test_broken_key_files_give_a_clear_error(tmp_path: Path) -> None:
    for text, message in (
        ("not json", "not valid JSON"),
        ('{"encryption": [{"id": "e1", "key": "c2hvcnQ="}], "lookup": []}', "32 bytes"),
        ('{"encryption": "x"}', "must be a list"),
    ):
        with pytest.raises(KeyRingError, match=message):
            load_keyring(environ={KEYS_ENV: text})


def test_cidr_lookup_matches_opened_addresses_in_the_networks() -> None:
    networks = parse_networks(["203.0.113.0/24", "2001:db8::/32"])
    assert address_in("203.0.113.5", networks)
    assert address_in("::ffff:203.0.113.5", networks)
    assert address_in("2001:db8::7", networks)
    assert not address_in("198.51.100.5", networks)
    assert not address_in("garbage", networks)
    with pytest.raises(ValueError, match="CIDR"):
        parse_networks(["10.0.0.0/33"])


def test_standard7_cli_keys_generate_then_rotate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cookiegate.cli import main

    path = tmp_path / "etc" / "keys.json"
    assert main(["keys", "generate", "--key-file", str(path), "--data-dir", str(tmp_path / "data")]) == 0
    assert "e1" in capsys.readouterr().out
    assert main(["keys", "generate", "--key-file", str(path), "--rotate", "encryption"]) == 0
    assert [k.id for k in load_keyring(key_file=path).encryption] == ["e1", "e2"]
    inside = tmp_path / "data" / "keys.json"
    assert main(["keys", "generate", "--key-file", str(inside), "--data-dir", str(tmp_path / "data")]) == 2
    assert "inside the data dir" in capsys.readouterr().err
    assert not inside.exists()
