"""Many latchkey processes adding, removing and reading at once: no lost update, no damaged item,
no deadlock (every process is bounded in time)."""

from __future__ import annotations

import json
import random
import string
import subprocess

from conftest import BINARY, World


def key_pair(seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    key_id = "AKIA" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    secret = "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
    return {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}


def test_concurrent_writers_removers_and_readers(world: World) -> None:
    for name, seed in [(f"keep{i}", 100 + i) for i in range(4)] + [(f"gone{i}", 200 + i) for i in range(4)]:
        world.ok("add", name, "--env", "--no-config", env=key_pair(seed))

    jobs: list[tuple[list[str], dict[str, str]]] = []
    for i in range(8):
        jobs.append((["add", f"new{i}", "--env", "--no-config"], key_pair(300 + i)))
    for i in range(4):
        jobs.append((["remove", "-f", f"gone{i}"], {}))
    for i in range(4):
        jobs.append((["export", "--format", "json", "--no-session", f"keep{i}"], {}))
        jobs.append((["list", "--json"], {}))
    random.Random(5).shuffle(jobs)
    processes = [
        subprocess.Popen([str(BINARY), *args], env={**world.env, **extra}, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
        for args, extra in jobs
    ]
    for process, (args, _) in zip(processes, jobs):
        out, err = process.communicate(timeout=180)  # a deadlock fails here
        assert process.returncode == 0, (args, err)
        if args[0] == "export":
            assert json.loads(out)["AccessKeyId"] == key_pair(100 + int(args[-1][-1]))["AWS_ACCESS_KEY_ID"]

    names = {p["name"] for p in world.listing()["profiles"] if p["credentials"]}
    assert names == {f"keep{i}" for i in range(4)} | {f"new{i}" for i in range(8)}
    for i in range(8):
        exported = json.loads(world.ok("export", "--format", "json", "--no-session", f"new{i}").stdout)
        assert exported["AccessKeyId"] == key_pair(300 + i)["AWS_ACCESS_KEY_ID"]
