"""Writes BENCHMARKS.md and its PNG charts (docs/bench/) from the figures of one `scripts/bench --report` run.

Only renders what it is given: every number comes from the run that called it.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Timing:
    name: str
    median: float  # milliseconds
    p90: float
    group: str = ""
    note: str = ""


@dataclass
class Server:
    name: str
    rps: float
    p99: float  # milliseconds, median of the rounds
    p99_rounds: list[float] = field(default_factory=list)  # one per interleaved round
    rps_rounds: list[float] = field(default_factory=list)  # one per interleaved round


def rounds_won(server: Server, nginx: Server) -> str:
    """`R/N | P/N`: the rounds in which `server` served no fewer requests/s than nginx's first sample
    of the same round, and those in which its p99 was no worse."""
    p99s = server.p99_rounds or [server.p99]
    rps = sum(ours >= theirs for ours, theirs in zip(server.rps_rounds, nginx.rps_rounds))
    p99 = sum(ours <= theirs for ours, theirs in zip(p99s, nginx.p99_rounds))
    return f"{rps}/{len(server.rps_rounds)} | {p99}/{len(p99s)}"


@dataclass
class ColdStart:
    processes: int
    walls: list[float]  # seconds, one per kept round
    sts_calls: list[dict[str, int]]  # per kept round, only sts:* counters
    discarded: int = 1


@dataclass
class ConfigRow:
    profiles: int
    size_bytes: int
    latchkey: Timing
    botocore: Timing


@dataclass
class Machine:
    cpu: str
    cores: int
    memory_gib: float
    kernel: str
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    versions: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def describe() -> Machine:
        cpu = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        memory = 0.0
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    memory = int(line.split()[1]) / 1024 / 1024
        except OSError:
            pass
        return Machine(cpu, os.cpu_count() or 0, memory, f"{platform.system()} {platform.release()}", os.getloadavg())


@dataclass
class Report:
    runs: int
    machine: Machine
    hot_paths: list[Timing]
    servers: list[Server]
    wrk: str
    cold_start: ColdStart | None
    configs: list[ConfigRow]
    notes: list[str] = field(default_factory=list)


def percentile(sorted_samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted samples."""
    return sorted_samples[max(0, math.ceil(len(sorted_samples) * fraction) - 1)]


# Row names shared with scripts/bench, for the comparisons the goals of issue 16 are stated in.
LATCHKEY_EXPORT = "latchkey export --format json (warm)"
LATCHKEY_EXEC = "latchkey exec -- true (warm)"
LATCHKEY_VERSION = "latchkey --version"
LATCHKEY_MFA = "latchkey export --mfa-token (first MFA session)"
TRUE = "true (process start floor)"
FLOOR_ESSENTIALS = "floor: static Swift, FoundationEssentials, same JSON"
FLOOR_FOUNDATION = "floor: static Swift, full Foundation, same JSON"
VAULT_EXPORT = "aws-vault export --format=json (warm)"
VAULT_EXEC = "aws-vault exec -- true (warm)"
VAULT_VERSION = "aws-vault --version"
VAULT_MFA = "aws-vault export --mfa-token (first MFA session)"


def comparisons(timings: list[Timing]) -> list[str]:
    """latchkey's medians against the floor and aws-vault of the same run, with the goal each is held to."""
    by_name = {row.name: row.median for row in timings}
    lines = []

    def both(ours: str, theirs: str) -> tuple[float, float] | None:
        if ours in by_name and theirs in by_name and by_name[theirs] > 0 and by_name[ours] > 0:
            return by_name[ours], by_name[theirs]
        return None

    if pair := both(LATCHKEY_EXPORT, FLOOR_ESSENTIALS):
        lines.append(f"warm export: {pair[0] / pair[1]:.1f}x the FoundationEssentials floor"
                     f" ({pair[0]:.1f} vs {pair[1]:.1f} ms; goal <= 2x)")
    if pair := both(FLOOR_FOUNDATION, FLOOR_ESSENTIALS):
        lines.append(f"full Foundation floor: {pair[0] / pair[1]:.1f}x the FoundationEssentials floor"
                     f" ({pair[0]:.1f} vs {pair[1]:.1f} ms)")
    if pair := both(VAULT_EXPORT, LATCHKEY_EXPORT):
        lines.append(f"warm export: aws-vault takes {pair[0] / pair[1]:.1f}x latchkey's time"
                     f" ({pair[0]:.1f} vs {pair[1]:.1f} ms; goal >= 4x)")
    if pair := both(LATCHKEY_EXEC, TRUE):
        lines.append(f"warm exec -- true: latchkey adds {pair[0] - pair[1]:.1f} ms over `true` (goal <= 4 ms)")
    if pair := both(VAULT_EXEC, TRUE):
        lines.append(f"warm exec -- true: aws-vault adds {pair[0] - pair[1]:.1f} ms over `true`")
    if pair := both(LATCHKEY_VERSION, FLOOR_ESSENTIALS):
        lines.append(f"start-up: latchkey --version is {pair[0] / pair[1]:.1f}x the FoundationEssentials floor"
                     f" ({pair[0]:.1f} vs {pair[1]:.1f} ms; goal <= 1.5x)")
    if pair := both(VAULT_VERSION, LATCHKEY_VERSION):
        lines.append(f"start-up: aws-vault --version {pair[0]:.1f} ms, latchkey --version {pair[1]:.1f} ms")
    if pair := both(VAULT_MFA, LATCHKEY_MFA):
        lines.append(f"first MFA session: aws-vault {pair[0]:.1f} ms, latchkey {pair[1]:.1f} ms"
                     f" ({pair[0] / pair[1]:.1f}x)")
    return lines


