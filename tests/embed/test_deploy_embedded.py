"""`permission-canary deploy` on an API that embeds the canary (not this repository's standalone app), on moto.

The sample API after `init --write` is deployed from its own directory: provision, chalice deploy
(the API's routes and the canary's three functions, one role per function from policy-dev.json),
provision again, then the gate. As in tests/deploy/test_deploy_script.py, moto cannot run a
function without Docker, so the gate's invoke comes back as a FunctionError and deploy exits 3;
moto's SigV4 check rejects chalice's signed Lambda calls (a moto limit), so IAM checks are off
while it runs; no verdict here depends on policy evaluation. moto's API Gateway cannot import the
REST API chalice generates (its `import_rest_api` requires `info.description`, which chalice's
swagger never sets), so the API's routes are deployed as plain Lambda functions here; the canary's
part, the point of this test, is unchanged.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from canary.emulator import Emulator
from tests.deploy.conftest import BIN, subprocess_env
from tests.embed.test_walkthrough import INIT, copy_sample, pc


def test_deploy_gates_an_api_that_embeds_the_canary(emu: Emulator, tmp_path: Path) -> None:
    api = copy_sample(tmp_path / "listings-api")
    assert pc(api, *INIT, "--write").returncode == 0
    app_py = api / "app.py"
    app_py.write_text(re.sub(r"@app\.route\([^)]*\)\n", "@app.lambda_function()\n", app_py.read_text()))
    emu.create_table("listings-dev", key="listingId")
    emu.create_table("favorites-dev", key="userId", sort_key="listingId")
    emu._post("/moto-api/reset-auth", b"inf")
    try:
        result = subprocess.run([str(BIN / "permission-canary"), "deploy", "--stage", "dev", "--project-dir", str(api)],
                                capture_output=True, text=True, cwd=tmp_path, env=subprocess_env(**emu.env()),
                                timeout=600)
        lam = emu.client("lambda")
        names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
        iam = emu.client("iam")
        policies = {}
        for n in ("get_listing", "permission_canary", "permission_canary_invoke", "permission_canary_alarm_to_slack"):
            role = lam.get_function(FunctionName=f"listings-api-dev-{n}")["Configuration"]["Role"].rsplit("/", 1)[1]
            (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
            policies[n] = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        retries = lam.get_function_event_invoke_config(
            FunctionName="listings-api-dev-permission_canary")["MaximumRetryAttempts"]
    finally:
        emu.enable_iam()
    out = result.stdout + result.stderr
    assert result.returncode == 3, out
    assert result.stdout == ""  # steps and chalice's output go to stderr; stdout is the gate's report alone
    steps = [" ".join(line.split()[1:3]) for line in out.splitlines() if line.startswith("+ ")]
    assert steps == ["permission-canary provision", "chalice deploy", "permission-canary provision",
                     "permission-canary invoke"]
    assert "gate: probes errored on stage dev" in out
    assert {"listings-api-dev-get_listing", "listings-api-dev-permission_canary", "listings-api-dev-permission_canary_invoke",
            "listings-api-dev-permission_canary_alarm_to_slack"} <= names
    assert retries == 0
    # The canary runs with the API's own policy (policy-dev.json; with autogen_policy false chalice may
    # give each function its own role holding that same document); the Slack function its own policy.
    api_policy = json.loads((api / ".chalice" / "policy-dev.json").read_text())
    slack_policy = json.loads((api / ".chalice" / "policy-slack-dev.json").read_text())
    assert policies["get_listing"] == policies["permission_canary"] == policies["permission_canary_invoke"] == api_policy
    assert policies["permission_canary_alarm_to_slack"] == slack_policy
    deployed = json.loads((api / ".chalice" / "deployed" / "dev.json").read_text())
    assert {"get_listing", "permission_canary_invoke"} <= {r["name"] for r in deployed["resources"]}


def test_deploy_stops_at_the_first_failing_step(emu: Emulator, tmp_path: Path) -> None:
    api = copy_sample(tmp_path / "listings-api")  # not embedded yet: provision refuses the stage
    result = subprocess.run([str(BIN / "permission-canary"), "deploy", "--stage", "dev"], capture_output=True,
                            text=True, cwd=api, env=subprocess_env(**emu.env()), timeout=120)
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.startswith("+ ")] == [
        f"+ permission-canary provision --stage dev --project-dir {api.resolve()}"]
    assert "probe config for stage 'dev' not found" in result.stderr or "Slack function" in result.stderr
    assert "Traceback" not in result.stderr
