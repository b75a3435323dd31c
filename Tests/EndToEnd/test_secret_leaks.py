"""No secret in clear anywhere latchkey writes or passes on: run the commands with known sentinel
secrets, then search every child's argv and environment (except the intended `exec` child's
environment), stdout/stderr including --debug, and every file under HOME and TMPDIR outside the
encrypted vault."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import PASSPHRASE, World, calls, code


def spy(world: World, name: str, body: str = "") -> None:
    """A program on PATH that records its argv and environment, then runs `body`."""
    folder = world.home / "bin"
    folder.mkdir(exist_ok=True)
    program = folder / name
    program.write_text(f'#!/bin/sh\n{{ echo "ARGV: $*"; env; }} >> {world.home}/spied-{name}.txt\n{body}')
    program.chmod(0o700)


def test_no_secret_leaks(world: World, doug: dict[str, str]) -> None:
    spy(world, "code-source", f"echo {code(world, doug)}\n")
    spy(world, "xdg-open")
    env = {"PATH": f"{world.home}/bin:{world.env['PATH']}", "LATCHKEY_DEBUG": "1"}
    world.write_config(
        f"[profile doug]\nmfa_serial = {doug['mfa_serial']}\nmfa_process = code-source\n"
        f"\n[profile proc]\ncredential_process = latchkey-proc\n"
    )
    outputs: list[str] = []

    def run(*args: str, **kwargs: str) -> None:
        result = world.run(*args, env={**env, **kwargs})
        outputs.extend([result.stdout if args[0] not in ("export",) else "", result.stderr])

    run("list")
    run("explain", "doug")
    run("exec", "doug", "--", "true")
    run("export", "--format", "json", "doug")  # its stdout is the intended output; stderr is scanned
    session = json.loads(world.ok("export", "--format", "json", "doug").stdout)
    run("exec", "doug", "--", "sh", "-c", "echo started")
    # A server child gets the server's address and token only: its whole environment is scanned.
    run("exec", "--ecs-server", "doug", "--", "sh", "-c", f"env > {world.env['TMPDIR']}/ecs-child-env")
    run("export", "nosuch")
    run("export", "--mfa-token", "12x456", "doug")
    run("export", "--no-session", "doug", LATCHKEY_FILE_PASSPHRASE="wrong passphrase")
    run("add", "other", "--env", AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY="bad/secret")
    run("clear")
    run("remove", "-f", "other")
    assert calls(world.endpoint).get("sts:GetSessionToken") == 1

    secrets = {
        "long-lived secret": doug["secret_access_key"],
        "session secret": session["SecretAccessKey"],
        "session token": session["SessionToken"],
        "vault passphrase": PASSPHRASE,
        "MFA seed": doug["mfa_seed"],
    }
    haystacks: dict[str, str] = {f"output {i}": text for i, text in enumerate(outputs)}
    for path in Path(world.env["TMPDIR"]).rglob("*"):
        if path.is_file() and world.vault not in path.parents:
            haystacks[str(path)] = path.read_text(errors="replace")
    for spied in world.home.glob("spied-*.txt"):
        haystacks[f"argv/env of {spied.name}"] = spied.read_text()
    leaks = [(what, where) for what, secret in secrets.items() for where, text in haystacks.items() if secret in text]
    assert leaks == []
    # The vault itself holds them only encrypted.
    vault_bytes = b"".join(p.read_bytes() for p in world.vault.iterdir() if p.is_file())
    assert all(secret.encode() not in vault_bytes for secret in secrets.values())
    assert os.path.exists(world.home / "spied-code-source.txt")  # the spy did run
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in Path(world.env["TMPDIR"], "ecs-child-env").read_text()
