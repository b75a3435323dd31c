"""latchkey mfa enroll/list/remove against the strict double, under the MFA-required boundary."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyotp
import pytest

from conftest import BINARY, World, aws_cli
from double_fixtures import client, create_user, next_unused_code, set_auth
from test_terminal import Tmux

FAKE_YKMAN = r'''#!PYTHON
"""A fake ykman: records argv and stdin, keeps the secret, answers TOTP codes of consecutive steps, in pairs."""
import json, os, sys, time
import pyotp
state_path = os.environ["FAKE_YKMAN_STATE"]
state = json.load(open(state_path)) if os.path.exists(state_path) else {"calls": [], "accounts": {}, "codes": 0}
args = sys.argv[1:]
stdin = sys.stdin.read() if "add" in args else ""
state["calls"].append({"argv": args, "stdin": stdin})
status = 0
if os.environ.get("FAKE_YKMAN_ABSENT"):
    print("Error: No YubiKey detected!", file=sys.stderr)
    status = 2
elif args[:2] == ["oath", "accounts"] and args[2] == "add":
    state["accounts"][args[-1]] = stdin.strip()
elif args[:2] == ["oath", "accounts"] and args[2] == "code":
    seed = state["accounts"][args[-1]]
    # Enrolment asks twice, in two processes: the second code is the step after the first one's,
    # not "now + 30 s" read later (on a busy machine the two reads can straddle a step boundary).
    if state["codes"] % 2 == 0:
        state["first_step"] = int(time.time() // 30)
    print(pyotp.TOTP(seed).at((state["first_step"] + state["codes"] % 2) * 30))
    state["codes"] += 1
json.dump(state, open(state_path, "w"))
sys.exit(status)
'''


def bare_user(world: World, boundary: bool = True) -> dict[str, str]:
    """An IAM user with a key and an allow-all policy, no MFA device, optionally under latchkey's boundary."""
    user = create_user(world.endpoint, f"doug-{uuid.uuid4().hex[:8]}", enable_auth=False)
    if boundary:
        iam = client(world.endpoint, "iam")
        document = world.ok("policy", "show").stdout
        name = user["user_name"]
        arn = iam.create_policy(PolicyName=f"{name}-boundary", PolicyDocument=document)["Policy"]["Arn"]
        iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=arn)
    set_auth(world.endpoint, True)
    world.write_config("# my settings\n[profile doug]\nregion = us-east-1 ; home\noutput = json\n")
    world.ok("add", "doug", "--env", "--no-config",
             env={"AWS_ACCESS_KEY_ID": user["access_key_id"], "AWS_SECRET_ACCESS_KEY": user["secret_access_key"]})
    return user


@pytest.fixture
def ykman(world: World, tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "ykman"
    script.write_text(FAKE_YKMAN.replace("PYTHON", sys.executable, 1))
    script.chmod(0o755)
    world.env["PATH"] = f"{folder}:{world.env['PATH']}"
    world.env["FAKE_YKMAN_STATE"] = str(tmp_path / "ykman.json")
    return tmp_path / "ykman.json"


def list_users(world: World, *latchkey_args: str) -> subprocess.CompletedProcess[str]:
    return world.run("exec", *latchkey_args, "doug", "--", aws_cli(), "iam", "list-users", "--output", "json")


def test_enrol_under_the_boundary_with_a_yubikey(world: World, ykman: Path, tmp_path: Path) -> None:
    user = bare_user(world)
    denied = list_users(world, "--no-session")
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr

    png = tmp_path / "qr.png"
    result = world.ok("mfa", "enroll", "doug", "--yubikey", "--qr-png", str(png))
    serial = f"arn:aws:iam::{user['account_id']}:mfa/{user['user_name']}"
    assert f"Enabled MFA device {serial}" in result.stdout

    # The secret reached the YubiKey on stdin only; it never was on argv or in latchkey's output.
    state = json.loads(ykman.read_text())
    label = f"AWS:{user['user_name']}@{user['account_id']}"
    seed = state["accounts"][label]
    assert all(seed not in " ".join(call["argv"]) for call in state["calls"])
    assert seed not in result.stdout + result.stderr
    assert [c["argv"][:3] for c in state["calls"]][:2] == [["oath", "info"], ["oath", "accounts", "add"]]

    # The QR decodes to the otpauth URI with that secret.
    decoded = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True).stdout.strip()
    assert decoded == (f"otpauth://totp/AWS:{user['user_name']}%40{user['account_id']}".replace("%40", "@")
                       + f"?secret={seed}&issuer=AWS")
    assert stat.S_IMODE(png.stat().st_mode) == 0o600

    config = world.config.read_text()
    assert config == ("# my settings\n[profile doug]\nregion = us-east-1 ; home\noutput = json\n"
                      f"mfa_serial = {serial}\n")
    assert (world.config.parent / "config.latchkey-backup").exists()

    # With a latchkey MFA session the boundary lets everything through.
    allowed = list_users(world, "--mfa-token", next_unused_code(world.endpoint, serial))
    assert allowed.returncode == 0, allowed.stderr
    assert user["user_name"] in allowed.stdout

    listed = world.ok("mfa", "list", "doug").stdout
    assert serial in listed and "mfa_serial of doug" in listed


