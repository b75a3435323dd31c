"""scripts/package: the tarball, the .deb installed for real with dpkg (man page, bash/zsh/fish
completion of profile names from the installed files), then removed without a trace.

Needs root for dpkg -i (CI runs as root); it fails rather than skips anywhere else, so it
cannot silently stop running. It packages the binary under test (LATCHKEY_BIN): nothing builds
twice.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import BINARY, ROOT

PROFILES = "[default]\n[profile dev]\n[profile deploy]\n[profile production-eu]\n"
INSTALLED = [
    "/usr/bin/latchkey",
    "/usr/share/man/man1/latchkey.1.gz",
    "/usr/share/bash-completion/completions/latchkey",
    "/usr/share/zsh/vendor-completions/_latchkey",
    "/usr/share/fish/vendor_completions.d/latchkey.fish",
    "/usr/share/doc/latchkey/copyright",
]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not BINARY.exists():
        pytest.fail(f"latchkey is not built at {BINARY}: run scripts/setup first")
    output = tmp_path_factory.mktemp("dist")
    result = run(str(ROOT / "scripts/package"), "--binary", str(BINARY), "--output", str(output), timeout=1500)
    assert result.returncode == 0, f"scripts/package failed:\n{result.stdout}\n{result.stderr}"
    return output


@pytest.fixture(scope="module")
def version() -> str:
    reported = run(str(BINARY), "--version").stdout.strip()
    assert " (" in reported, f"latchkey --version says {reported!r}, not 'VERSION (COMMIT)'"
    return reported.split(" (")[0]


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """A user whose ~/.aws/config names a few profiles, with only the system's PATH (the installed
    latchkey, not the one under test)."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True, mode=0o700)
    (home / ".aws" / "config").write_text(PROFILES)
    return {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "xterm"}


def test_version_is_the_commit_built_from(version: str) -> None:
    """scripts/setup builds with scripts/version's numbers: the binary names this checkout's commit."""
    commit = run("git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD").stdout.strip()
    reported = run(str(BINARY), "--version").stdout.strip()
    assert commit and reported.startswith(f"{version} ({commit}"), (
        f"{BINARY} says {reported!r}, not this checkout ({commit}): build it with scripts/setup")
    assert not version.startswith("0.0.0-dev")


def test_package_writes_the_tarball_the_deb_and_their_checksums(dist: Path, version: str) -> None:
    tarball = f"latchkey-{version}-linux-x86_64.tar.gz"
    deb = f"latchkey_{version}_amd64.deb"
    assert sorted(p.name for p in dist.iterdir()) == sorted([tarball, deb, "SHA256SUMS"])
    check = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=dist, capture_output=True,
                           text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == 2, check.stdout + check.stderr

    top = f"latchkey-{version}-linux-x86_64"
    with tarfile.open(dist / tarball) as archive:
        members = {m.name: m for m in archive.getmembers()}
        for name in ["latchkey", "latchkey.1", "LICENSE", "README.md", "completions/latchkey.bash",
                     "completions/_latchkey", "completions/latchkey.fish"]:
            assert f"{top}/{name}" in members, f"{name} missing from {tarball}: {sorted(members)}"
        assert members[f"{top}/latchkey"].mode & 0o111
        manual = archive.extractfile(f"{top}/latchkey.1")
        assert manual is not None
        page = manual.read().decode()
        license_file = archive.extractfile(f"{top}/LICENSE")
        assert license_file is not None and b"MIT License" in license_file.read()
    # generate-manual's mdoc, from the command definitions: every subcommand is in it.
    assert page.startswith(".\\\"") or ".Dt LATCHKEY 1" in page, page[:300]
    for command in ["exec", "export", "serve", "rotate", "shell-init"]:
        assert command in page, f"the man page does not mention {command}"


