"""One MFA prompt however many processes start at once; a crashed holder blocks no one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from conftest import BINARY, World, calls, code


def mfa_process(world: World, body: str) -> Path:
    script = world.home / "mfa.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o700)
    return script


def test_thirty_two_processes_make_one_call_and_ask_once(world: World, doug: dict[str, str]) -> None:
    asked = world.home / "asked"
    script = mfa_process(world, f"echo asked >> {asked}\necho {code(world, doug)}\n")
    world.write_config(f"[profile doug]\nmfa_serial = {doug['mfa_serial']}\nmfa_process = {script}\n")
    processes = [
        subprocess.Popen([str(BINARY), "export", "--format", "json", "doug"], env=world.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        for _ in range(32)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), [err for _, err in results if err][:3]
    keys = {json.loads(out)["AccessKeyId"] for out, _ in results}
    assert len(keys) == 1
    assert asked.read_text().count("asked") == 1
    assert calls(world.endpoint).get("sts:GetSessionToken") == 1


def test_a_killed_holder_does_not_block_and_a_waiter_gives_up_in_time(world: World, doug: dict[str, str]) -> None:
    started = world.home / "started"
    script = mfa_process(world, f"touch {started}\nsleep 60\n")
    world.write_config(f"[profile doug]\nmfa_serial = {doug['mfa_serial']}\nmfa_process = {script}\n")
    holder = subprocess.Popen([str(BINARY), "export", "doug"], env=world.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while not started.exists():
        assert time.monotonic() < deadline, "the first process never asked for a code"
        time.sleep(0.05)

    waiter = world.run("export", "doug", env={"LATCHKEY_LOCK_TIMEOUT": "1"})
    assert waiter.returncode == 1
    assert "another latchkey process has been getting the session for 'doug'" in waiter.stderr

    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait()
    mfa_process(world, f"echo {code(world, doug)}\n")
    begun = time.monotonic()
    world.ok("export", "doug")
    assert time.monotonic() - begun < 20