def test_enrol_on_the_terminal_by_scanning_the_qr(world: World, tmp_path: Path) -> None:
    user = bare_user(world)
    png = tmp_path / "qr.png"
    tmux = Tmux(world.env)
    try:
        tmux.start(f"{BINARY} mfa enroll doug --qr-png {png}")
        screen = tmux.wait_for("Enter the code the app shows now:")
        assert "▀" in screen or "▄" in screen  # the QR drawn with half blocks
        uri = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True).stdout.strip()
        seed = uri.split("secret=")[1].split("&")[0]
        assert seed not in screen
        totp = pyotp.TOTP(seed)
        now = time.time()
        tmux.type("12345")  # too short: asked again, nothing sent
        tmux.wait_for("Wait for the next code")
        tmux.type(totp.at(now + 30))
        tmux.wait_for("not accepted")
        tmux.wait_for("Enter the code the app shows now:")
        tmux.type(totp.at(now))
        tmux.wait_for("Wait for the next code")
        tmux.type(totp.at(now + 30))
        screen = tmux.wait_for("EXITED:")
        assert "Wrote mfa_serial" in screen and "EXITED:0" in screen
    finally:
        tmux.stop()
    assert f"mfa_serial = arn:aws:iam::{user['account_id']}:mfa/{user['user_name']}" in world.config.read_text()


def test_rejected_codes_delete_the_device(world: World) -> None:
    user = bare_user(world)
    result = world.run("mfa", "enroll", "doug", "--codes", "123456", "654321")
    assert result.returncode == 1
    assert "rejected the two codes" in result.stderr and "deleted" in result.stderr
    set_auth(world.endpoint, False)
    devices = client(world.endpoint, "iam").list_virtual_mfa_devices()["VirtualMFADevices"]
    assert not [d for d in devices if user["user_name"] in d["SerialNumber"]]
    assert "mfa_serial" not in world.config.read_text()


def test_bad_codes_are_refused_before_any_call(world: World) -> None:
    bare_user(world)
    for codes in (["12345", "123456"], ["abcdef", "123456"], ["123456"]):
        result = world.run("mfa", "enroll", "doug", "--codes", *codes)
        assert result.returncode != 0
        assert "six digits" in result.stderr or "exactly two codes" in result.stderr


def test_taken_name_and_a_racing_enrolment(world: World, ykman: Path) -> None:
    user = bare_user(world)
    # Another enrolment created the device and has not enabled it yet.
    set_auth(world.endpoint, False)
    client(world.endpoint, "iam").create_virtual_mfa_device(VirtualMFADeviceName=user["user_name"])
    set_auth(world.endpoint, True)
    raced = world.run("mfa", "enroll", "doug", "--yubikey")
    assert raced.returncode == 1 and "exists but is not enabled" in raced.stderr
    assert "mfa remove" in raced.stderr and "--device-name" in raced.stderr

    # The leftover can be removed, then enrolment works, then a second one says it is enabled.
    serial = f"arn:aws:iam::{user['account_id']}:mfa/{user['user_name']}"
    assert "Deleted" in world.ok("mfa", "remove", "doug", "--serial", serial).stdout
    world.ok("mfa", "enroll", "doug", "--yubikey")
    again = world.run("mfa", "enroll", "doug", "--yubikey")
    assert again.returncode == 1 and "already enabled" in again.stderr and serial in again.stderr

    # An enrolment killed after AWS enabled the device but before the config write: running it
    # again records the enabled device instead of leaving the profile without it.
    world.write_config(world.config.read_text().replace(f"mfa_serial = {serial}\n", ""))
    assert "mfa_serial" not in world.config.read_text()
    recovered = world.ok("mfa", "enroll", "doug", "--yubikey")
    assert "already enabled" in recovered.stdout and "mfa remove doug" in recovered.stdout
    assert f"mfa_serial = {serial}" in world.config.read_text()


