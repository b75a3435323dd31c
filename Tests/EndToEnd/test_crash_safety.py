"""Crash safety: latchkey is SIGKILLed at random moments while it writes the vault, the config file
and the session cache, about twenty times per command. After every kill the vault opens with the
same passphrase, no stored key is lost, every item file is whole, the config file is exactly the old
or the new version, and a cached session is either absent or complete and usable. A killed writer
may leave its temporary file (nothing can run after SIGKILL); it never takes a real file's place,
and the next write removes it.

Kill times are spread evenly over the command's measured uninterrupted duration (and a margin), with
a few more near its end where it writes; each scenario asserts that some runs were killed and some
finished, so the kills covered the whole run. Run with -s to see what state each kill left.
The commands run with the kernel unlock cache on: otherwise scrypt is ~95% of every run and the
kills would almost never land in a write. The passphrase itself is checked with the cache off.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import signal
import statistics
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conftest import BINARY, World, calls, code
from double_fixtures import access_key_ids, client, create_user, reset_calls, set_auth

KILLS = 20
WRITES_AT_THE_END = 5  # kills aimed at the last fifth of a run, where every command here writes
TEMPORARY = re.compile(r"^\.tmp-[0-9a-f]+$|^\..+\.latchkey-[A-Za-z0-9]{6}$")
CACHED_UNLOCK = {"LATCHKEY_UNLOCK_TTL": "60"}
PASSPHRASE_UNLOCK = {"LATCHKEY_UNLOCK_TTL": "0"}


# --- killing -------------------------------------------------------------------------------------


@dataclass
class Killer:
    """Runs a command uninterrupted to time it, then again and again with a SIGKILL at spread delays."""

    world: World
    argv: list[str]
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    killed: int = 0
    finished: int = 0
    delays: list[float] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)  # states found after kills, printed with -s

    def start(self, env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(BINARY), *self.argv], env={**self.world.env, **env},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def measure(self, prepare: Callable[[], dict[str, str]], tail: int = 0, band: tuple[float, float] = (0.8, 1.0),
                runs: int = 3) -> float:
        """`tail` kills go to `band` (fractions of the run; default its last fifth), where it writes."""
        durations = []
        for _ in range(runs):
            process = self.start(prepare())
            started = time.monotonic()  # from the same moment as the kill delays
            _, err = process.communicate(timeout=60)
            durations.append(time.monotonic() - started)
            assert process.returncode == 0, err.decode()
        typical = statistics.median(durations)
        # Kills evenly over [0, 1.25 x typical] (the run and a margin), `tail` more over its end, and
        # a fifth at 1.25-2.5 x typical, so some runs finish even on a machine busier than now.
        late = KILLS // 5
        even = KILLS - late - tail

        def spread(count: int, start: float, end: float) -> list[float]:
            return [typical * (start + (end - start) * (i + self.rng.random()) / count) for i in range(count)]

        self.delays = spread(even, 0, 1.25) + spread(tail, *band) + spread(late, 1.25, 2.5)
        self.rng.shuffle(self.delays)
        return typical

    def kill_once(self, delay: float, env: dict[str, str]) -> bool:
        """True when the kill landed before the command ended."""
        process = self.start(env)
        time.sleep(delay)
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the group: helpers such as ykman die with it
        except ProcessLookupError:
            pass
        _, err = process.communicate(timeout=60)
        if process.returncode == -signal.SIGKILL:
            self.killed += 1
            return True
        assert process.returncode == 0, err.decode()
        self.finished += 1
        return False

    def assert_window_covered(self) -> None:
        print(f"\n{self.argv[0]}: {self.killed} killed, {self.finished} finished; seen {dict(self.seen)}")
        assert self.killed >= 3 and self.finished >= 1, (
            f"{self.argv[0]}: {self.killed} killed, {self.finished} finished: the kills missed the run")


# --- what must hold after every kill -------------------------------------------------------------


def temporaries(world: World) -> list[Path]:
    """Leftover temporary files anywhere latchkey writes (HOME, the runtime folder under TMPDIR)."""
    roots = [world.home, Path(world.env["TMPDIR"]) / f"latchkey-{os.getuid()}"]
    return [path for root in roots if root.exists() for path in root.rglob("*") if TEMPORARY.match(path.name)]


def item_key(file_name: str) -> str:
    """The keyring key a vault item file holds: its name is the key in unpadded base32."""
    encoded = file_name.removeprefix("item-").removesuffix(".json").upper()
    return base64.b32decode(encoded + "=" * (-len(encoded) % 8)).decode(errors="replace")


def assert_vault_whole(world: World, header: bytes) -> dict[str, object]:
    """The header is untouched (so the passphrase still opens it) and every item file decodes."""
    assert (world.vault / "vault.json").read_bytes() == header
    names = [p.name for p in world.vault.iterdir()]
    unexpected = [n for n in names if n not in ("vault.json", ".lock") and not n.startswith("item-")
                  and not TEMPORARY.match(n)]
    assert unexpected == []
    listing = world.listing()
    # A rotation's journal (key ids, no secret) is an item `list` does not show.
    journals = sum(n.startswith("item-") and item_key(n).startswith("rotation:") for n in names)
    items = sum(bool(p["credentials"]) + len(p["sessions"]) for p in listing["profiles"]) + journals
    # `list` leaves out a file it cannot decode: a torn item file would show as a missing item.
    assert items == sum(n.startswith("item-") for n in names), (names, listing)
    return listing


def stored_key(world: World, profile: str) -> dict[str, str]:
    exported = json.loads(world.ok("export", "--no-session", "--format", "json", profile).stdout)
    return {"id": exported["AccessKeyId"], "secret": exported["SecretAccessKey"]}


def assert_keys(world: World, expected: dict[str, str]) -> None:
    for profile, key_id in expected.items():
        assert stored_key(world, profile)["id"] == key_id, profile


def assert_passphrase_opens(world: World, profile: str, key_id: str) -> None:
    """The vault opens with the passphrase alone (no unlock cache) and gives back the key."""
    exported = world.ok("export", "--no-session", "--format", "json", profile, env=PASSPHRASE_UNLOCK)
    assert json.loads(exported.stdout)["AccessKeyId"] == key_id


def key_pair(seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    secret = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/")
                     for _ in range(40))
    return {"AWS_ACCESS_KEY_ID": "AKIA" + "".join(rng.choice(alphabet) for _ in range(16)),
            "AWS_SECRET_ACCESS_KEY": secret}


def start_cached(world: World, profile: str) -> bytes:
    """Turns the unlock cache on for the commands under test (primed once); returns the vault header."""
    world.env.update(CACHED_UNLOCK)
    world.ok("export", "--no-session", profile)
    return (world.vault / "vault.json").read_bytes()


# --- (a) add: the vault and the config file ------------------------------------------------------


def test_killed_add_keeps_every_key_and_a_whole_config(world: World, doug: dict[str, str]) -> None:
    header = start_cached(world, "doug")
    expected = {"doug": doug["access_key_id"]}
    killer = Killer(world, ["add", "victim", "--env"])
    measured = iter(range(1000, 1100))

    def fresh() -> dict[str, str]:
        world.run("remove", "-f", "victim")
        world.write_config(f"[profile doug]\nmfa_serial = {doug['mfa_serial']}\nregion = us-east-1\n")
        return key_pair(next(measured))

    killer.measure(fresh, tail=WRITES_AT_THE_END)
    for i, delay in enumerate(killer.delays):
        profile = f"victim{i}"
        killer.argv = ["add", profile, "--env"]
        old = world.config.read_text()
        new = old.rstrip("\n") + f"\n\n[profile {profile}]\n"
        killed = killer.kill_once(delay, key_pair(i))

        config = world.config.read_text()
        assert config in (old, new)
        listing = assert_vault_whole(world, header)
        stored = any(p["name"] == profile and p["credentials"] for p in listing["profiles"])
        if stored:
            assert stored_key(world, profile)["id"] == key_pair(i)["AWS_ACCESS_KEY_ID"]
        if killed:
            killer.seen[f"key {'stored' if stored else 'absent'}, config {'new' if config == new else 'old'}"] += 1
            for leftover in temporaries(world):
                killer.seen[f"temporary left in {leftover.parent.name}"] += 1
        assert_keys(world, expected)
        assert all(TEMPORARY.match(p.name) for p in temporaries(world))

        # The user runs it again: it completes and removes what the killed run left.
        world.ok("add", profile, "--env", env=key_pair(i))
        expected[profile] = key_pair(i)["AWS_ACCESS_KEY_ID"]
        assert world.config.read_text() == new
        assert temporaries(world) == []
    killer.assert_window_covered()
    assert_keys(world, expected)
    assert_passphrase_opens(world, "doug", doug["access_key_id"])


def test_killed_first_add_creates_a_whole_vault_or_none(world: World, tmp_path: Path) -> None:
    """The first `add` creates the vault (scrypt, then the header, then the item): after a kill the
    passphrase opens whatever header is there, and running `add` again completes it."""
    killer = Killer(world, ["add", "first", "--env", "--no-config"])
    vaults = iter(tmp_path / f"vault{i}" for i in range(1000))
    # A short unlock memory: the re-run derives from the passphrase, the export right after reuses it.
    env = {**key_pair(7), "LATCHKEY_UNLOCK_TTL": "5"}
    # scrypt is ~95% of the run and the writes come right after it: eight kills aim there.
    killer.measure(lambda: {**env, "LATCHKEY_FILE_DIR": str(next(vaults))}, tail=8, band=(0.92, 1.05))
    for delay in killer.delays:
        vault = next(vaults)
        killed = killer.kill_once(delay, {**env, "LATCHKEY_FILE_DIR": str(vault)})
        names = sorted(p.name for p in vault.iterdir()) if vault.exists() else []
        assert all(n in ("vault.json", ".lock") or n.startswith("item-") or TEMPORARY.match(n) for n in names)
        assert killed or "item-" in " ".join(names)
        if killed:
            killer.seen[f"{'header' if 'vault.json' in names else 'no header'}, "
                        f"{'item' if any(n.startswith('item-') for n in names) else 'no item'}"] += 1
        if "vault.json" in names:
            json.loads((vault / "vault.json").read_text())  # whole, not torn

        again = world.run("add", "first", "--env", "--no-config", env={**env, "LATCHKEY_FILE_DIR": str(vault)})
        assert again.returncode == 0, again.stderr  # a wrong-passphrase or corrupt-vault error fails here
        exported = world.ok("export", "--no-session", "--format", "json", "first",
                            env={**env, "LATCHKEY_FILE_DIR": str(vault)})
        assert json.loads(exported.stdout)["AccessKeyId"] == key_pair(7)["AWS_ACCESS_KEY_ID"]
        assert not [n for n in os.listdir(vault) if TEMPORARY.match(n)]
    killer.assert_window_covered()


# --- (b) MFA enrolment: AWS, then the config file -------------------------------------------------

# A YubiKey stand-in in sh (fast, so the kills land in latchkey, not in a Python start-up): keeps
# each account's secret and answers codes of consecutive 30 s steps with oathtool.
FAKE_YKMAN = r"""#!/bin/sh
for name; do :; done
state="$FAKE_YKMAN_STATE/$name"
case "$1 $2 $3" in
"oath info "*) echo "OATH version: 5.4.3" ;;
"oath accounts add") read -r seed; printf '%s' "$seed" > "$state.seed"; echo 0 > "$state.count" ;;
"oath accounts code")
    n=$(cat "$state.count"); echo $((n + 1)) > "$state.count"
    oathtool --totp -b -N "@$(( $(date +%s) + 30 * n ))" "$(cat "$state.seed")" ;;
*) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""
ENROLL_CONFIG = "# my settings\n[profile doug]\nregion = us-east-1 ; home\n"


def new_user_as_doug(world: World) -> dict[str, str]:
    """A fresh IAM user with a key and no MFA device, stored as profile doug; config reset."""
    user = create_user(world.endpoint, f"doug-{uuid.uuid4().hex[:8]}")
    world.write_config(ENROLL_CONFIG)
    world.ok("add", "doug", "--env", "--no-config",
             env={"AWS_ACCESS_KEY_ID": user["access_key_id"], "AWS_SECRET_ACCESS_KEY": user["secret_access_key"]})
    return {**user, "serial": f"arn:aws:iam::{user['account_id']}:mfa/{user['user_name']}"}


def enabled_devices(world: World, user_name: str) -> list[str]:
    set_auth(world.endpoint, False)
    try:
        devices = client(world.endpoint, "iam").list_mfa_devices(UserName=user_name)["MFADevices"]
        return [d["SerialNumber"] for d in devices]
    finally:
        set_auth(world.endpoint, True)


def test_killed_mfa_enrolment_leaves_the_old_or_the_new_config(world: World, tmp_path: Path) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "ykman").write_text(FAKE_YKMAN)
    (folder / "ykman").chmod(0o755)
    (tmp_path / "ykman-state").mkdir()
    world.env.update({"PATH": f"{folder}:{world.env['PATH']}", "FAKE_YKMAN_STATE": str(tmp_path / "ykman-state")})
    world.write_config(ENROLL_CONFIG)
    world.ok("add", "seed", "--env", "--no-config", env=key_pair(1))  # creates the vault
    header = start_cached(world, "seed")
    killer = Killer(world, ["mfa", "enroll", "doug", "--yubikey"])
    killer.measure(lambda: (new_user_as_doug(world), {})[1], tail=WRITES_AT_THE_END)
    for delay in killer.delays:
        user = new_user_as_doug(world)
        killed = killer.kill_once(delay, {})

        config = world.config.read_text()
        new = ENROLL_CONFIG + f"mfa_serial = {user['serial']}\n"
        assert config in (ENROLL_CONFIG, new)
        assert killed or config == new
        enabled = enabled_devices(world, user["user_name"])
        if killed:
            killer.seen[f"device {'enabled' if enabled else 'not enabled'}, "
                        f"config {'new' if config == new else 'old'}"] += 1
        # The config never names a device AWS has not enabled.
        assert config == ENROLL_CONFIG or enabled == [user["serial"]]
        backup = world.config.parent / "config.latchkey-backup"
        assert not backup.exists() or backup.read_text() == ENROLL_CONFIG
        assert_vault_whole(world, header)
        assert_keys(world, {"doug": user["access_key_id"], "seed": key_pair(1)["AWS_ACCESS_KEY_ID"]})
        assert all(TEMPORARY.match(p.name) for p in temporaries(world))
    killer.assert_window_covered()

    user = new_user_as_doug(world)
    world.ok(*killer.argv)
    assert world.config.read_text() == ENROLL_CONFIG + f"mfa_serial = {user['serial']}\n"
    assert temporaries(world) == []
    assert_passphrase_opens(world, "doug", user["access_key_id"])


