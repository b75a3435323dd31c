"""`latchkey doctor`: from the config down to AWS, each problem with its fix; the exit status says
whether all is well."""

from __future__ import annotations

import json

from conftest import World
from double_fixtures import advance_clock


def checks(world: World, *args: str) -> tuple[int, dict[str, dict[str, str]]]:
    result = world.run("doctor", "--json", *args)
    return result.returncode, {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def test_a_healthy_profile(world: World, doug: dict[str, str]) -> None:
    with world.config.open("a") as config:
        config.write("mfa_process = my-code-generator\n")
    status, found = checks(world, "doug")
    assert status == 0, found
    for name in ("config", "keyring", "profile", "MFA code", "stored key", "key age", "AWS", "clock", "MFA device"):
        assert found[name]["status"] == "ok", (name, found[name])
    assert found["AWS"]["detail"].endswith(doug["arn"])
    assert found["MFA boundary"]["status"] == "warn" and "policy apply" in found["MFA boundary"]["fix"]
    text = world.run("doctor", "doug").stdout
    assert "ok    clock: within" in text and "fix: `latchkey policy apply" in text

    no_source = world.run("doctor", "--json", "doug", env={"LATCHKEY_PROMPT": ""})
    world.write_config(f"[profile doug]\nmfa_serial = {doug['mfa_serial']}\n")
    status, found = checks(world, "doug")
    assert status == 1 and found["MFA code"]["status"] == "fail"  # no terminal, no mfa_process, no dialog
    assert no_source.returncode == 0


def test_problems_are_found_with_their_fixes(world: World, doug: dict[str, str]) -> None:
    world.write_config(f"[profile doug]\nmfa_serial = {doug['mfa_serial']}-old\n")
    advance_clock(world.endpoint, 120)
    status, found = checks(world, "doug")
    assert status == 1
    assert found["MFA device"]["status"] == "fail" and doug["mfa_serial"] in found["MFA device"]["fix"]
    assert found["clock"]["status"] == "fail" and "behind AWS" in found["clock"]["detail"]

    world.write_config("[profile doug]\nregion = us-east-1\n[profile broken\n")
    status, found = checks(world, "doug")
    assert status == 1 and found["config"]["status"] == "fail" and "line 3" in found["config"]["detail"]

    world.write_config("[profile ghost]\n")
    status, found = checks(world, "ghost")
    assert status == 1 and found["stored key"]["fix"] == "`latchkey add ghost`"