def test_the_binary_loads_only_system_libraries_and_no_foundation() -> None:
    """No run path (a library planted next to the binary must never be loaded) and, linked in, only
    the C and C++ runtimes: FoundationEssentials is static, full Foundation and ICU are not there."""
    dynamic = run("readelf", "--dynamic", str(BINARY)).stdout
    assert "RPATH" not in dynamic and "RUNPATH" not in dynamic, dynamic
    needed = sorted(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic))
    assert needed == ["ld-linux-x86-64.so.2", "libc.so.6", "libgcc_s.so.1", "libm.so.6", "libstdc++.so.6"], needed
    # Full Foundation linked statically brings ICU's data (entries named icudt...) and NSJSONSerialization.
    text = run("strings", "-n", "8", str(BINARY)).stdout
    assert "icudt" not in text and "NSJSONSerialization" not in text


def test_deb_declares_what_latchkey_loads_and_runs(dist: Path, version: str) -> None:
    deb = dist / f"latchkey_{version}_amd64.deb"
    fields = {name: run("dpkg-deb", "--field", str(deb), name).stdout.strip()
              for name in ["Package", "Version", "Architecture", "Depends", "Recommends"]}
    assert fields["Package"] == "latchkey" and fields["Version"] == version and fields["Architecture"] == "amd64"
    depends = [d.split(" ")[0] for d in fields["Depends"].split(", ")]
    assert "libcurl4" in depends and "libc6" in depends, fields["Depends"]
    assert fields["Recommends"].split(", ") == ["keyutils", "libsecret-1-0", "pass"]
    listing = run("dpkg-deb", "--contents", str(deb)).stdout
    for path in INSTALLED:
        assert "." + path in listing, f"{path} is not in the package:\n{listing}"
    assert all("root/root" in row for row in listing.splitlines()), listing


@pytest.fixture
def installed(dist: Path, version: str) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("installing the .deb needs root (CI runs scripts/test as root)")
    if run("dpkg-query", "--show", "--showformat=${Status}", "latchkey").stdout.startswith("install ok"):
        pytest.fail("a latchkey package is already installed here; remove it (dpkg -r latchkey) first")
    deb = dist / f"latchkey_{version}_amd64.deb"
    result = run("dpkg", "--install", str(deb), timeout=300)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield deb
    finally:
        run("dpkg", "--remove", "latchkey", timeout=300)


def test_deb_installs_man_page_and_completions_then_removes_cleanly(installed: Path, version: str,
                                                                    home: dict[str, str]) -> None:
    status = run("dpkg-query", "--show", "--showformat=${Status} ${Version}", "latchkey").stdout
    assert status == f"install ok installed {version}"
    listed = set(run("dpkg", "--listfiles", "latchkey").stdout.split())
    assert set(INSTALLED) <= listed, listed
    assert run("/usr/bin/latchkey", "--version").stdout == run(str(BINARY), "--version").stdout

    where = run("man", "-w", "latchkey", env=home)
    assert where.returncode == 0 and where.stdout.strip() == "/usr/share/man/man1/latchkey.1.gz", where.stderr
    shown = run("man", "-P", "cat", "latchkey", env={**home, "MANWIDTH": "100"})
    assert shown.returncode == 0, shown.stderr
    assert "Keeps AWS access keys in an encrypted keyring" in shown.stdout
    assert re.search(r"^\s+exec\s+Run a command", shown.stdout, re.MULTILINE), shown.stdout[:2000]

    assert bash_completes(home, "latchkey exec de") == ["default", "deploy", "dev"]
    assert bash_completes(home, "latchkey rotate prod") == ["production-eu"]
    assert re.search(r"^default +deploy +dev *$", fish_completes(home, "latchkey exec de"), re.MULTILINE)
    assert "fish> latchkey sso login production-eu" in fish_completes(home, "latchkey sso login prod")
    assert "zsh> latchkey exec production-eu" in zsh_completes(home, "latchkey exec prod")
    assert re.search(r"default +deploy +dev", zsh_completes(home, "latchkey mfa list de"))

    removed = run("dpkg", "--remove", "latchkey", timeout=300)
    assert removed.returncode == 0, removed.stderr
    assert run("dpkg-query", "--show", "--showformat=${Status}", "latchkey").stdout in ("", "unknown ok not-installed")
    # Every file and folder the package brought, except the shared folders it put them in.
    own = [p for p in listed if "latchkey" in p]
    assert set(INSTALLED) | {"/usr/share/doc/latchkey"} <= set(own)
    left = [p for p in own if os.path.lexists(p)]
    assert not left, f"left behind after dpkg -r: {left}"
    assert run("man", "-w", "latchkey", env=home).returncode != 0


