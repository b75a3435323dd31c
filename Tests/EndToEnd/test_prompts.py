"""Where MFA codes come from without a terminal: dialog and YubiKey drivers (real programs of
our own on PATH, standing in for zenity and ykman), and a spent code never sent twice."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import World, calls, code


def fake_program(world: World, name: str, body: str) -> Path:
    """An executable `name` on a PATH of its own, recording its argv."""
    folder = world.home / "bin"
    folder.mkdir(exist_ok=True)
    program = folder / name
    program.write_text(f'#!/bin/sh\necho "$@" >> {world.home}/{name}.argv\n{body}')
    program.chmod(0o700)
    return folder


def test_without_a_terminal_a_dialog_asks(world: World, doug: dict[str, str]) -> None:
    folder = fake_program(world, "zenity", f"echo {code(world, doug)}\n")
    env = {"PATH": f"{folder}:{world.env['PATH']}", "DISPLAY": ":42"}
    exported = json.loads(world.ok("export", "--format", "json", "doug", env=env).stdout)
    assert exported["AccessKeyId"].startswith("ASIA")
    argv = (world.home / "zenity.argv").read_text()
    assert "--entry" in argv and doug["mfa_serial"] in argv


def test_zenity_without_a_display_and_a_missing_ykman_are_explained(world: World, doug: dict[str, str]) -> None:
    folder = fake_program(world, "zenity", "echo 123456\n")
    no_display = world.run("export", "--prompt", "zenity", "doug", env={"PATH": f"{folder}:{world.env['PATH']}"})
    assert no_display.returncode == 1 and "needs a graphical display" in no_display.stderr
    missing = world.run("export", "--prompt", "ykman", "doug", env={"PATH": "/usr/bin:/bin"})
    assert missing.returncode == 1 and "ykman is not installed" in missing.stderr
    assert calls(world.endpoint) == {}


def test_ykman_reads_the_code_from_the_yubikey(world: World, doug: dict[str, str]) -> None:
    folder = fake_program(world, "ykman", f"echo {code(world, doug)}\n")
    env = {"PATH": f"{folder}:{world.env['PATH']}", "LATCHKEY_PROMPT": "ykman", "LATCHKEY_YKMAN_DEVICE": "12345678"}
    world.ok("export", "doug", env=env)
    argv = (world.home / "ykman.argv").read_text().split()
    assert argv == ["--device", "12345678", "oath", "accounts", "code", "--single", doug["mfa_serial"]]

    world.ok("clear")
    broken = fake_program(world, "ykman", "echo 'Error: no YubiKey detected' >&2\nexit 2\n")
    failed = world.run("export", "doug", env={**env, "PATH": f"{broken}:{world.env['PATH']}"})
    assert failed.returncode == 1 and "Is the YubiKey plugged in" in failed.stderr


def test_a_spent_code_is_never_sent_twice(world: World, doug: dict[str, str]) -> None:
    spent = code(world, doug)
    world.ok("export", "--mfa-token", spent, "doug")
    world.ok("clear")
    again = world.run("export", "--mfa-token", spent, "doug")
    assert again.returncode == 1 and "already used" in again.stderr
    assert calls(world.endpoint).get("sts:GetSessionToken") == 1  # latchkey did not even try
