"""Real keyring parts for the end-to-end tests and the benchmark: a private D-Bus session bus with
an unlocked gnome-keyring, and a pass store with a throwaway gpg key. Each is stopped afterwards.
A kernel keyring needs no daemon: `drop_keyctl_keyring` removes the one a run made."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path


def drop_keyctl_keyring(name: str) -> None:
    """Invalidates latchkey's keyring `name` in the user's persistent keyring (the keyctl backend's
    default scope), with every key in it; nothing happens when it is not there."""
    persistent = subprocess.run(["keyctl", "get_persistent", "@u"], capture_output=True, text=True)
    if persistent.returncode != 0:
        return
    found = subprocess.run(["keyctl", "search", persistent.stdout.strip(), "keyring", name],
                           capture_output=True, text=True)
    if found.returncode == 0:
        subprocess.run(["keyctl", "invalidate", found.stdout.strip()], capture_output=True)


class SecretServiceDaemon:
    """dbus-daemon + gnome-keyring-daemon (login collection unlocked with `pw`) in `home`."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.pid: int | None = None
        self.address = ""

    def __enter__(self) -> "SecretServiceDaemon":
        if not (shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon")):
            raise RuntimeError("gnome-keyring and dbus are not installed: scripts/setup --test installs them")
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        printed = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
            capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
        ).stdout.split()
        self.address, self.pid = printed[0], int(printed[1])
        subprocess.run(
            "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1",
            shell=True, check=True, env={**self.env(os.environ), "XDG_DATA_HOME": str(self.home / "data")},
        )
        self.wait_for_owner("org.freedesktop.secrets")
        return self

    def wait_for_owner(self, name: str, seconds: float = 30) -> None:
        """Until the daemon owns `name`, a call to it would make D-Bus start another one, in the real HOME."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import unwrap_msg

        bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus")
        deadline = time.monotonic() + seconds
        with open_dbus_connection(self.address) as connection:
            while not unwrap_msg(connection.send_and_get_reply(new_method_call(bus, "NameHasOwner", "s", (name,))))[0]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gnome-keyring-daemon never took {name} on the test bus")
                time.sleep(0.05)

    def env(self, base: dict[str, str]) -> dict[str, str]:
        # Only the bus: XDG_DATA_HOME would move latchkey's own file vault too.
        return {**base, "DBUS_SESSION_BUS_ADDRESS": self.address}

    def __exit__(self, *_: object) -> None:
        if self.pid:
            os.kill(self.pid, signal.SIGTERM)  # gnome-keyring-daemon leaves with its bus


class PassStore:
    """A GNUPGHOME with a passphrase-less key and a pass store initialised for it."""

    def __init__(self, root: Path) -> None:
        self.gnupg = root / "gnupg"
        self.store = root / "store"

    def __enter__(self) -> "PassStore":
        if not (shutil.which("pass") and shutil.which("gpg")):
            raise RuntimeError("pass and gpg are not installed: scripts/setup --test installs them")
        self.gnupg.mkdir(mode=0o700, parents=True)
        env = self.env(os.environ)
        subprocess.run(
            ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
             "latchkey test <test@example.invalid>", "default", "default", "never"],
            env=env, check=True, capture_output=True,
        )
        listing = subprocess.run(["gpg", "--list-keys", "--with-colons"], env=env, check=True, capture_output=True, text=True)
        self.fingerprint = next(line.split(":")[9] for line in listing.stdout.splitlines() if line.startswith("fpr:"))
        subprocess.run(["pass", "init", self.fingerprint], env=env, check=True, capture_output=True)
        return self

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, "GNUPGHOME": str(self.gnupg), "PASSWORD_STORE_DIR": str(self.store)}

    def __exit__(self, *_: object) -> None:
        subprocess.run(["gpgconf", "--homedir", str(self.gnupg), "--kill", "gpg-agent"], capture_output=True)
