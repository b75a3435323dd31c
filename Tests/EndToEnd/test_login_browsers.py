"""`login --browser`: the console in a chosen browser and profile (issue 18), without the sign-in
URL on any command line. Recording launchers stand in for the browsers; one test uses real
headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import World, code
from test_rotate_login import admin_role, follow_once, parse, signin_env  # noqa: F401

RECORDER = (
    f"#!{sys.executable}\n"
    "import json, os, stat, sys\n"
    "page = sys.argv[-1]\n"
    "if page.startswith('ext+container:'):\n"
    "    from urllib.parse import unquote\n"
    "    page = unquote(page.split('&url=')[1])[len('file://'):]\n"
    "json.dump({'program': os.path.basename(sys.argv[0]), 'argv': sys.argv[1:],"
    " 'mode': stat.S_IMODE(os.stat(page).st_mode), 'page': open(page).read()},"
    " open(os.environ['RECORD'], 'w'))\n"
)


def launchers(tmp_path: Path, *names: str) -> dict[str, str]:
    """Recording launchers first on PATH, and a private runtime folder."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in names:
        (bin_dir / name).write_text(RECORDER)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "run").mkdir(mode=0o700, exist_ok=True)
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}", "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        "RECORD": str(tmp_path / "record.json"),
    }


def login(world: World, doug, tmp_path: Path, env: dict[str, str], *args: str) -> dict:
    result = world.ok(
        "login", "admin", "--mfa-token", code(world, doug), *args, env={**signin_env(world), **env}
    )
    assert "opened the AWS console for 'admin'" in result.stderr and result.stdout == ""
    record = json.loads((tmp_path / "record.json").read_text())
    # The secret is in the private page only, never on the browser's command line.
    assert all("SigninToken" not in arg and "federation" not in arg for arg in record["argv"])
    assert "SigninToken=" in record["page"] and record["mode"] == 0o600
    url = record["page"].split("url=")[1].split('"')[0].replace("&amp;", "&")
    _, query = parse(url)
    assert follow_once(url) == (302, query["Destination"])
    return record


def page_path(tmp_path: Path) -> str:
    pages = list((tmp_path / "run" / "latchkey").glob("login-*.html"))
    assert len(pages) == 1
    return str(pages[0])


@pytest.mark.parametrize(
    ("browser", "program"),
    [("chromium", "chromium-browser"), ("chrome", "google-chrome"), ("brave", "brave-browser"),
     ("edge", "microsoft-edge")],
)
def test_chromium_family_gets_the_profile_directory_and_the_page(
    world: World, doug, admin_role: str, tmp_path: Path, browser: str, program: str  # noqa: F811
) -> None:
    # chromium-browser: the second name looked for (no `chromium` in the launchers' folder wins
    # only when /usr/bin/chromium is not before it, so the folder holds only the second name).
    env = launchers(tmp_path, program, "xdg-open")
    if browser == "chromium":
        env["PATH"] = str(tmp_path / "bin")
    record = login(world, doug, tmp_path, env, "--browser", browser, "--browser-profile", "Profile 2")
    assert record["program"] == program
    assert record["argv"] == ["--profile-directory=Profile 2", page_path(tmp_path)]


def test_firefox_gets_its_profile_and_a_container_gets_the_pages_file_url(
    world: World, doug, admin_role: str, tmp_path: Path  # noqa: F811
) -> None:
    env = launchers(tmp_path, "firefox", "xdg-open")
    record = login(world, doug, tmp_path, env, "--browser", "firefox", "--browser-profile", "work")
    assert record["program"] == "firefox" and record["argv"] == ["-P", "work", page_path(tmp_path)]
    for page in (tmp_path / "run" / "latchkey").glob("login-*.html"):
        page.unlink()
    record = login(world, doug, tmp_path, env, "--firefox-container", "Prod Admin")
    (link,) = record["argv"]
    name, url = link.removeprefix("ext+container:").split("&url=")
    assert unquote(name) == "name=Prod Admin"
    assert unquote(url) == "file://" + page_path(tmp_path)


def test_profile_keys_choose_the_browser_and_flags_win(
    world: World, doug, admin_role: str, tmp_path: Path  # noqa: F811
) -> None:
    with world.config.open("a") as config:
        config.write(
            "latchkey_browser = firefox\nlatchkey_browser_profile = admin\nlatchkey_firefox_container = Admin\n"
        )
    env = launchers(tmp_path, "firefox", "google-chrome", "xdg-open")
    record = login(world, doug, tmp_path, env)
    assert record["program"] == "firefox"
    assert record["argv"][:2] == ["-P", "admin"] and record["argv"][2].startswith("ext+container:name=Admin&url=")
    record = login(world, doug, tmp_path, env, "--browser-profile", "other")
    assert record["program"] == "firefox" and record["argv"][:2] == ["-P", "other"]
    record = login(world, doug, tmp_path, env, "--browser", "chrome", "--browser-profile", "Default")
    assert record["program"] == "google-chrome" and record["argv"][0] == "--profile-directory=Default"
    assert len(record["argv"]) == 2


def test_an_unknown_or_missing_browser_fails_before_any_sign_in(
    world: World, doug, admin_role: str, tmp_path: Path  # noqa: F811
) -> None:
    env = {**launchers(tmp_path, "xdg-open"), **signin_env(world)}
    env["PATH"] = str(tmp_path / "bin")
    result = world.run("login", "admin", "--browser", "safari", env=env)
    assert result.returncode != 0 and "'safari'" in result.stderr and "chromium, chrome, brave, edge" in result.stderr
    result = world.run("login", "admin", "--browser", "brave", env=env)
    assert result.returncode != 0
    assert "looked for brave-browser, brave" in result.stderr and "--stdout" in result.stderr
    result = world.run("login", "admin", "--browser-profile", "x", env=env)
    assert result.returncode != 0 and "needs a browser" in result.stderr
    # No MFA code was asked for or spent, nothing was opened.
    assert not (tmp_path / "record.json").exists()


def test_real_headless_chromium_opens_the_page_in_the_chosen_profile(
    world: World, doug, admin_role: str, tmp_path: Path  # noqa: F811
) -> None:
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("chromium is not installed: scripts/setup --test installs it")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "chromium").write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$@\" > '{tmp_path}/argv'\n"
        f"timeout 120 {chromium} --headless=new --no-sandbox --disable-gpu --no-first-run "
        f"--user-data-dir='{tmp_path}/chromium' --virtual-time-budget=10000 \"$@\" --dump-dom > '{tmp_path}/dom.html' 2>/dev/null\n"
        f"touch '{tmp_path}/done'\n"
    )
    (bin_dir / "chromium").chmod(0o755)
    (tmp_path / "run").mkdir(mode=0o700)
    env = {**signin_env(world), "PATH": f"{bin_dir}:{os.environ['PATH']}", "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    result = world.ok(
        "login", "admin", "--mfa-token", code(world, doug), "--browser", "chromium", "--browser-profile", "Work",
        env=env,
    )
    assert "opened the AWS console for 'admin' in chromium (profile 'Work')" in result.stderr
    deadline = time.monotonic() + 150
    while not (tmp_path / "done").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (tmp_path / "done").exists()
    page = page_path(tmp_path)
    assert (tmp_path / "argv").read_text().splitlines() == ["--profile-directory=Work", page]
    assert (tmp_path / "chromium" / "Work").is_dir()  # the profile Chromium ran in
    url = Path(page).read_text().split("url=")[1].split('"')[0].replace("&amp;", "&")
    # Chromium followed the page to the double's federation endpoint: the one-use URL is spent.
    assert follow_once(url)[0] == 400