PROFILE_START = "<!-- profile:start (written by hand from profiling; scripts/bench --report keeps this block) -->"
PROFILE_END = "<!-- profile:end -->"


def _kept_profile(path: Path) -> list[str]:
    """The hand-written profiling section of the existing BENCHMARKS.md, kept as it is."""
    if not path.exists():
        return []
    text = path.read_text()
    start, end = text.find(PROFILE_START), text.find(PROFILE_END)
    if start < 0 or end < start:
        return []
    return ["", text[start:end + len(PROFILE_END)]]


def _load_words(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


def _charts(report: Report, folder: Path) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}

    def save(figure, name: str) -> None:
        figure.tight_layout()
        figure.savefig(folder / name, dpi=110)
        plt.close(figure)
        written[name] = f"docs/bench/{name}"

    if report.hot_paths:
        rows = list(reversed(report.hot_paths))
        figure, axis = plt.subplots(figsize=(9, 0.42 * len(rows) + 1.4))
        colours = ["#1f77b4" if row.name.startswith("latchkey") else "#999999" for row in rows]
        axis.barh([row.name for row in rows], [row.median for row in rows], color=colours)
        axis.errorbar(
            [row.median for row in rows],
            range(len(rows)),
            xerr=[[0] * len(rows), [row.p90 - row.median for row in rows]],
            fmt="none",
            ecolor="black",
            capsize=3,
        )
        axis.set_xscale("log")
        axis.set_xlabel(f"wall time, ms (log scale; bar = median, whisker = p90; {report.runs} runs)")
        axis.set_title("Hot paths: latchkey (blue) and its peers, warm")
        save(figure, "hot-paths.png")

    if report.servers:
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
        names = [server.name for server in report.servers]
        colours = ["#999999" if server.name.startswith("nginx") else "#1f77b4" for server in report.servers]
        left.barh(names, [server.rps for server in report.servers], color=colours)
        left.xaxis.set_major_formatter(lambda value, _: f"{value / 1000:.0f}k")
        left.set_xlabel("requests/s (higher is better)")
        left.invert_yaxis()
        right.barh(names, [server.p99 for server in report.servers], color=colours)
        right.set_xlabel("p99 latency, ms (lower is better)")
        right.invert_yaxis()
        right.set_yticklabels([])
        figure.suptitle(f"Credential servers against nginx ({report.wrk})")
        save(figure, "servers.png")

    if report.cold_start and report.cold_start.walls:
        figure, axis = plt.subplots(figsize=(6, 3))
        walls = [wall * 1000 for wall in report.cold_start.walls]
        axis.bar(range(1, len(walls) + 1), walls, color="#1f77b4")
        axis.set_xlabel("round")
        axis.set_ylabel("ms until all finished")
        axis.set_title(f"{report.cold_start.processes} cold `latchkey export` at once, empty cache")
        save(figure, "cold-start.png")

    if report.configs:
        figure, axis = plt.subplots(figsize=(7, 4))
        counts = [row.profiles for row in report.configs]
        for label, pick, colour in (
            ("latchkey export (warm)", lambda row: row.latchkey, "#1f77b4"),
            ("botocore profile loading", lambda row: row.botocore, "#999999"),
        ):
            medians = [pick(row).median for row in report.configs]
            p90s = [pick(row).p90 for row in report.configs]
            axis.plot(counts, medians, marker="o", label=f"{label}, median", color=colour)
            axis.plot(counts, p90s, linestyle="--", color=colour, alpha=0.6, label=f"{label}, p90")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("profiles in ~/.aws/config (target profile last)")
        axis.set_ylabel("wall time, ms")
        axis.set_title("Config file size")
        axis.legend(fontsize=8)
        save(figure, "config-size.png")
    return written