def bash_completes(home: dict[str, str], line: str) -> list[str]:
    """bash-completion's own loader finds the installed file, as in a login shell, then the
    completion function answers for the words typed."""
    words = line.split(" ")
    script = (
        "source /usr/share/bash-completion/bash_completion\n"
        "if declare -F _comp_load >/dev/null; then _comp_load latchkey; else __load_completion latchkey; fi ||\n"
        "    { echo 'bash-completion found no completion for latchkey' >&2; exit 3; }\n"
        "function=$(complete -p latchkey | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p')\n"
        f"COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}\n"
        f'"$function" latchkey {words[-1]} {words[-2]}\n'
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    if not Path("/usr/share/bash-completion/bash_completion").exists():
        pytest.fail("bash-completion is not installed: scripts/setup --test installs it")
    result = run("bash", "--norc", "--noprofile", "-c", script, env=home)
    assert result.returncode == 0, result.stderr
    return sorted(result.stdout.split())


def fish_completes(home: dict[str, str], line: str) -> str:
    """An interactive fish in tmux (the generated script asks `commandline` for the words, which
    only a real prompt answers), loading the vendor completion by itself, then Tab."""
    init = "set -g fish_greeting; function fish_prompt; echo -n 'fish> '; end"
    return tab(home, f'fish -C "{init}"', "fish> ", line)


def zsh_completes(home: dict[str, str], line: str) -> str:
    """An interactive zsh in tmux, compinit from the default fpath (vendor-completions), then Tab."""
    (Path(home["HOME"]) / ".zshrc").write_text("autoload -Uz compinit && compinit -u\nPROMPT='zsh> '\n")
    return tab(home, "zsh -i", "zsh> ", line)


def tab(home: dict[str, str], shell: str, prompt: str, line: str) -> str:
    """Types the line and Tab at the shell's prompt; returns the screen once Tab has changed it."""
    if not shutil.which("tmux"):
        pytest.fail("tmux is not installed: scripts/setup --test installs it")
    tmux = ["tmux", "-L", f"latchkey-deb-{uuid.uuid4().hex[:8]}", "-f", "/dev/null"]
    exports = " ".join(f"{key}='{value}'" for key, value in home.items())
    try:
        subprocess.run([*tmux, "new-session", "-d", "-x", "200", "-y", "20", "-c", home["HOME"],
                        f"env -i {exports} {shell}"], check=True, timeout=30)
        wait_for(tmux, prompt)
        subprocess.run([*tmux, "send-keys", "-l", line], check=True, timeout=30)
        typed = wait_for(tmux, prompt + line)
        subprocess.run([*tmux, "send-keys", "Tab"], check=True, timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            screen = capture(tmux)
            if screen != typed:
                time.sleep(0.5)  # let the shell finish drawing
                return capture(tmux)
            time.sleep(0.1)
        raise AssertionError(f"Tab changed nothing after {line!r}:\n{typed}")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=30)


def capture(tmux: list[str]) -> str:
    return subprocess.run([*tmux, "capture-pane", "-p", "-J"], capture_output=True, text=True, timeout=30).stdout


def wait_for(tmux: list[str], text: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = capture(tmux)
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared; screen:\n{capture(tmux)}")
