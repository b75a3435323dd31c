"""The OS keyring backends through the built binary: keyctl, pass, Secret Service (gnome-keyring),
backend listing, migration between backends, and importing aws-vault's file, pass and Secret
Service stores."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import uuid
import warnings
from pathlib import Path

import pytest

from backend_daemons import PassStore, SecretServiceDaemon, drop_keyctl_keyring
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
    drop_keyctl_keyring(world.env["LATCHKEY_KEYCTL_KEYRING"])


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
    names = sorted(str(path.relative_to(store.store)) for path in store.store.rglob("*"))
    # Opaque names: the index and one random name per item; no profile, key id or kind anywhere.
    ours = [name for name in names if name.startswith("latchkey/")]
    assert len(ours) == 2 and ours[-1] == "latchkey/index.gpg"
    assert re.fullmatch(r"latchkey/[0-9a-f]{32}\.gpg", ours[0])
    assert all(secret not in name for name in names
               for secret in ("doug", "credentials", KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"]))
    assert stored_key(world)["AccessKeyId"] == KEYS["AWS_ACCESS_KEY_ID"]
    assert "doug" in world.ok("list", "--json").stdout


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


def test_secret_service_named_collection_cannot_be_created_headless(secret_service_world) -> None:
    world, _ = secret_service_world
    result = world.run("add", "doug", "--env", "--no-config", env={**KEYS, "LATCHKEY_SECRET_SERVICE_COLLECTION": "work"})
    assert result.returncode == 1
    assert "the collection 'work' does not exist and no desktop" in result.stderr
    assert "LATCHKEY_SECRET_SERVICE_COLLECTION=default" in result.stderr


def test_secret_service_headless_uses_the_default_collection(secret_service_world) -> None:
    """No `latchkey` collection and no desktop to create one: the default collection, as secret-tool uses."""
    world, daemon = secret_service_world
    del world.env["LATCHKEY_SECRET_SERVICE_COLLECTION"]
    added = world.ok("add", "doug", "--env", "--no-config", env=KEYS)
    assert "default collection" in added.stderr and "'latchkey'" in added.stderr
    assert stored_key(world)["SecretAccessKey"] == KEYS["AWS_SECRET_ACCESS_KEY"]
    # The item is in the login (default) collection, where secret-tool finds it.
    found = subprocess.run(["secret-tool", "search", "--all", "application", "latchkey"],
                           env=daemon.env(os.environ), capture_output=True, text=True)
    assert "label = latchkey: doug" in found.stdout + found.stderr


    def dbus_property(path: str, interface: str, name: str) -> str:
        return subprocess.run(
            ["gdbus", "call", "--session", "--dest", "org.freedesktop.secrets", "--object-path", path,
             "--method", "org.freedesktop.DBus.Properties.Get", interface, name],
            env=daemon.env(os.environ), check=True, capture_output=True, text=True, timeout=20).stdout

    collections = dbus_property("/org/freedesktop/secrets", "org.freedesktop.Secret.Service", "Collections")
    assert "latchkey" not in collections, collections
    items = dbus_property("/org/freedesktop/secrets/collection/login", "org.freedesktop.Secret.Collection", "Items")
    assert "/org/freedesktop/secrets/collection/login/" in items, items
    # Reading says nothing more; the same items are listed.
    listed = world.ok("list", "--json")
    assert "default collection" not in listed.stderr and "doug" in listed.stdout


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


# What aws-vault v7 (through github.com/99designs/keyring) leaves in its store besides key pairs.
AWS_VAULT_SECRETS = {
    "zoe": ("AKIAZOEEXAMPLEKEY123", "zoe/Secret+Key0000000000000000000000000"),
    "session": ("ASIASESSIONEXAMPLE01", "sessionSecretKey000000000000000000000000"),
    "session_token": "FwoGZXIvYXdzEXAMPLESESSIONTOKEN",
    "oidc_token": "aoaAAAAAGEXAMPLEOIDCACCESSTOKEN",
}


def aws_vault_v7_items() -> list[dict[str, object]]:
    """keyring.Item values (Go JSON: Data is []byte, so base64) for two key pairs, a session, an SSO token."""
    def item(key: str, label: str, data: dict[str, object], description: str = "") -> dict[str, object]:
        return {"Key": key, "Data": base64.b64encode(json.dumps(data).encode()).decode(), "Label": label,
                "Description": description, "KeychainNotTrustApplication": description == "",
                "KeychainNotSynchronizable": False}

    def key_pair(name: str, key_id: str, secret: str) -> dict[str, object]:
        # aws-sdk-go-v2 aws.Credentials, as CredentialKeyring.Set marshals it.
        value = {"AccessKeyID": key_id, "SecretAccessKey": secret, "SessionToken": "", "Source": "",
                 "CanExpire": False, "Expires": "0001-01-01T00:00:00Z"}
        return item(name, f"aws-vault ({name})", value)

    b64 = lambda text: base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")  # noqa: E731
    session_key = f"sts.GetSessionToken,{b64('doug')},{b64('arn:aws:iam::123456789012:mfa/doug')},1900000000"
    session_id, session_secret = AWS_VAULT_SECRETS["session"]
    start_url = "https://example.awsapps.com/start"
    return [
        key_pair("doug", KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"]),
        key_pair("zoe", *AWS_VAULT_SECRETS["zoe"]),
        item(session_key, "aws-vault session for doug (expires 2030-03-17T17:46:40Z)",
             {"AccessKeyId": session_id, "Expiration": "2030-03-17T17:46:40Z", "SecretAccessKey": session_secret,
              "SessionToken": AWS_VAULT_SECRETS["session_token"]}, "aws-vault session"),
        item(f"oidc:{start_url}", f"aws-vault oidc token for {start_url} (expires 2030-03-17T17:46:40Z)",
             {"Token": {"AccessToken": AWS_VAULT_SECRETS["oidc_token"], "ExpiresIn": 28800, "IdToken": None,
                        "RefreshToken": None, "TokenType": "Bearer"}, "Expiration": "2030-03-17T17:46:40Z"},
             "aws-vault oidc token"),
    ]


def assert_aws_vault_import(world: World, *args: str, env: dict[str, str]) -> None:
    """Imports twice; exactly doug and zoe land in latchkey, sessions/tokens are skipped, no secret is shown."""
    first = world.ok("import", "aws-vault", *args, env=env)
    assert "imported doug (" in first.stdout and "imported zoe (" in first.stdout, first.stdout
    assert "Imported 2 keys from aws-vault." in first.stdout
    assert "skipped 2 aws-vault items that are not long-lived keys" in first.stdout, first.stdout
    assert sorted(row["name"] for row in world.listing()["profiles"] if row["credentials"]) == ["doug", "zoe"]
    for profile, (key_id, secret) in {"doug": (KEYS["AWS_ACCESS_KEY_ID"], KEYS["AWS_SECRET_ACCESS_KEY"]),
                                      "zoe": AWS_VAULT_SECRETS["zoe"]}.items():
        stored = json.loads(world.ok("export", "--no-session", "--format", "json", profile).stdout)
        assert (stored["AccessKeyId"], stored["SecretAccessKey"]) == (key_id, secret)
        assert "SessionToken" not in stored or not stored["SessionToken"]
    again = world.ok("import", "aws-vault", *args, env=env)
    assert "skipped doug: latchkey already has a key" in again.stdout
    assert "skipped zoe: latchkey already has a key" in again.stdout and "imported" not in again.stdout
    assert sorted(row["name"] for row in world.listing()["profiles"] if row["credentials"]) == ["doug", "zoe"]
    secrets = [KEYS["AWS_SECRET_ACCESS_KEY"], AWS_VAULT_SECRETS["zoe"][1], AWS_VAULT_SECRETS["session"][1],
               AWS_VAULT_SECRETS["session_token"], AWS_VAULT_SECRETS["oidc_token"]]
    for output in (first.stdout, first.stderr, again.stdout, again.stderr):
        assert not any(secret in output for secret in secrets), output


def test_import_aws_vault_pass_store(world: World, tmp_path: Path) -> None:
    """aws-vault's pass backend (99designs/keyring pass.go), as `aws-vault add` leaves it:

    - entry name: Go filepath.Join(AWS_VAULT_PASS_PREFIX, item.Key) in the store of
      AWS_VAULT_PASS_PASSWORD_STORE_DIR (else ~/.password-store); written with
      `pass insert -m -f <name>`, stdin = json.Marshal(keyring.Item) with no newline;
    - entry content: that JSON, {"Key","Data","Label","Description","KeychainNotTrustApplication",
      "KeychainNotSynchronizable"}, Data base64 (Go []byte) of the credentials' JSON;
    - item keys (aws-vault vault/*keyring.go): the profile name for a key pair, whose Data is
      aws.Credentials {"AccessKeyID","SecretAccessKey","SessionToken":"","Source","CanExpire","Expires"};
      `<type>,<b64url profile>,<b64url mfa>,<unix expiry>` for a session (Data: STS Credentials);
      `oidc:<start url>` for an SSO token, which Join cleans to nested folders `oidc:https:/host/start`.
    Keys() lists every *.gpg under the prefix, so the import must skip sessions and tokens by name.
    """
    with PassStore(tmp_path / "pass") as store:
        env = store.env({})
        for item in aws_vault_v7_items():
            name = os.path.normpath(os.path.join("aws-vault", str(item["Key"])))
            subprocess.run(["pass", "insert", "-m", "-f", name], input=json.dumps(item, separators=(",", ":")),
                           env=store.env(os.environ), check=True, capture_output=True, text=True, timeout=60)
        names = sorted(str(path.relative_to(store.store)) for path in store.store.rglob("*.gpg"))
        assert len(names) == 4 and "aws-vault/oidc:https:/example.awsapps.com/start.gpg" in names
        # A password of the user's own, outside aws-vault's prefix, must not be read.
        subprocess.run(["pass", "insert", "-m", "-f", "web/example.com"], input="hunter2", text=True,
                       env=store.env(os.environ), check=True, capture_output=True, timeout=60)
        assert_aws_vault_import(world, "--from", "pass", env={**env, "AWS_VAULT_PASS_PREFIX": "aws-vault"})


class AWSVaultSecretService:
    """A jeepney client that writes items as 99designs/keyring's libsecret.go (via go-libsecret) does."""

    service = "org.freedesktop.secrets"

    def __init__(self, address: str) -> None:
        from jeepney.io.blocking import open_dbus_connection

        self.connection = open_dbus_connection(address)  # SecretServiceDaemon waited for the daemon's name
        # A plain session, as go-libsecret's Service.Open asks for.
        _, self.session = self.call("/org/freedesktop/secrets", "org.freedesktop.Secret.Service", "OpenSession",
                                    "sv", ("plain", ("s", "")))

    def call(self, path: str, interface: str, method: str, signature: str, body: tuple, bus_name: str = "") -> tuple:
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import unwrap_msg

        address = DBusAddress(path, bus_name=bus_name or self.service, interface=interface)
        return unwrap_msg(self.connection.send_and_get_reply(new_method_call(address, method, signature, body),
                                                              timeout=30))

    def create_collection(self, label: str) -> str:
        # aws-vault calls CreateCollection({Label: label}, alias ""), whose password prompt needs a desktop;
        # gnome-keyring's own unprompted form makes the same collection (path .../collection/<label>).
        (path,) = self.call("/org/freedesktop/secrets", "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
                            "CreateWithMasterPassword", "a{sv}(oayays)",
                            ({"org.freedesktop.Secret.Collection.Label": ("s", label)},
                             (self.session, b"", b"pw", "text/plain")))
        return path

    def create_item(self, collection: str, item: dict[str, object]) -> None:
        key = str(item["Key"])
        properties = {"org.freedesktop.Secret.Item.Label": ("s", key),
                      "org.freedesktop.Secret.Item.Attributes": ("a{ss}", {"profile": key})}
        secret = (self.session, b"", json.dumps(item).encode(), "application/json")
        self.call(collection, "org.freedesktop.Secret.Collection", "CreateItem", "a{sv}(oayays)b",
                  (properties, secret, True))

    def close(self) -> None:
        self.connection.close()


def test_import_aws_vault_secret_service(world: World, tmp_path: Path) -> None:
    """aws-vault's Secret Service backend (99designs/keyring libsecret.go + gsterjov/go-libsecret):

    - collection: labelled AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME (default "awsvault"), found by the
      path /org/freedesktop/secrets/collection/<name>, made by CreateCollection if missing;
    - one item per keyring.Item: label = item.Key (the profile name, a session key or `oidc:<url>`, not
      the Item's "aws-vault (doug)" Label), attributes {"profile": item.Key} and nothing else,
      replace = true;
    - secret: plain session, no parameters, content type "application/json", value json.Marshal of
      the whole keyring.Item (the same JSON as pass holds: Key, Data base64, Label, ...).
    """
    with SecretServiceDaemon(tmp_path / "ss") as daemon:
        client = AWSVaultSecretService(daemon.address)
        try:
            collection = client.create_collection("awsvault")
            assert collection == "/org/freedesktop/secrets/collection/awsvault"
            assert (daemon.home / "data/keyrings/awsvault.keyring").exists()  # this test's daemon, not ~
            for item in aws_vault_v7_items():
                client.create_item(collection, item)
            # Items of another collection must not be read.
            client.create_item(client.create_collection("other"), aws_vault_v7_items()[1] | {"Key": "eve"})
        finally:
            client.close()
        # latchkey keeps what it imports in the same service (its login collection, as no desktop can
        # prompt for a collection of its own here).
        world.env.update(daemon.env({}), LATCHKEY_SECRET_SERVICE_COLLECTION="default")
        missing = world.run("import", "aws-vault", "--from", "secret-service", "--collection", "nope")
        assert missing.returncode == 0 and "No long-lived keys found" in missing.stdout
        assert_aws_vault_import(world, "--from", "secret-service", env={})
        named = world.ok("import", "aws-vault", "--from", "secret-service", "--dry-run",
                         env={"AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME": "other"})
        assert "would import eve" in named.stdout and "doug" not in named.stdout


@pytest.mark.parametrize("backend", ["keyctl", "pass", "secret-service"])
def test_cached_session_migrates_and_is_reused(backend: str, world: World, doug: dict[str, str], tmp_path: Path) -> None:
    """A session made through the file vault, migrated, is then served warm by the other backend."""
    from conftest import calls, code

    first = json.loads(world.ok("export", "--format", "json", "--mfa-token", code(world, doug), "doug").stdout)
    with contextlib.ExitStack() as stack:
        env = {"LATCHKEY_BACKEND": backend, "LATCHKEY_KEYCTL_KEYRING": f"latchkey-e2e-{uuid.uuid4().hex[:8]}"}
        if backend == "keyctl":
            stack.callback(drop_keyctl_keyring, env["LATCHKEY_KEYCTL_KEYRING"])
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
