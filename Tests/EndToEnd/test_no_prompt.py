"""Prompts that never hang: --no-prompt / LATCHKEY_NO_PROMPT=1, credential_process with no
terminal and no dialog (fails at once, and `doctor` keeps the message the AWS CLI hides), and the
desktop notification while a dialog waits."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from conftest import BINARY, PASSPHRASE, World, aws_cli, calls, code
from test_prompts import fake_program
from test_terminal import Tmux, tmux  # noqa: F401  (the fixture)


def doctor_checks(world: World, *args: str) -> dict[str, dict[str, str]]:
    result = world.run("doctor", "--json", *args)
    return {check["name"]: check for check in json.loads(result.stdout)["checks"]}


def test_credential_process_without_terminal_fails_fast_and_doctor_keeps_why(
    world: World, doug: dict[str, str]
) -> None:
    # The AWS CLI alone takes seconds to start on a loaded machine, so latchkey's own time is
    # measured around it by a wrapper the AWS CLI runs as the credential_process.
    wrapper = world.home / "timed-latchkey"
    timing = world.home / "timing"
    wrapper.write_text(
        f'#!/bin/sh\nstart=$(date +%s.%N)\n"{BINARY}" export --format json doug\nstatus=$?\n'
        f'echo "$start $(date +%s.%N)" > {timing}\nexit $status\n'
    )
    wrapper.chmod(0o700)
    world.write_config(
        f"[profile doug]\nmfa_serial = {doug['mfa_serial']}\nregion = us-east-1\n"
        f"[profile app]\ncredential_process = {wrapper}\nregion = us-east-1\n"
    )
    result = subprocess.run(
        [aws_cli(), "sts", "get-caller-identity", "--profile", "app"],
        env=world.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert result.returncode != 0
    start, end = (float(word) for word in timing.read_text().split())
    assert end - start < 5, end - start

    # Called directly with no terminal (stdin closed, a session of its own): the same, at once.
    started = time.monotonic()
    direct = subprocess.run(
        [str(BINARY), "export", "--format", "json", "doug"],
        env=world.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )
    assert time.monotonic() - started < 5
    assert direct.returncode == 1 and "needs an MFA code" in direct.stderr and "no terminal" in direct.stderr
    assert direct.stdout == ""
    assert calls(world.endpoint).get("sts:GetSessionToken") is None

    found = doctor_checks(world, "doug")
    failure = found["last prompt failure"]
    assert failure["status"] == "warn"
    assert "'doug'" in failure["detail"] and "needs an MFA code" in failure["detail"]
    assert "no terminal" in failure["detail"] and "ago" in failure["detail"]
    assert "--mfa-token CODE" in failure["fix"]
    record = next(Path(world.env["TMPDIR"]).glob("latchkey-*/last-prompt-failure.json"))
    assert record.stat().st_mode & 0o777 == 0o600
    text = world.run("doctor").stdout
    assert "warn  last prompt failure:" in text and "fix: give the code" in text

    # A later success for the profile clears it.
    world.ok("export", "doug", "--mfa-token", code(world, doug))
    assert "last prompt failure" not in doctor_checks(world, "doug")


def test_no_prompt_refuses_in_a_real_terminal(world: World, doug: dict[str, str], tmux: Tmux) -> None:  # noqa: F811
    tmux.start(f"{BINARY} exec doug --no-prompt -- true")
    screen = tmux.wait_for("EXITED:", timeout=10)
    assert "EXITED:1" in screen, screen
    assert "prompts are off (--no-prompt)" in screen and "Enter MFA code" not in screen
    assert "latchkey exec doug --mfa-token CODE" in screen
    tmux.stop()

    tmux.socket += "-env"
    tmux.env["LATCHKEY_NO_PROMPT"] = "1"
    tmux.start(f"{BINARY} remove doug")
    screen = tmux.wait_for("EXITED:", timeout=10)
    assert "EXITED:1" in screen and "LATCHKEY_NO_PROMPT=1" in screen and "--force" in screen, screen
    stored = [row["name"] for row in world.listing()["profiles"] if row["credentials"]]
    assert stored == ["doug"], "nothing may be removed without the confirmation"
    assert calls(world.endpoint) == {}


def test_non_interactive_sources_still_work_with_no_prompt(world: World, doug: dict[str, str]) -> None:
    exported = json.loads(
        world.ok("export", "--format", "json", "doug", "--no-prompt", "--mfa-token", code(world, doug)).stdout
    )
    assert exported["AccessKeyId"].startswith("ASIA")
    # The cached session needs nobody either.
    world.ok("exec", "doug", "--no-prompt", "--", "true", env={"LATCHKEY_NO_PROMPT": "1"})
    assert calls(world.endpoint).get("sts:GetSessionToken") == 1

    world.ok("clear")
    folder = fake_program(world, "ykman", f"echo {code(world, doug)}\n")
    world.ok("export", "doug", "--no-prompt", "--prompt", "ykman", env={"PATH": f"{folder}:{world.env['PATH']}"})


def test_file_vault_without_passphrase_names_the_variable(world: World, doug: dict[str, str]) -> None:
    env = {"LATCHKEY_FILE_PASSPHRASE": ""}
    started = time.monotonic()
    result = world.run("export", "doug", "--no-prompt", env=env)
    assert time.monotonic() - started < 5
    assert result.returncode == 1
    assert "needs its passphrase" in result.stderr and "LATCHKEY_FILE_PASSPHRASE" in result.stderr
    assert "--no-prompt" in result.stderr and PASSPHRASE not in result.stderr


def test_other_askers_refuse_with_the_flag_that_works(world: World, doug: dict[str, str]) -> None:
    env = {"LATCHKEY_NO_PROMPT": "1"}
    add = world.run("add", "other", env=env)
    assert add.returncode == 1 and "latchkey add other --env" in add.stderr
    enroll = world.run("mfa", "enroll", "doug", env=env)
    assert enroll.returncode == 1 and "--codes CODE1 CODE2" in enroll.stderr
    imported = world.run("import", "aws-vault", env={**env, "AWS_VAULT_FILE_DIR": str(world.home)})
    assert imported.returncode == 1 and "AWS_VAULT_FILE_PASSPHRASE" in imported.stderr
    remove = world.run("remove", "doug", "--no-prompt")
    assert remove.returncode == 1 and "--force" in remove.stderr


def test_a_dialog_without_terminal_is_announced_on_the_desktop(world: World, doug: dict[str, str]) -> None:
    fake_program(world, "notify-send", "exit 0\n")
    folder = fake_program(world, "zenity", f"echo {code(world, doug)}\n")
    env = {"PATH": f"{folder}:{world.env['PATH']}", "DISPLAY": ":42"}
    world.ok("export", "--format", "json", "doug", env=env)
    notified = (world.home / "notify-send.argv").read_text()
    assert "doug" in notified and "dialog" in notified
    assert PASSPHRASE not in notified and doug["secret_access_key"] not in notified
