"""Many latchkey processes adding (with config sections), removing, rotating against the double and
reading at once: no lost update in the vault or the config file, no damaged item, no orphaned AWS
key, no deadlock (every process is bounded in time)."""

from __future__ import annotations

import json
import random
import re
import string
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

from conftest import BINARY, World
from double_fixtures import access_key_ids, client, create_user


def key_pair(seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    key_id = "AKIA" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    secret = "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
    return {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}


def plain_user(endpoint: str) -> dict[str, str]:
    """An IAM user with one access key and an allow-all policy, no MFA: rotate signs with the key."""
    user = create_user(endpoint, f"rot-{uuid.uuid4().hex[:8]}")
    return {**user, "AWS_ACCESS_KEY_ID": user["access_key_id"], "AWS_SECRET_ACCESS_KEY": user["secret_access_key"]}


def test_concurrent_writers_removers_rotators_and_readers(world: World) -> None:
    original_config = "# mine\n[default]\nregion = us-east-1\n"
    world.write_config(original_config)
    for name, seed in [(f"keep{i}", 100 + i) for i in range(4)] + [(f"gone{i}", 200 + i) for i in range(4)]:
        world.ok("add", name, "--env", "--no-config", env=key_pair(seed))
    rotating = {f"rot{i}": plain_user(world.endpoint) for i in range(3)}
    for name, user in rotating.items():
        world.ok("add", name, "--env", env=user)

    # A job is a sequence of commands; the jobs run all at once.
    jobs: list[list[tuple[list[str], dict[str, str]]]] = []
    for i in range(8):  # new profiles with config sections: the config lock is what keeps them all
        jobs.append([(["add", f"new{i}", "--env"], key_pair(300 + i))])
    for i in range(4):
        jobs.append([(["remove", "-f", f"gone{i}"], {})])
    for name in rotating:  # each profile rotated twice in a row, alongside everything else
        jobs.append([(["rotate", name], {}), (["rotate", name], {})])
        jobs.append([(["export", "--format", "json", "--no-session", name], {})] * 3)
    for i in range(4):
        jobs.append([(["export", "--format", "json", "--no-session", f"keep{i}"], {})])
        jobs.append([(["list", "--json"], {})])
    random.Random(5).shuffle(jobs)

    def run(job: list[tuple[list[str], dict[str, str]]]) -> list[tuple[list[str], str]]:
        outputs = []
        for args, extra in job:
            result = subprocess.run([str(BINARY), *args], env={**world.env, **extra}, capture_output=True,
                                    text=True, timeout=180, start_new_session=True)  # a deadlock fails here
            assert result.returncode == 0, (args, result.stderr)
            outputs.append((args, result.stdout))
        return outputs

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = [output for outputs in pool.map(run, jobs) for output in outputs]

    # Every key a rotation created, by profile, in order; exports saw only keys the profile had.
    created: dict[str, list[str]] = {name: [] for name in rotating}
    for args, out in results:
        if args[0] == "rotate":
            old, new = re.search(r"(AKIA\w+) -> (AKIA\w+)", out).groups()  # type: ignore[union-attr]
            created[args[1]].append(new)
    for args, out in results:
        if args[0] == "export" and args[-1].startswith("keep"):
            assert json.loads(out)["AccessKeyId"] == key_pair(100 + int(args[-1][-1]))["AWS_ACCESS_KEY_ID"]
        elif args[0] == "export":
            known = [rotating[args[-1]]["AWS_ACCESS_KEY_ID"], *created[args[-1]]]
            assert json.loads(out)["AccessKeyId"] in known

    names = {p["name"] for p in world.listing()["profiles"] if p["credentials"]}
    assert names == {f"keep{i}" for i in range(4)} | {f"new{i}" for i in range(8)} | set(rotating)
    for i in range(8):
        exported = json.loads(world.ok("export", "--format", "json", "--no-session", f"new{i}").stdout)
        assert exported["AccessKeyId"] == key_pair(300 + i)["AWS_ACCESS_KEY_ID"]

    # Each rotated profile holds its last new key, the double accepts it, and AWS has no other key.
    for name, user in rotating.items():
        assert len(created[name]) == 2
        stored = json.loads(world.ok("export", "--format", "json", "--no-session", name).stdout)
        assert stored["AccessKeyId"] == created[name][-1]
        assert access_key_ids(world.endpoint, user["user_name"]) == [created[name][-1]]
        sts = client(world.endpoint, "sts", access_key_id=stored["AccessKeyId"],
                     secret_access_key=stored["SecretAccessKey"])
        assert sts.get_caller_identity()["Arn"] == user["arn"]

    # Every section added is there exactly once, and what the user wrote is untouched.
    config = world.config.read_text()
    assert config.startswith(original_config)
    for name in [f"new{i}" for i in range(8)] + list(rotating):
        assert config.count(f"[profile {name}]\n") == 1, config
    assert sorted(p.name for p in world.config.parent.iterdir()) == ["config", "config.latchkey-backup"]