def test_missing_yubikey_or_ykman_creates_nothing(world: World, ykman: Path) -> None:
    bare_user(world)
    absent = world.run("mfa", "enroll", "doug", "--yubikey", env={"FAKE_YKMAN_ABSENT": "1"})
    assert absent.returncode == 1 and "No YubiKey detected" in absent.stderr
    missing = world.run("mfa", "enroll", "doug", "--yubikey", env={"PATH": "/usr/bin:/bin"})
    assert missing.returncode == 1 and "ykman is not on PATH" in missing.stderr
    set_auth(world.endpoint, False)
    assert client(world.endpoint, "iam").list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_unwritable_config_prints_the_line_to_add(world: World, ykman: Path) -> None:
    user = bare_user(world)
    # Tests run as root, so file modes do not stop writes: a config under /proc cannot be created.
    result = world.run("mfa", "enroll", "doug", "--yubikey", env={"AWS_CONFIG_FILE": "/proc/latchkey/config"})
    serial = f"arn:aws:iam::{user['account_id']}:mfa/{user['user_name']}"
    assert result.returncode == 1
    assert "enabled in AWS" in result.stderr and f"mfa_serial = {serial}" in result.stderr


def test_remove_deactivates_deletes_and_cleans_the_config(world: World, ykman: Path) -> None:
    user = bare_user(world)
    world.ok("mfa", "enroll", "doug", "--yubikey")
    serial = f"arn:aws:iam::{user['account_id']}:mfa/{user['user_name']}"
    removed = world.ok("mfa", "remove", "doug", "--mfa-token", next_unused_code(world.endpoint, serial))
    assert f"Deactivated {serial}" in removed.stdout and f"Deleted {serial}" in removed.stdout
    assert "mfa_serial" not in world.config.read_text() and "output = json" in world.config.read_text()
    assert "No MFA device" in world.ok("mfa", "list", "doug").stdout


CREATING_OPEN = re.compile(r'^\d+\s+(?:openat\(AT_FDCWD, |open\()"([^"]+)", ([A-Z_|]+), (0\d+)\) = (-?\d+)')
PERMISSION_CHANGE = re.compile(r'^\d+\s+(f?chmod(?:at)?)\((.*), (0\d+)\) = 0')


def test_the_qr_png_is_0600_from_its_creation_even_with_umask_0(world: World, ykman: Path, tmp_path: Path) -> None:
    """The PNG holds the TOTP seed: no moment in which another user could open it (issue 15, item 3)."""
    bare_user(world)
    out = tmp_path / "out"
    out.mkdir()
    png = out / "qr.png"
    trace = tmp_path / "trace"
    old = os.umask(0)
    try:
        result = subprocess.run(
            ["strace", "-f", "-qq", "-e", "trace=openat,open,creat,chmod,fchmod,fchmodat", "-o", str(trace),
             str(BINARY), "mfa", "enroll", "doug", "--yubikey", "--qr-png", str(png)],
            env=world.env, capture_output=True, text=True, timeout=60, start_new_session=True)
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(png.stat().st_mode) == 0o600
    assert sorted(p.name for p in out.iterdir()) == ["qr.png"]  # no temp file left behind

    # Every file latchkey created next to the PNG was created 0600, exclusively, not through a link;
    # nothing ever widened its permissions.
    created: dict[str, str] = {}
    for line in trace.read_text().splitlines():
        if (match := CREATING_OPEN.match(line)) and match[1].startswith(f"{out}/") and "O_CREAT" in match[2]:
            path, flags, mode, fd = match.groups()
            assert mode == "0600", line
            assert "O_EXCL" in flags and "O_NOFOLLOW" in flags, line
            created[fd] = path
        elif (match := PERMISSION_CHANGE.match(line)) and int(match[3], 8) & 0o077:
            target = match[2].split(", ")[-1].strip('"') if match[1] != "fchmod" else created.get(match[2], "")
            assert not target.startswith(f"{out}/"), line
    assert created, "strace saw no file created in the PNG's folder"
