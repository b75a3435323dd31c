"""The private runtime folder (locks, spent MFA codes): another user's folder in its place is refused
loudly, and latchkey keeps working from a private folder under the user's own state folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conftest import World, code


def planted_folder(world: World) -> Path:
    """`$TMPDIR/latchkey-UID`, made first by another user (uid 65534), as on a shared /tmp."""
    folder = Path(world.env["TMPDIR"]) / f"latchkey-{os.getuid()}"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    return folder


@pytest.mark.skipif(os.getuid() != 0, reason="planting another user's folder needs root")
def test_another_users_folder_is_refused_and_locks_and_spent_codes_still_work(
    world: World, doug: dict[str, str]
) -> None:
    planted = planted_folder(world)
    fallback = world.home / ".local/state/latchkey"
    token = code(world, doug)
    result = world.ok("export", "--mfa-token", token, "doug")

    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, result.stderr
    assert f"{planted} belongs to uid 65534" in warnings[0]
    assert f"using {fallback}" in warnings[0]

    # The single-flight lock and the spent-code log (with its key) live in the fallback, all private.
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o700 and fallback.stat().st_uid == os.getuid()
    names = sorted(p.name for p in fallback.iterdir())
    assert any(n.startswith("session-") and n.endswith(".lock") for n in names), names
    assert "mfa-used" in names, names
    assert stat.S_IMODE((fallback / "mfa-used").stat().st_mode) == 0o700
    for name in ("log.json", "key"):
        assert stat.S_IMODE((fallback / "mfa-used" / name).stat().st_mode) == 0o600
    assert list(planted.iterdir()) == []

    # The spent-code log works: the same code again is refused before AWS sees it.
    world.ok("clear", "doug")
    again = world.run("export", "--mfa-token", token, "doug")
    assert again.returncode == 1 and "already used" in again.stderr, again.stderr


@pytest.mark.skipif(os.getuid() != 0, reason="planting another user's folder needs root")
def test_the_fallback_honours_xdg_state_home(world: World, doug: dict[str, str]) -> None:
    planted_folder(world)
    state = world.home / "state"
    result = world.ok("export", "--mfa-token", code(world, doug), "doug", env={"XDG_STATE_HOME": str(state)})
    assert f"using {state}/latchkey" in result.stderr
    assert any(p.name.endswith(".lock") for p in (state / "latchkey").iterdir())


def test_a_link_in_place_of_the_folder_is_refused(world: World, doug: dict[str, str], tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    planted = Path(world.env["TMPDIR"]) / f"latchkey-{os.getuid()}"
    planted.symlink_to(elsewhere)
    result = world.ok("export", "--mfa-token", code(world, doug), "doug")
    assert f"{planted} is not a folder" in result.stderr
    assert list(elsewhere.iterdir()) == []
    assert any(p.name.endswith(".lock") for p in (world.home / ".local/state/latchkey").iterdir())


def test_the_usual_folder_is_quiet_and_private(world: World, doug: dict[str, str]) -> None:
    result = world.ok("export", "--mfa-token", code(world, doug), "doug")
    assert "warning" not in result.stderr
    folder = Path(world.env["TMPDIR"]) / f"latchkey-{os.getuid()}"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert any(p.name.endswith(".lock") for p in folder.iterdir())
    assert not (world.home / ".local/state").exists()
