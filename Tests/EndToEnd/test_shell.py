"""Shell integration: completion of profile names, the prompt segment, the marker in `exec`'s shell."""

from __future__ import annotations

import subprocess
import time

from conftest import BINARY, World, code
from test_terminal import Tmux


def bash(world: World, script: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True, timeout=60,
        env={**world.env, "PATH": f"{BINARY.parent}:{world.env['PATH']}", **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_bash_completes_profile_names_from_the_config(world: World) -> None:
    world.write_config("[profile dev]\n[profile deploy]\n[profile prod]\n")
    out = bash(world, 'eval "$(latchkey shell-init bash)"\n'
                      'COMP_WORDS=(latchkey exec de); COMP_CWORD=2; COMP_LINE="latchkey exec de"\n'
                      'COMP_POINT=${#COMP_LINE}; _latchkey latchkey de exec; echo "${COMPREPLY[*]}"')
    assert out.split() == ["deploy", "dev"]


def test_prompt_segment_shows_profile_and_time_left(world: World) -> None:
    segment = 'eval "$(latchkey shell-init bash)"; __latchkey_ps1'
    now = int(time.time())
    assert "(aws:doug 0h50m)" in bash(world, segment, {"AWS_VAULT": "doug", "LATCHKEY_SESSION_EXPIRES": str(now + 3030)})
    nearly = bash(world, segment, {"AWS_VAULT": "doug", "LATCHKEY_SESSION_EXPIRES": str(now + 200)})
    assert "\033[31m" in nearly and "(aws:doug 3m)" in nearly
    assert bash(world, segment) == ""
    env = {**world.env, "PATH": f"{BINARY.parent}:{world.env['PATH']}", "AWS_VAULT": "doug",
           "LATCHKEY_SESSION_EXPIRES": str(now + 200)}
    zsh = subprocess.run(["zsh", "-f", "-c", 'eval "$(latchkey shell-init zsh)" && __latchkey_ps1'],
                         env=env, capture_output=True, text=True, timeout=60)
    assert zsh.returncode == 0 and zsh.stdout == "%F{red}(aws:doug 3m)%f ", zsh.stderr
    fish = subprocess.run(["fish", "--no-config", "-c", "latchkey shell-init fish | source; __latchkey_segment"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert fish.returncode == 0 and "(aws:doug 3m)" in fish.stdout, fish.stderr
    assert "knows bash, zsh and fish" in world.run("shell-init", "tcsh").stderr


def test_exec_shell_keeps_the_users_prompt_and_marks_it(world: World, doug: dict[str, str]) -> None:
    world.ok("exec", "--mfa-token", code(world, doug), "doug", "--", "true")
    (world.home / ".bashrc").write_text("PS1='mine> '\n")
    tmux = Tmux({**world.env, "SHELL": "/bin/bash"})
    try:
        tmux.start(f"{BINARY} exec doug")
        screen = tmux.wait_for("mine> ")
        assert "(aws:doug) mine> " in screen
        tmux.type('echo "in:$AWS_VAULT"; exit')
        assert "in:doug" in tmux.wait_for("EXITED:")
    finally:
        tmux.stop()


def test_exec_shell_marks_zsh_after_the_users_zshrc(world: World, doug: dict[str, str]) -> None:
    world.ok("exec", "--mfa-token", code(world, doug), "doug", "--", "true")
    (world.home / ".zshrc").write_text("PROMPT='zmine> '\n")
    tmux = Tmux({**world.env, "SHELL": "/usr/bin/zsh"})
    try:
        tmux.start(f"{BINARY} exec doug")
        assert "(aws:doug) zmine> " in tmux.wait_for("zmine> ")
        tmux.type('echo "z:$AWS_VAULT:$ZDOTDIR"; exit')
        assert f"z:doug:{world.home}" in tmux.wait_for("EXITED:")
    finally:
        tmux.stop()
