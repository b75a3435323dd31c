"""No secret in clear anywhere latchkey writes or passes on: run the commands with known sentinel
secrets, then search every child's argv and environment (except the intended `exec` child's
environment), stdout/stderr including --debug, and every file under HOME and TMPDIR outside the
encrypted vault."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

from conftest import BINARY, PASSPHRASE, World, calls, code
from double_fixtures import create_role, set_auth


def spy(world: World, name: str, body: str = "") -> None:
    """A program on PATH that records its argv and environment, then runs `body`."""
    folder = world.home / "bin"
    folder.mkdir(exist_ok=True)
    program = folder / name
    program.write_text(f'#!/bin/sh\n{{ echo "ARGV: $*"; env; }} >> {world.home}/spied-{name}.txt\n{body}')
    program.chmod(0o700)


def leaks(world: World, secrets: dict[str, str], outputs: list[str]) -> list[tuple[str, str]]:
    """(secret, place) for every secret found in the outputs, a spied child's argv or environment,
    or any file under TMPDIR (HOME is inside it) outside the encrypted vault."""
    haystacks: dict[str, str] = {f"output {i}": text for i, text in enumerate(outputs)}
    for path in Path(world.env["TMPDIR"]).rglob("*"):
        if path.is_file() and world.vault not in path.parents:
            haystacks[str(path)] = path.read_text(errors="replace")
    for spied in world.home.glob("spied-*.txt"):
        haystacks[f"argv/env of {spied.name}"] = spied.read_text()
    return [(what, where) for what, secret in secrets.items() for where, text in haystacks.items() if secret in text]


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
    assert leaks(world, secrets, outputs) == []
    # The vault itself holds them only encrypted.
    vault_bytes = b"".join(p.read_bytes() for p in world.vault.iterdir() if p.is_file())
    assert all(secret.encode() not in vault_bytes for secret in secrets.values())
    assert os.path.exists(world.home / "spied-code-source.txt")  # the spy did run
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in Path(world.env["TMPDIR"], "ecs-child-env").read_text()


def test_no_secret_leaks_from_the_other_commands(world: World, doug: dict[str, str]) -> None:
    """The commands the test above leaves out: servers, console login, rotation, doctor and the
    read-only ones, all with --debug; afterwards the rotated key's secret is searched for too."""
    spy(world, "code-source", f"echo {code(world, doug)}\n")
    spy(world, "xdg-open")
    set_auth(world.endpoint, False)
    role = create_role(world.endpoint, "leak-admin", doug["arn"])
    set_auth(world.endpoint, True)
    env = {
        "PATH": f"{world.home}/bin:{world.env['PATH']}",
        "LATCHKEY_DEBUG": "1",
        "LATCHKEY_SIGNIN_ENDPOINT": world.endpoint + "/federation",
    }
    world.write_config(
        f"[profile doug]\nmfa_serial = {doug['mfa_serial']}\nmfa_process = code-source\nregion = us-east-1\n"
        f"\n[profile admin]\nrole_arn = {role}\nsource_profile = doug\n"
    )
    outputs: list[str] = []

    def run(*args: str) -> None:
        result = world.run(*args, env=env)
        outputs.extend([result.stdout, result.stderr])

    run("exec", "--ec2-server", "doug", "--", "sh", "-c", f"env > {world.env['TMPDIR']}/ec2-child-env")
    sessions = [json.loads(world.ok("export", "--format", "json", name, env=env).stdout) for name in ("doug", "admin")]
    for args in (
        ["explain", "admin"], ["doctor"], ["doctor", "admin"], ["backends"], ["shell-init", "bash"],
        ["mfa", "list", "doug"], ["policy", "show"], ["list", "--json"], ["login", "admin"],
    ):
        run(*args)
    server = subprocess.Popen(
        [str(BINARY), "serve", "admin", "--ecs"], env={**world.env, **env}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        assert server.stdout is not None
        printed = [server.stdout.readline() for _ in range(3)]
        variables = dict(line.strip().removeprefix("export ").split("=", 1) for line in printed if "=" in line)
        request = urllib.request.Request(variables["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                                         headers={"Authorization": variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert json.load(answer)["AccessKeyId"] == sessions[1]["AccessKeyId"]  # the cached role session
    finally:
        server.send_signal(signal.SIGINT)
        rest, errors = server.communicate(timeout=30)
    outputs.extend(["".join(printed) + rest, errors])
    run("rotate", "doug")
    rotated = json.loads(world.ok("export", "--format", "json", "--no-session", "doug").stdout)
    assert rotated["AccessKeyId"] != doug["access_key_id"]  # the rotation did happen
    run("list")
    run("doctor", "doug")

    secrets = {
        "long-lived secret": doug["secret_access_key"],
        "rotated secret": rotated["SecretAccessKey"],
        "vault passphrase": PASSPHRASE,
        "MFA seed": doug["mfa_seed"],
    }
    for session, name in zip(sessions, ("MFA session", "role session")):
        secrets[f"{name} secret"] = session["SecretAccessKey"]
        secrets[f"{name} token"] = session["SessionToken"]
    assert leaks(world, secrets, outputs) == []
    assert "SigninToken" not in (world.home / "spied-xdg-open.txt").read_text().split("\n")[0]
    assert "AWS_EC2_METADATA_SERVICE_ENDPOINT" in Path(world.env["TMPDIR"], "ec2-child-env").read_text()
