"""Bad input and failing AWS: a clear, specific message, and nothing stored is lost."""

from __future__ import annotations

import json

from conftest import World, calls, code
from double_fixtures import add_fault


def test_wrong_mfa_code_is_rejected_and_nothing_cached(world: World, doug: dict[str, str]) -> None:
    good = code(world, doug)
    wrong = f"{(int(good) + 1) % 1000000:06d}"
    result = world.run("exec", "--mfa-token", wrong, "doug", "--", "true")
    assert result.returncode == 1
    assert "the MFA code was rejected" in result.stderr
    assert doug["mfa_serial"] in result.stderr
    assert world.listing()["profiles"][0]["sessions"] == []
    # The right code still works afterwards.
    world.ok("exec", "--mfa-token", good, "doug", "--", "true")


def test_malformed_mfa_code_is_refused_before_any_call(world: World, doug: dict[str, str]) -> None:
    for bad in ["12345", "1234567", "12a456", ""]:
        result = world.run("export", "--mfa-token", bad, "doug")
        assert result.returncode == 1, bad
        assert "not 6 digits" in result.stderr
    assert calls(world.endpoint) == {}


def test_no_code_and_no_terminal_says_how_to_give_one(world: World, doug: dict[str, str]) -> None:
    result = world.run("export", "doug")
    assert result.returncode == 1
    assert "needs an MFA code" in result.stderr and "--mfa-token" in result.stderr
    assert calls(world.endpoint) == {}


def test_mfa_process_supplies_the_code(world: World, doug: dict[str, str]) -> None:
    script = world.home / "code.sh"
    script.write_text(f"#!/bin/sh\necho {code(world, doug)}\n")
    script.chmod(0o700)
    world.write_config(f"[profile doug]\nmfa_serial = {doug['mfa_serial']}\nmfa_process = {script}\n")
    exported = json.loads(world.ok("export", "--format", "json", "doug").stdout)
    assert exported["AccessKeyId"].startswith("ASIA")

    script.write_text("#!/bin/sh\necho nope; exit 3\n")
    world.ok("clear")
    failed = world.run("export", "doug")
    assert failed.returncode == 1 and "mfa_process" in failed.stderr and "status 3" in failed.stderr


def test_malformed_config_names_file_and_line(world: World, doug: dict[str, str]) -> None:
    world.write_config("[profile doug]\nregion = us-east-1\n  continued\n\n[profile broken\n")
    result = world.run("export", "doug")
    assert result.returncode == 1
    assert str(world.config) in result.stderr or "config" in result.stderr
    assert "line 5" in result.stderr
    assert "\n" == result.stderr[-1] and result.stderr.count("\n") == 1


def test_unknown_profile(world: World, doug: dict[str, str]) -> None:
    result = world.run("exec", "dogu", "--", "true")
    assert result.returncode == 1
    assert "profile 'dogu'" in result.stderr and "latchkey add dogu" in result.stderr


def test_wrong_passphrase_changes_nothing(world: World, doug: dict[str, str]) -> None:
    before = sorted(p.name for p in world.vault.iterdir())
    result = world.run("export", "--no-session", "doug", env={"LATCHKEY_FILE_PASSPHRASE": "not it"})
    assert result.returncode == 1
    assert "passphrase" in result.stderr
    assert sorted(p.name for p in world.vault.iterdir()) == before
    assert json.loads(world.ok("export", "--format", "json", "--no-session", "doug").stdout)["AccessKeyId"] == (
        doug["access_key_id"]
    )


def test_weak_passphrase_for_a_new_vault_is_refused_and_nothing_is_created(world: World) -> None:
    keys = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    weak = {**keys, "LATCHKEY_BACKEND": "file", "LATCHKEY_FILE_PASSPHRASE": "12345"}
    result = world.run("add", "doug", "--env", env=weak)
    assert result.returncode == 1
    assert "weak" in result.stderr and "5 characters" in result.stderr
    assert "--allow-weak-passphrase" in result.stderr and "LATCHKEY_ALLOW_WEAK_PASSPHRASE=1" in result.stderr
    assert "12345" not in result.stderr + result.stdout
    assert not world.vault.exists() and not world.config.exists()
    # Insisting creates it; opening it later never judges the passphrase again.
    world.ok("add", "doug", "--env", "--allow-weak-passphrase", env=weak)
    world.ok("add", "other", "--env", env=weak)
    exported = world.ok("export", "--format", "json", "--no-session", "doug", env=weak).stdout
    assert json.loads(exported)["AccessKeyId"] == keys["AWS_ACCESS_KEY_ID"]


def test_corrupted_item_is_reported_and_other_items_survive(world: World, doug: dict[str, str]) -> None:
    world.ok("add", "other", "--env", env={
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
    items = [p for p in world.vault.iterdir() if p.name != "vault.json" and not p.name.startswith(".")]
    doug_item = next(p for p in items if "doug" in json.loads(p.read_text()).get("metadata", {}).get("profile", ""))
    doug_item.write_text(doug_item.read_text()[:40])
    result = world.run("export", "--no-session", "doug")
    assert result.returncode == 1
    assert doug_item.name in result.stderr or "damaged" in result.stderr or "corrupt" in result.stderr
    assert world.run("export", "--no-session", "other").returncode == 0


def test_throttling_is_retried_then_reported(world: World, doug: dict[str, str]) -> None:
    add_fault(world.endpoint, "GetSessionToken", count=2, status=400, code="Throttling", message="Rate exceeded")
    world.ok("export", "--mfa-token", code(world, doug), "doug")
    assert calls(world.endpoint).get("sts:GetSessionToken") == 3

    world.ok("clear")
    add_fault(world.endpoint, "GetSessionToken", count=10, status=400, code="Throttling", message="Rate exceeded")
    result = world.run("export", "--mfa-token", code(world, doug), "doug")
    assert result.returncode == 1
    assert "Throttling" in result.stderr and "try again" in result.stderr


def test_server_errors_are_retried(world: World, doug: dict[str, str]) -> None:
    add_fault(world.endpoint, "GetSessionToken", count=1, status=503, body="<html>busy</html>")
    world.ok("export", "--mfa-token", code(world, doug), "doug")
    assert calls(world.endpoint).get("sts:GetSessionToken") == 2


def test_deleted_key_gets_advice(world: World, doug: dict[str, str]) -> None:
    world.ok("add", "ghost", "--env", env={
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
    result = world.run("export", "ghost")
    assert result.returncode == 1
    assert "latchkey add ghost" in result.stderr


def test_add_validates_the_key_shape(world: World) -> None:
    cases = {
        ("AKIA123", "x" * 40): "access key id is not valid",
        # The secret pasted where the id goes: refused without echoing any of it.
        ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"): "were the two swapped",
        ("ASIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"): "temporary key",
        ("AKIAIOSFODNN7EXAMPLE", "short"): "secret access key is not valid",
    }
    for (key_id, secret), message in cases.items():
        result = world.run("add", "x", "--env", env={"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret})
        assert result.returncode == 1 and message in result.stderr, result.stderr
        assert secret not in result.stderr or len(secret) < 8
        # Nothing rejected is echoed, not even part of it.
        assert not any(key_id[i : i + 8] in result.stderr for i in range(len(key_id) - 7)), result.stderr
    assert not world.vault.exists() or not any(world.vault.iterdir())
