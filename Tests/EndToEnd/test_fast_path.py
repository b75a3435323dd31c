"""The hot commands skip ArgumentParser (issue 16): the same command line run through the fast path
and through the full parser (LATCHKEY_FULL_PARSER=1) gives the same output, errors and exit status."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from conftest import BINARY, World, code

FULL = {"LATCHKEY_FULL_PARSER": "1"}

SHAPES = [
    ["--version"],
    ["export", "doug"],
    ["export", "--format", "json", "doug"],
    ["export", "doug", "--format=json"],
    ["export", "--format=ini", "doug"],
    ["export", "doug", "--format", "export-env"],
    ["export", "--format", "env", "doug"],
    # Failures: an unknown profile, a profile named like ArgumentParser's help command.
    ["export", "--format", "json", "nobody"],
    ["export", "help"],
    # (The switch itself is in the full path's environment, so the child sees it: left out here.)
    ["exec", "doug", "--", "sh", "-c", 'env | grep -E "^(AWS|LATCHKEY)_" | grep -v ^LATCHKEY_FULL_PARSER= | sort; exit 3'],
    ["exec", "doug", "--", "sh", "-c", 'echo "$@"', "x", "--duration", "-s", "--help"],
    ["exec", "doug", "--", "no-such-command-here"],
    ["exec", "nobody", "--", "true"],
    ["exec", "doug", "--"],
    # A code given while a session is cached is not needed: the cached session either way.
    ["export", "--mfa-token", "000000", "--format", "json", "doug"],
    ["exec", "--mfa-token=000000", "doug", "--", "true"],
]


def both_ways(world: World, args: list[str], env: dict[str, str] | None = None) -> tuple[tuple, tuple]:
    fast = world.run(*args, env=env)
    full = world.run(*args, env={**(env or {}), **FULL})
    # --debug says how long the cached session has left, in minutes: the two runs may straddle one.
    left = re.compile(r"\b\w+ left\b")
    return (
        (fast.returncode, fast.stdout, left.sub("_ left", fast.stderr)),
        (full.returncode, full.stdout, left.sub("_ left", full.stderr)),
    )


def test_fast_and_full_paths_agree(world: World, doug: dict[str, str]) -> None:
    world.ok("export", "--mfa-token", code(world, doug), "doug")  # the session every shape below reuses
    for args in SHAPES:
        fast, full = both_ways(world, args, env={"SHELL": "/bin/true"})
        assert fast == full, args
    # Variables the path reads: a nested exec is refused, the region of the environment is handed out.
    for env in ({"AWS_VAULT": "other"}, {"LATCHKEY_DEBUG": "1"}, {"LATCHKEY_BACKEND": "nope"}):
        for args in (["export", "--format", "json", "doug"], ["exec", "doug", "--", "true"]):
            fast, full = both_ways(world, args, env=env)
            assert fast == full, (args, env)
    assert world.run("export", "--format", "json", "nobody").returncode == 1


def test_the_first_session_takes_the_code_on_the_fast_path(world: World, doug: dict[str, str]) -> None:
    """`--mfa-token` is read by the fast path: a wrong code is the same error both ways, and a good
    one makes the session the next warm export hands out."""
    world.ok("clear", "doug")
    wrong = ["export", "--format", "json", "--mfa-token", "000000", "doug"]
    fast, full = both_ways(world, wrong)
    assert fast == full and fast[0] == 1 and "MFA" in fast[2], fast
    first = json.loads(world.ok("export", "--format", "json", "--mfa-token", code(world, doug), "doug").stdout)
    again = json.loads(world.ok("export", "--format", "json", "doug").stdout)
    assert first["AccessKeyId"].startswith("ASIA") and again == first


@pytest.mark.parametrize(
    "args",
    [
        ["export", "--no-such-flag", "doug"],
        ["export", "--format", "yaml", "doug"],
        ["exec", "doug", "--no-such-flag", "--", "true"],
    ],
)
def test_unknown_words_reach_argument_parser(world: World, args: list[str]) -> None:
    """What the fast path does not know goes to ArgumentParser untouched: its usage error, status 64."""
    result = world.run(*args)
    assert result.returncode == 64, result.stderr
    assert "Usage: latchkey" in result.stderr or "Error:" in result.stderr
    assert (result.returncode, result.stdout, result.stderr) == both_ways(world, args)[1]


def test_a_warm_credential_starts_no_thread(world: World, doug: dict[str, str]) -> None:
    """A cached session is read and handed out on the main thread: the concurrency runtime's pool
    never starts (its threads cost three clone3 and their start-up on every credential_process
    call). The full parser's path still uses the pool, which shows the check can see a thread."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed (scripts/setup --test installs it)")
    world.ok("export", "--mfa-token", code(world, doug), "doug")
    for args in (["export", "--format", "json", "doug"], ["exec", "doug", "--", "true"]):
        for extra, threads_expected in (({}, False), (FULL, True)):
            log = world.home / "strace.log"
            result = subprocess.run(
                [strace, "-f", "-qq", "-e", "trace=clone,clone3", "-o", str(log), str(BINARY), *args],
                env={**world.env, **extra}, capture_output=True, text=True, timeout=60, start_new_session=True,
            )
            assert result.returncode == 0, result.stderr
            trace = log.read_text()
            started = re.findall(r"^\d+ +clone3?\(", trace, re.MULTILINE)
            assert bool(started) == threads_expected, (args, extra, trace[-2000:])