# --- (c) the session cache: a cold export that calls GetSessionToken and caches the session --------


def test_killed_session_caching_leaves_no_session_or_a_whole_one(world: World, doug: dict[str, str]) -> None:
    header = start_cached(world, "doug")
    config = world.config.read_text()
    killer = Killer(world, ["export", "--format", "json", "doug"])

    def cold() -> dict[str, str]:
        world.ok("clear", "doug")
        return {}

    def with_code(env: dict[str, str]) -> dict[str, str]:
        killer.argv = ["export", "--format", "json", "--mfa-token", code(world, doug), "doug"]
        return env

    killer.measure(lambda: with_code(cold()), tail=WRITES_AT_THE_END)
    cached = 0
    for delay in killer.delays:
        killed = killer.kill_once(delay, with_code(cold()))

        listing = assert_vault_whole(world, header)
        assert world.config.read_text() == config
        assert_keys(world, {"doug": doug["access_key_id"]})
        assert all(TEMPORARY.match(p.name) for p in temporaries(world))
        sessions = next(p for p in listing["profiles"] if p["name"] == "doug")["sessions"]
        if killed:
            killer.seen["session cached" if sessions else "no session"] += 1
        reset_calls(world.endpoint)
        # No terminal and no --mfa-token: only a complete cached session can answer.
        again = world.run("export", "--format", "json", "doug")
        if sessions:
            cached += 1
            assert again.returncode == 0, again.stderr
            session = json.loads(again.stdout)
            identity = client(world.endpoint, "sts", access_key_id=session["AccessKeyId"],
                              secret_access_key=session["SecretAccessKey"],
                              session_token=session["SessionToken"]).get_caller_identity()
            assert identity["Arn"] == doug["arn"]
            assert "sts:GetSessionToken" not in calls(world.endpoint)
        else:
            assert again.returncode == 1 and "MFA" in again.stderr, again.stderr
    killer.assert_window_covered()
    assert cached >= 1  # the runs that finished cached their session

    with_code(cold())
    world.ok(*killer.argv)  # a run to the end removes what killed ones left
    assert temporaries(world) == []
    assert_passphrase_opens(world, "doug", doug["access_key_id"])


