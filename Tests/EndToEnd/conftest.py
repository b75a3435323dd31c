"""End-to-end fixtures: the built latchkey binary, a throwaway HOME, the strict AWS double."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Double"))
from double_fixtures import (  # noqa: E402,F401
    calls,
    create_mfa_user,
    double,
    double_server,
    next_unused_code,
    reset_calls,
)

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("LATCHKEY_BIN", ROOT / ".build/debug/latchkey"))
PASSPHRASE = "correct horse battery staple"


@dataclass
class World:
    """One user's machine: HOME, environment, and the double's endpoint."""

    home: Path
    endpoint: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.home / ".aws" / "config"

    @property
    def vault(self) -> Path:
        return self.home / ".local/share/latchkey/keyring"

    def run(
        self, *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Runs latchkey with no controlling terminal (a new session), as an SDK or CI would."""
        return subprocess.run(
            [str(BINARY), *args],
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )

    def ok(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, **kwargs)
        assert result.returncode == 0, f"latchkey {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def listing(self) -> dict[str, Any]:
        return json.loads(self.ok("list", "--json").stdout)

    def write_config(self, text: str) -> None:
        self.config.parent.mkdir(mode=0o700, exist_ok=True)
        self.config.write_text(text)


@pytest.fixture
def world(tmp_path: Path, double: str) -> World:
    if not BINARY.exists():
        pytest.fail(f"latchkey is not built at {BINARY}: run `swift build` first")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TMPDIR": str(tmp_path),
        "LATCHKEY_FILE_PASSPHRASE": PASSPHRASE,
        # Unlock memory lives in the kernel keyring, shared by every test: off unless a test wants it.
        "LATCHKEY_UNLOCK_TTL": "0",
        "AWS_ENDPOINT_URL": double,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "USER": "tester",
    }
    return World(home=home, endpoint=double, env=env)


@pytest.fixture
def doug(world: World) -> dict[str, str]:
    """An IAM user with an enabled MFA device, its key stored in latchkey as profile `doug`."""
    user = create_mfa_user(world.endpoint, f"doug-{uuid.uuid4().hex[:8]}")
    world.write_config(f"[profile doug]\nmfa_serial = {user['mfa_serial']}\nregion = us-east-1\n")
    world.ok(
        "add",
        "doug",
        "--env",
        env={"AWS_ACCESS_KEY_ID": user["access_key_id"], "AWS_SECRET_ACCESS_KEY": user["secret_access_key"]},
    )
    reset_calls(world.endpoint)  # tests count only what latchkey calls
    return user


def code(world: World, user: dict[str, str]) -> str:
    """A currently valid MFA code the double has not seen yet."""
    return next_unused_code(world.endpoint, user["mfa_serial"])


def aws_cli() -> str:
    found = shutil.which("aws")
    if not found:
        pytest.fail("the AWS CLI is not installed: scripts/setup --test installs it")
    return found