def _git_commit(root: Path) -> str:
    result = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def write(report: Report, root: Path) -> Path:
    charts = _charts(report, root / "docs" / "bench")
    machine = report.machine
    # Only the load before the run says whether others competed: by its end the run's own servers
    # and wrk have raised the 1-minute average themselves.
    busy = machine.load_start[0] > machine.cores * 0.5
    lines = [
        "# latchkey benchmarks",
        "",
        "Generated by `scripts/bench --report` in one run (commit "
        f"`{_git_commit(root)}`); do not edit by hand, run it again (only the profiling section at the end is"
        " written by hand, and kept by each run). Every other figure below comes from that run,"
        f" against the local AWS double on loopback. Times are wall-clock medians and p90 over {report.runs} runs,"
        " the first run of each discarded.",
        "",
        "## Machine",
        "",
        f"- CPU: {machine.cpu}, {machine.cores} cores",
        f"- Memory: {machine.memory_gib:.1f} GiB",
        f"- Kernel: {machine.kernel}",
        f"- Load average (1/5/15 min) at start: {_load_words(machine.load_start)}; at end: {_load_words(machine.load_end)}",
    ]
    lines += [f"- {name}: {version}" for name, version in machine.versions.items()]
    if busy:
        lines += [
            "",
            f"**This machine was shared and noisy during the run** (load average at the start above half its"
            f" {machine.cores} cores,"
            " so other work competed for the CPU): absolute times are pessimistic and p90/p99 are noisy. Rows of one"
            " table were measured in the same minutes, so the comparisons are fairer than the absolute values.",
        ]

    if report.hot_paths:
        lines += [
            "",
            "## Hot paths, side by side",
            "",
            "Each command is run as a new process; `true` is the cost of starting any process here.",
            "",
            "| | command | median | p90 | note |",
            "|---|---|---:|---:|---|",
        ]
        for row in report.hot_paths:
            lines.append(f"| {row.group} | {row.name} | {row.median:.1f} ms | {row.p90:.1f} ms | {row.note} |")
        if found := comparisons(report.hot_paths):
            lines += ["", "Against the floor and aws-vault, medians of this run:", ""] + [f"- {line}" for line in found]
        if "hot-paths.png" in charts:
            lines += ["", f"![hot paths]({charts['hot-paths.png']})"]

    if report.servers:
        ceiling = report.servers[0].rps
        lines += [
            "",
            "## Credential servers against nginx",
            "",
            f"{report.wrk}. nginx answers the same JSON from memory: it is the ceiling, not a rival.",
            "",
            "p99 on two shared cores jumps between scheduler time slices from one round to the next, for"
            " nginx as for latchkey; the last two columns compare each round with nginx's first sample of the"
            " same round. nginx is measured twice per round, so its second row is the noise floor: how often a"
            " server exactly as fast as nginx comes out no worse than it.",
            "",
            "| server | requests/s | p99 (median) | p99 range | of nginx | req/s >= nginx's, by round"
            " | p99 <= nginx's, by round |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        nginx = report.servers[0]
        for server in report.servers:
            rounds = server.p99_rounds or [server.p99]
            lines.append(
                f"| {server.name} | {server.rps:,.0f} | {server.p99:.2f} ms | {min(rounds):.2f}–{max(rounds):.2f} ms"
                f" | {server.rps / ceiling:.0%} | {rounds_won(server, nginx)} |"
            )
        if "servers.png" in charts:
            lines += ["", f"![servers]({charts['servers.png']})"]

    cold = report.cold_start
    if cold:
        walls = sorted(wall * 1000 for wall in cold.walls)
        lines += [
            "",
            f"## {cold.processes} processes, cold",
            "",
            f"{cold.processes} `latchkey export` processes started at once with an empty session cache and an"
            " `mfa_process` that prints the next code; wall time from the first start until the last one exits,"
            f" and the STS calls the double counted. {len(cold.walls)} rounds kept, {cold.discarded} discarded.",
            "",
            "| round | wall time | STS calls |",
            "|---:|---:|---|",
        ]
        for index, (wall, sts) in enumerate(zip(cold.walls, cold.sts_calls), start=1):
            counted = ", ".join(f"{name} = {count}" for name, count in sorted(sts.items())) or "none"
            lines.append(f"| {index} | {wall * 1000:.0f} ms | {counted} |")
        lines += [
            "",
            f"Median {percentile(walls, 0.5):.0f} ms, p90 {percentile(walls, 0.9):.0f} ms.",
        ]
        if "cold-start.png" in charts:
            lines += ["", f"![cold start]({charts['cold-start.png']})"]

    if report.configs:
        lines += [
            "",
            "## Config files from 10 to 10,000 profiles",
            "",
            "`~/.aws/config` (through `AWS_CONFIG_FILE`) holds N-1 role profiles and the measured profile last."
            " latchkey: warm `latchkey export --format json` of that profile. botocore: a new Python process"
            " that imports botocore and loads that profile's settings (`Session(profile=...).get_scoped_config()`),"
            " which is what every SDK or CLI call pays before it does anything.",
            "",
            "| profiles | file size | latchkey median | latchkey p90 | botocore median | botocore p90 |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for row in report.configs:
            lines.append(
                f"| {row.profiles:,} | {row.size_bytes / 1024:,.0f} KiB | {row.latchkey.median:.1f} ms |"
                f" {row.latchkey.p90:.1f} ms | {row.botocore.median:.1f} ms | {row.botocore.p90:.1f} ms |"
            )
        if "config-size.png" in charts:
            lines += ["", f"![config size]({charts['config-size.png']})"]

    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report.notes]
    path = root / "BENCHMARKS.md"
    lines += _kept_profile(path)
    path.write_text("\n".join(lines) + "\n")
    _update_readme(report, root / "README.md")
    return path


SUMMARY_START = "<!-- bench-summary:start (scripts/bench --report writes this block) -->"
SUMMARY_END = "<!-- bench-summary:end -->"


def _summary(report: Report) -> list[str]:
    """A few rows of the report for the README: each latchkey figure next to its peer's."""
    timings = {row.name: row for row in report.hot_paths}

    def ms(name: str) -> str:
        row = timings.get(name)
        if not row:
            return "not measured"
        return f"{row.median:.1f} ms" if row.median < 10 else f"{row.median:.0f} ms"

    rows = [
        ("warm credentials, new process", ms(LATCHKEY_EXPORT),
         f"aws-vault: {ms(VAULT_EXPORT)}; static Swift floor (FoundationEssentials): {ms(FLOOR_ESSENTIALS)};"
         f" botocore cached role: {ms('botocore cached assume-role+MFA credentials')};"
         f" awsume cached MFA session: {ms('awsume cli-keys (warm)')}"),
        ("warm `exec -- true`", ms(LATCHKEY_EXEC), f"aws-vault: {ms(VAULT_EXEC)}; `true` alone: {ms(TRUE)}"),
        ("start-up", ms(LATCHKEY_VERSION), f"`aws-vault --version`: {ms(VAULT_VERSION)}; `aws --version`: {ms('aws --version')}"),
        ("first MFA session", ms(LATCHKEY_MFA), f"aws-vault: {ms(VAULT_MFA)}"),
    ]
    if report.servers:
        nginx, *others = report.servers
        ours = [server for server in others if not server.name.startswith("nginx")]
        if ours:
            # Each figure from the server that did worse at it, so neither hides the other.
            rps = min(server.rps for server in ours)
            p99 = max(server.p99 for server in ours)
            rows.append(
                ("credential servers (worse of ECS/IMDS)", f"{rps:,.0f} req/s, p99 {p99:.1f} ms",
                 f"nginx, same JSON: {nginx.rps:,.0f} req/s, p99 {nginx.p99:.1f} ms")
            )
    if report.cold_start and report.cold_start.walls:
        walls = sorted(report.cold_start.walls)
        calls = sorted({sum(sts.values()) for sts in report.cold_start.sts_calls})
        rows.append(
            (f"{report.cold_start.processes} processes at once, empty cache", f"{percentile(walls, 0.5) * 1000:.0f} ms",
             f"STS calls per round: {', '.join(map(str, calls))}")
        )
    if report.configs:
        largest = report.configs[-1]
        rows.append(
            (f"config of {largest.profiles:,} profiles", f"{largest.latchkey.median:.0f} ms",
             f"botocore loading it: {largest.botocore.median:.0f} ms")
        )
    machine = report.machine
    return [
        f"Medians from one run on {machine.cpu}, {machine.cores} cores, load average"
        f" {machine.load_start[0]:.1f} at start (see [BENCHMARKS.md](BENCHMARKS.md) for p90s, charts and the machine):",
        "",
        "| path | latchkey | peers, same run |",
        "|---|---:|---|",
        *(f"| {name} | {ours} | {peers} |" for name, ours, peers in rows),
    ]


def _update_readme(report: Report, readme: Path) -> None:
    if not readme.exists():
        return
    text = readme.read_text()
    start, end = text.find(SUMMARY_START), text.find(SUMMARY_END)
    if start < 0 or end < start:
        return
    block = "\n".join([SUMMARY_START, *_summary(report), SUMMARY_END])
    readme.write_text(text[:start] + block + text[end + len(SUMMARY_END):])