# --- (d) rotate: never without a working key ------------------------------------------------------


def test_killed_rotation_always_leaves_a_working_stored_key(world: World, doug: dict[str, str]) -> None:
    header = start_cached(world, "doug")
    config = world.config.read_text()
    killer = Killer(world, ["rotate", "doug"])

    def with_code() -> dict[str, str]:
        killer.argv = ["rotate", "--mfa-token", code(world, doug), "doug"]
        return {}

    killer.measure(with_code, tail=WRITES_AT_THE_END)
    for delay in killer.delays:
        before = stored_key(world, "doug")["id"]
        # What an earlier kill left (a second key in AWS) is for this run to clear up: the journal
        # a rotation keeps lets it finish the killed one or delete the key nobody has the secret of.
        killed = killer.kill_once(delay, with_code())

        assert_vault_whole(world, header)
        assert world.config.read_text() == config
        assert all(TEMPORARY.match(p.name) for p in temporaries(world))
        stored = stored_key(world, "doug")
        in_aws = access_key_ids(world.endpoint, doug["user_name"])
        # The stored key is the old or a new one; AWS has it (and at most the other one); it works.
        assert stored["id"] in in_aws and len(in_aws) <= 2
        sts = client(world.endpoint, "sts", access_key_id=stored["id"], secret_access_key=stored["secret"])
        assert sts.get_caller_identity()["Arn"] == doug["arn"]
        if killed:
            killer.seen[f"{'old' if stored['id'] == before else 'new'} key stored, {len(in_aws) - 1} left over"] += 1
        else:
            assert in_aws == [stored["id"]]  # a finished run leaves no second key, whatever it found
    killer.assert_window_covered()

    with_code()
    world.ok(*killer.argv)
    stored = stored_key(world, "doug")
    assert access_key_ids(world.endpoint, doug["user_name"]) == [stored["id"]]
    assert temporaries(world) == []
    assert_passphrase_opens(world, "doug", stored["id"])

