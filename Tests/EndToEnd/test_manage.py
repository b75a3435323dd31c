"""add, list, clear, remove: what is stored, where, and that nothing is in clear."""

from __future__ import annotations

import json
import re
import stat

from conftest import PASSPHRASE, World, code


def test_add_stores_encrypted_and_adds_the_profile_to_the_config(world: World) -> None:
    original = "# my settings\n[default]\nregion = eu-west-1   ; keep me\n"
    world.write_config(original)
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    result = world.ok("add", "doug", "--env", env={"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                                                   "AWS_SECRET_ACCESS_KEY": secret})
    assert 'Added credentials to profile "doug"' in result.stdout
    config = world.config.read_text()
    assert config.startswith(original) and "[profile doug]" in config

    assert stat.S_IMODE(world.vault.stat().st_mode) == 0o700
    for item in world.vault.iterdir():
        if item.is_file():
            assert stat.S_IMODE(item.stat().st_mode) == 0o600, item
            data = item.read_bytes()
            assert secret.encode() not in data and PASSPHRASE.encode() not in data

    # Adding again does not duplicate the section.
    world.ok("add", "doug", "--env", env={"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                                          "AWS_SECRET_ACCESS_KEY": secret})
    assert world.config.read_text().count("[profile doug]") == 1


def test_list_clear_and_remove(world: World, doug: dict[str, str]) -> None:
    world.ok("exec", "--mfa-token", code(world, doug), "doug", "--", "true")
    table = world.ok("list").stdout
    assert "doug" in table and re.search(r"GetSessionToken: (59m|1h|1h0\dm) left", table), table
    assert doug["access_key_id"] not in table  # shown shortened

    profile = world.listing()["profiles"][0]
    assert profile["credentials"]["access_key_id"] == doug["access_key_id"]

    assert world.ok("clear", "doug").stdout.strip() == "Cleared 1 session."
    assert world.listing()["profiles"][0]["sessions"] == []

    world.ok("exec", "--mfa-token", code(world, doug), "doug", "--", "true")
    refused = world.run("remove", "doug")
    assert refused.returncode == 1 and "-f" in refused.stderr
    removed = world.ok("remove", "-f", "doug")
    assert "Removed credentials and 1 cached session(s)" in removed.stdout
    listing = world.listing()["profiles"]
    assert listing == [{"name": "doug", "credentials": None, "sessions": []}]
    assert world.run("remove", "-f", "doug").returncode == 1


def test_list_profiles_needs_no_keyring(world: World) -> None:
    world.write_config("[profile b]\n[profile a]\n[default]\n")
    result = world.ok("list", "--profiles", env={"LATCHKEY_FILE_PASSPHRASE": ""})
    assert result.stdout.split() == ["a", "b", "default"]


def test_list_json_is_machine_readable_when_empty(world: World) -> None:
    assert json.loads(world.ok("list", "--json").stdout) == {"profiles": []}
