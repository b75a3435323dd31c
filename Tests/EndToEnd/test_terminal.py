"""Real terminal prompts, driven through tmux as a person would type."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from conftest import BINARY, PASSPHRASE, World, aws_cli, calls, code


class Tmux:
    def __init__(self, env: dict[str, str]) -> None:
        if not shutil.which("tmux"):
            pytest.fail("tmux is not installed: scripts/setup --test installs it")
        self.socket = f"latchkey-test-{uuid.uuid4().hex[:8]}"
        self.env = dict(env)

    def start(self, command: str) -> None:
        exports = " ".join(f"{k}='{v}'" for k, v in self.env.items())
        subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-x", "200", "-y", "50",
                        f"env -i {exports} {command}; echo EXITED:$?; sleep 30"], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "capture-pane", "-p", "-J"],
                              capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; screen:\n{self.screen()}")

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-l", text], check=True)
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "Enter"], check=True)

    def stop(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def tmux(world: World) -> Iterator[Tmux]:
    session = Tmux(world.env)
    yield session
    session.stop()


def test_mfa_prompt_on_the_terminal(world: World, doug: dict[str, str], tmux: Tmux) -> None:
    tmux.start(f"{BINARY} exec doug -- {aws_cli()} sts get-caller-identity --output text")
    tmux.wait_for(f"Enter MFA code for {doug['mfa_serial']}:")
    tmux.type(code(world, doug))
    screen = tmux.wait_for("EXITED:")
    assert doug["arn"] in screen and "EXITED:0" in screen
    assert calls(world.endpoint).get("sts:GetSessionToken") == 1


def test_passphrase_prompt_hides_what_is_typed(world: World, tmux: Tmux) -> None:
    del tmux.env["LATCHKEY_FILE_PASSPHRASE"]
    tmux.start(f"{BINARY} add typed")
    tmux.wait_for("Enter Access Key ID:")
    tmux.type("AKIAIOSFODNN7EXAMPLE")
    tmux.wait_for("Enter Secret Access Key:")
    tmux.type("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    tmux.wait_for("Choose a passphrase")
    tmux.type(PASSPHRASE)
    tmux.wait_for("Type it again")
    tmux.type(PASSPHRASE)
    screen = tmux.wait_for("EXITED:")
    assert "EXITED:0" in screen, screen
    assert PASSPHRASE not in screen and "wJalrXUtnFEMI" not in screen
    exported = world.ok("export", "--no-session", "typed").stdout
    assert "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE" in exported


def test_shell_alias_from_the_readme(world: World, doug: dict[str, str], tmux: Tmux) -> None:
    world.ok("exec", "--mfa-token", code(world, doug), "doug", "--", "true")
    tmux.start(f"{BINARY} exec doug -- env PS1='aws-doug> ' bash --norc --noprofile")
    tmux.wait_for("aws-doug> ")
    tmux.type('echo "vault=$AWS_VAULT"; exit')
    screen = tmux.wait_for("EXITED:")
    assert "vault=doug" in screen and "EXITED:0" in screen
