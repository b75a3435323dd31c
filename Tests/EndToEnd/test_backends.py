"""The OS keyring backends through the built binary: keyctl, pass, Secret Service (gnome-keyring),
backend listing, migration between backends, and importing aws-vault's file store."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import uuid
import warnings
from pathlib import Path

import pytest

from backend_daemons import PassStore, SecretServiceDaemon
from conftest import World

KEYS = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}


def stored_key(world: World, *args: str) -> dict[str, str]:
    """The long-lived key as `export --no-session --format json` reads it back from the keyring."""
    return json.loads(world.ok("export", "--no-session", "--format", "json", "doug", *args).stdout)


@pytest.fixture
def keyctl_world(world: World):
    world.env["LATCHKEY_KEYCTL_KEYRING"] = f"latchkey-e2e-{uuid.uuid4().hex[:8]}"
    world.env["LATCHKEY_BACKEND"] = "keyctl"
    yield world
    found = subprocess.run(["keyctl", "search", "@u", "keyring", world.env["LATCHKEY_KEYCTL_KEYRING"]],
                           capture_output=True, text=True)
    persistent = subprocess.run(["keyctl", "get_persistent", "@u"], capture_output=True, text=True).stdout.strip()
    found = subprocess.run(["keyctl", "search", persistent, "keyring", world.env["LATCHKEY_KEYCTL_KEYRING"]],
                           capture_output=True, text=True)
    if found.returncode == 0:
        subprocess.run(["keyctl", "invalidate", found.stdout.strip()], capture_output=True)


def test_backends_lists_each_with_why_not(world: World) -> None:
    result = world.ok("backends", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert list(rows) == ["keychain", "secret-service", "keyctl", "pass", "file"]
    assert rows["keychain"]["available"] is False and rows["keychain"]["reason"] == "macOS only"
    assert rows["secret-service"]["available"] is False and "session bus" in rows["secret-service"]["reason"]
    assert rows["file"]["available"] and rows["file"]["selected"]
    assert rows["keyctl"]["available"]


def test_unknown_backend_is_refused_with_the_list(world: World) -> None:
    result = world.run("list", "--backend", "nope")
    assert result.returncode == 1
    assert "no keyring backend named 'nope'" in result.stderr and "keyctl" in result.stderr


def test_keyctl_stores_lists_and_reads_back(keyctl_world: World) -> None:
    world = keyctl_world
    world.ok("add", "doug", "--env", "--no-config", env=KEYS)
    assert not world.vault.exists()  # nothing went to the file backend
    assert stored_key(world)["SecretAccessKey"] == KEYS["AWS_SECRET_ACCESS_KEY"]
    listing = world.listing()
    assert "doug" in json.dumps(listing)
    world.ok("remove", "-f", "doug")
    assert world.run("export", "--no-session", "--format", "json", "doug").returncode == 1


def test_keyctl_item_deleted_by_another_program(keyctl_world: World) -> None:
    world = keyctl_world
    world.ok("add", "doug", "--env", "--no-config", env=KEYS)
    persistent = subprocess.run(["keyctl", "get_persistent", "@u"], capture_output=True, text=True, check=True).stdout.strip()
    serial = subprocess.run(["keyctl", "search", persistent, "user", "latchkey:credentials:doug"],
                            capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run(["keyctl", "invalidate", serial], check=True)
    result = world.run("export", "--no-session", "--format", "json", "doug")
    assert result.returncode == 1
    assert "doug" in result.stderr and "Traceback" not in result.stderr
    world.ok("list")  # listing still works


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to run as nobody")
def test_keyctl_quota_exceeded_is_a_clear_error(world: World, tmp_path: Path) -> None:
    """As `nobody` (200 keys / 20000 bytes), fill the quota, then latchkey must say so and lose nothing."""
    home = tmp_path / "nobody"
    home.mkdir(mode=0o700)
    os.chown(home, 65534, 65534)
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {**world.env, "HOME": str(home), "LATCHKEY_BACKEND": "keyctl", "LATCHKEY_KEYCTL_SCOPE": "session", **KEYS}
    binary = os.environ.get("LATCHKEY_BIN") or str(Path(__file__).resolve().parents[2] / ".build/debug/latchkey")
    # A fresh session keyring, 19700 of nobody's 20000 bytes taken by a filler key, then latchkey.
    script = 'head -c 19700 /dev/zero | keyctl padd user fill @s >/dev/null && "$0" add doug --env --no-config'
    result = subprocess.run([*as_nobody, "keyctl", "session", "-", "sh", "-c", script, binary],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "quota" in result.stderr and "20000 bytes" in result.stderr
    assert KEYS["AWS_SECRET_ACCESS_KEY"] not in result.stderr


@pytest.fixture
def pass_world(world: World, tmp_path: Path):
    with PassStore(tmp_path / "pass") as store:
        world.env.update(store.env({}))
        world.env["LATCHKEY_BACKEND"] = "pass"
        yield world, store


def test_pass_stores_without_secrets_in_argv_or_names(pass_world) -> None:
    world, store = pass_world
    world.ok("add", "doug", "--env", "--no-config", env=KEYS)
    names = [str(path.relative_to(store.store)) for path in store.store.rglob("*.gpg")]
    assert len(names) == 1 and names[0].startswith("latchkey/credentials:doug/")
    assert all(KEYS["AWS_SECRET_ACCESS_KEY"] not in name for name in names)
    assert stored_key(world)["AccessKeyId"] == KEYS["AWS_ACCESS_KEY_ID"]
    # Listing reads names only: it works even with gpg unable to decrypt anything.
    broken = world.run("list", "--json", env={"GNUPGHOME": str(store.gnupg) + "-missing"})
    assert broken.returncode == 0 and "doug" in broken.stdout


def test_pass_gpg_key_missing_is_a_clear_error(pass_world, tmp_path: Path) -> None:
    world, store = pass_world
    world.ok("add", "doug", "--env", "--no-config", env=KEYS)
    empty = tmp_path / "empty-gnupg"
    empty.mkdir(mode=0o700)
    result = world.run("export", "--no-session", "--format", "json", "doug", env={"GNUPGHOME": str(empty)})
    subprocess.run(["gpgconf", "--homedir", str(empty), "--kill", "gpg-agent"], capture_output=True)
    assert result.returncode == 1
    assert "gpg key" in result.stderr and "pass init" in result.stderr


def test_pass_prefix_and_dir_flags(pass_world) -> None:
    world, store = pass_world
    world.ok("add", "doug", "--env", "--no-config", "--pass-prefix", "team/aws", "--pass-dir", str(store.store), env=KEYS)
    assert list((store.store / "team/aws").iterdir())
    assert stored_key(world, "--pass-prefix", "team/aws")["AccessKeyId"] == KEYS["AWS_ACCESS_KEY_ID"]


@pytest.fixture
def secret_service_world(world: World, tmp_path: Path):
    with SecretServiceDaemon(tmp_path / "ss") as daemon:
        world.env.update(daemon.env({}))
        world.env["LATCHKEY_BACKEND"] = "secret-service"
        world.env["LATCHKEY_SECRET_SERVICE_COLLECTION"] = "default"
        yield world, daemon


def test_secret_service_stores_and_reads_back(secret_service_world) -> None:
    world, daemon = secret_service_world
    world.ok("add", "doug", "--env", "--no-config", env=KEYS)
    assert stored_key(world)["SecretAccessKey"] == KEYS["AWS_SECRET_ACCESS_KEY"]
    found = subprocess.run(["secret-tool", "search", "--all", "application", "latchkey"],
                           env=daemon.env(os.environ), capture_output=True, text=True)
    assert "label = latchkey: doug" in found.stdout + found.stderr
    assert "profile = doug" in found.stdout + found.stderr
    rows = {row["name"]: row for row in json.loads(world.ok("backends", "--json").stdout)}
    assert rows["secret-service"]["available"] and rows["secret-service"]["selected"]


def test_secret_service_own_collection_cannot_be_created_headless(secret_service_world) -> None:
    world, _ = secret_service_world
    result = world.run("add", "doug", "--env", "--no-config", env={**KEYS, "LATCHKEY_SECRET_SERVICE_COLLECTION": "latchkey"})
    assert result.returncode == 1
    assert "collection 'latchkey'" in result.stderr and "LATCHKEY_SECRET_SERVICE_COLLECTION=default" in result.stderr


def test_secret_service_locked_collection(secret_service_world) -> None:
    world, daemon = secret_service_world
    world.ok("add", "doug", "--env", "--no-config", env=KEYS)
    subprocess.run(
        ["gdbus", "call", "--session", "--dest", "org.freedesktop.secrets", "--object-path", "/org/freedesktop/secrets",
         "--method", "org.freedesktop.Secret.Service.Lock", "['/org/freedesktop/secrets/collection/login']"],
        env=daemon.env(os.environ), check=True, capture_output=True, timeout=20)
    result = world.run("export", "--no-session", "--format", "json", "doug")
    assert result.returncode == 1
    assert "is locked" in result.stderr and "unlock" in result.stderr


def test_secret_service_daemon_not_running(world: World, tmp_path: Path) -> None:
    world.env.update({"LATCHKEY_BACKEND": "secret-service", "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"})
    result = world.run("list")
    assert result.returncode == 1
    assert "secret-service backend is not available" in result.stderr


def test_migrate_file_to_keyctl_verifies_then_deletes(keyctl_world: World) -> None:
    world = keyctl_world
    world.ok("add", "doug", "--env", "--no-config", "--backend", "file", env=KEYS)
    dry = world.ok("migrate", "--from", "file", "--to", "keyctl", "--dry-run")
    assert "would copy credentials:doug" in dry.stdout
    assert world.run("export", "--no-session", "--format", "json", "doug").returncode == 1  # nothing copied yet
    moved = world.ok("migrate", "--from", "file", "--to", "keyctl", "--delete-source")
    assert "copied credentials:doug to keyctl (verified)" in moved.stdout
    assert "removed credentials:doug from file" in moved.stdout
    assert stored_key(world)["SecretAccessKey"] == KEYS["AWS_SECRET_ACCESS_KEY"]
    assert "doug" not in world.ok("list", "--json", "--backend", "file").stdout


def test_migrate_keeps_source_without_delete_flag(keyctl_world: World) -> None:
    world = keyctl_world
    world.ok("add", "doug", "--env", "--no-config", "--backend", "file", env=KEYS)
    world.ok("migrate", "--from", "file", "--to", "keyctl", "--profile", "doug")
    assert stored_key(world, "--backend", "file")["AccessKeyId"] == KEYS["AWS_ACCESS_KEY_ID"]
    assert stored_key(world)["AccessKeyId"] == KEYS["AWS_ACCESS_KEY_ID"]


def aws_vault_item(name: str, key_id: str, secret: str, token: str = "") -> str:
    value = {"AccessKeyID": key_id, "SecretAccessKey": secret, "SessionToken": token, "ProviderName": ""}
    data = base64.b64encode(json.dumps(value).encode()).decode()
    return json.dumps({"Key": name, "Data": data, "Label": f"aws-vault ({name})", "Description": ""})


def test_import_aws_vault_file_store_made_by_joserfc(world: World) -> None:
    from joserfc import jwe
    from joserfc.jwk import OctKey

    folder = world.home / ".awsvault/keys"
    folder.mkdir(parents=True, mode=0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        key = OctKey.import_key(b"aws-vault passphrase")
        session = "sts.GetSessionToken,ZG91Zw,,1900000000"
        for name, item in [
            ("doug", aws_vault_item("doug", KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"])),
            (session, aws_vault_item(session, "ASIATEMPORARY", "s", "token")),
        ]:
            header = {"alg": "PBES2-HS256+A128KW", "enc": "A256GCM", "p2c": 8192}
            (folder / name).write_text(jwe.encrypt_compact(header, item.encode(), key, algorithms=[header["alg"], header["enc"]]))
    wrong = world.run("import", "aws-vault", env={"AWS_VAULT_FILE_PASSPHRASE": "nope"})
    assert wrong.returncode == 1 and "AWS_VAULT_FILE_PASSPHRASE" in wrong.stderr
    result = world.ok("import", "aws-vault", env={"AWS_VAULT_FILE_PASSPHRASE": "aws-vault passphrase"})
    assert "imported doug" in result.stdout and "Imported 1 key" in result.stdout
    assert stored_key(world)["SecretAccessKey"] == KEYS["AWS_SECRET_ACCESS_KEY"]
    again = world.ok("import", "aws-vault", env={"AWS_VAULT_FILE_PASSPHRASE": "aws-vault passphrase"})
    assert "skipped doug" in again.stdout


@pytest.mark.parametrize("backend", ["keyctl", "pass", "secret-service"])
def test_cached_session_migrates_and_is_reused(backend: str, world: World, doug: dict[str, str], tmp_path: Path) -> None:
    """A session made through the file vault, migrated, is then served warm by the other backend."""
    from conftest import calls, code

    first = json.loads(world.ok("export", "--format", "json", "--mfa-token", code(world, doug), "doug").stdout)
    with contextlib.ExitStack() as stack:
        env = {"LATCHKEY_BACKEND": backend, "LATCHKEY_KEYCTL_KEYRING": f"latchkey-e2e-{uuid.uuid4().hex[:8]}"}
        if backend == "pass":
            env.update(stack.enter_context(PassStore(tmp_path / "pass")).env({}))
        if backend == "secret-service":
            env.update(stack.enter_context(SecretServiceDaemon(tmp_path / "ss")).env({}))
            env["LATCHKEY_SECRET_SERVICE_COLLECTION"] = "default"
        moved = world.ok("migrate", "--from", "file", "--to", backend, env=env)
        assert moved.stdout.count("(verified)") == 2, moved.stdout
        before = len(calls(world.endpoint))
        warm = json.loads(world.ok("export", "--format", "json", "doug", env=env).stdout)
        assert warm == first
        assert len(calls(world.endpoint)) == before  # served from the backend, no STS call
        world.ok("remove", "-f", "doug", env=env)
