"""The probe config: every bad input gives one exact message naming the file, the probe and the field.

Bad configs are fixture files (tests/fixtures/bad_configs/, JSON and YAML); each test checks the
exact message, both from `load_config` and through `permission-canary validate` (exit 2,
`error: <message>`, no traceback). Hypothesis then throws arbitrary and mutated configs at the
loader: the only possible outcomes are a valid `CanaryConfig` or a `ConfigError` whose message
starts with the source name. No AWS is involved anywhere here.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canary.cli import cli
from canary.cli._common import load_cli_config
from canary.config import CanaryConfig, Settings, json_schema, load_config, parse_config, stage_environment
from canary.errors import ConfigError
from canary.probes import PROBES
from canary.probes.ses import DEFAULT_RECIPIENT

FIXTURES = Path(__file__).parent / "fixtures"
BAD = FIXTURES / "bad_configs"
GOOD = FIXTURES / "good_configs"
KNOWN = ", ".join(sorted(PROBES))
MISSING_VAR = "CANARY_TEST_UNSET_STAGE"

# fixture file -> the exact message after "<path>: ". {known} is the list of registered actions.
BAD_CONFIGS: dict[str, str] = {
    "unknown-top-level-key.json":
        "field 'namspace': unknown field (did you mean 'namespace'?); known fields: deadline_s, max_workers, "
        "namespace, per_probe_metrics, probe_timeout_s, probes, publisher, retries, stage, version",
    "unknown-probe-key.json":
        "probe 0 (listings-update): field 'tabel': unknown field (did you mean 'table'?); "
        "known fields: action, id, index, key, table (and 1 more)",
    "unknown-probe-key.yaml":
        "probe 1 (send): field 'recipient': unknown field (did you mean 'allow_real_recipients'?); "
        "known fields: action, allow_real_recipients, api, configuration_set, from, id, to",
    "missing-action.json": "probe 0 (listings-read): field 'action': required; one of {known}",
    "unknown-action.json": "probe 0: field 'action': 'dynamodb:UpdateItems' has no probe; known: {known}",
    "wrong-case-action.yaml":
        "probe 1: field 'action': 'dynamodb:updateitem' has no probe (did you mean dynamodb:UpdateItem? "
        "IAM action names are case-sensitive here); known: {known}",
    "action-not-a-string.json":
        "probe 0: field 'action': must be a string naming an IAM action (e.g. \"dynamodb:UpdateItem\"), "
        "got [\"dynamodb:GetItem\"]",
    "missing-table.json": "probe 0 (listings-delete): field 'table': required",
    "key-bool.json":
        "probe 0: field 'key.listingId': a key value cannot be a boolean; use a string, a number or "
        "{\"S\"|\"N\"|\"B\": ...}, got true",
    "key-list.yaml":
        "probe 0: field 'key.listingId': a key value must be a string, a number or typed DynamoDB JSON like "
        "{\"S\": \"x\"}, got [\"a\", \"b\"]",
    "key-nested-dict.json":
        "probe 0: field 'key.listingId': a key value must be a string, a number or typed DynamoDB JSON like "
        "{\"S\": \"x\"}, got {\"M\": {\"S\": \"x\"}}",
    "key-typed-bad-letter.json":
        "probe 0: field 'key.listingId': a key value must be a string, a number or typed DynamoDB JSON like "
        "{\"S\": \"x\"}, got {\"SS\": \"x\"}",
    "key-typed-non-string.json":
        "probe 0: field 'key.listingId': typed key {\"N\": ...} needs a string value, got {\"N\": 42}",
    "key-infinite-number.json": "probe 0: field 'key.listingId': a number must be finite, got inf",
    "key-nan.yaml": "probe 0: field 'key.listingId': a number must be finite, got nan",
    "key-empty.json":
        "probe 0: field 'key': must name the item's full primary key: 1 or 2 attributes (the partition key, "
        "and the sort key if the table has one), got 0",
    "key-three-attributes.json":
        "probe 0: field 'key': must name the item's full primary key: 1 or 2 attributes (the partition key, "
        "and the sort key if the table has one), got 3",
    "ses-real-recipient.json":
        "probe 0 (send): field 'to': 'to' is 'ops@example.com', outside simulator.amazonses.com: a probe would "
        "email a real mailbox. Use the simulator (default success@simulator.amazonses.com) or set "
        "\"allow_real_recipients\": true",
    "ses-to-not-an-address.yaml":
        "probe 0: field 'to': 'to' must be an email address, got 'simulator.amazonses.com'",
    "ses-from-not-an-address.json":
        "probe 0: field 'from': must be an email address (the API's verified SES identity, e.g. "
        "noreply@example.com), got 'noreply'",
    "ses-api-v3.json": "probe 0: field 'api': Input should be 'v1' or 'v2', got 'v3'",
    "missing-variable.json":
        f"probe 0: field 'table': environment variable {MISSING_VAR} is not set (used as ${{{MISSING_VAR}}}; "
        f"set it, or give a default with ${{{MISSING_VAR}:-value}})",
    "duplicate-ids.json":
        "probe 1 (listings): field 'id': duplicate of probe 0; give each probe a distinct \"id\"",
    "duplicate-default-ids.yaml":
        "probe 2 (dynamodb-scan-listings-dev): field 'id': duplicate of probe 0; give each probe a distinct \"id\"",
    "empty-id.json": "probe 0: field 'id': must not be empty (leave it out for the default id)",
    "id-not-a-string.json": "probe 0: field 'id': Input should be a valid string, got 7",
    "empty-probes.json": "field 'probes': must not be empty; a canary with no probes proves nothing",
    "no-probes.json": "field 'probes': required: a list of probes, each with an \"action\"",
    "probes-not-a-list.yaml": "field 'probes': must be a list of probes, got an object",
    "probe-not-an-object.json": "probe 0: must be an object, got a string",
    "root-list.json": "the config must be an object with a 'probes' list, got a list",
    "root-scalar.yaml": "the config must be an object with a 'probes' list, got a string",
    "empty.yaml": "the config must be an object with a 'probes' list, got nothing (is the file empty?)",
    "invalid-json.json": "invalid JSON at line 4, column 3: Expecting value",
    "invalid-yaml.yaml":
        "invalid YAML at line 4, column 4: expected <block end>, but found '<block mapping start>'",
    "duplicate-json-key.json": "invalid JSON: duplicate key 'table' in one object",
    "nan-key.json": "invalid JSON: NaN is not valid JSON",
    "version-2.json": "field 'version': Input should be 1, got 2",
    "setting-wrong-type.yaml":
        "field 'retries': Input should be a valid integer, got 'many'",
    "setting-out-of-range.json": "field 'probe_timeout_s': Input should be greater than 0, got 0",
    "unknown-publisher.json": "field 'publisher': Input should be 'emf' or 'put_metric_data', got 'statsd'",
    # issue 11: hostile input, strict values, AWS's own naming and value rules, placeholders
    'bool-as-number.json':
        "probe 0 (send): field 'allow_real_recipients': must be true or false (a JSON or YAML boolean, "
        'unquoted), got 1',
    'bool-as-string.json':
        "field 'per_probe_metrics': must be true or false (a JSON or YAML boolean, unquoted), got 'true'",
    'deep-nesting.json':
        'nested too deeply (more than 32 levels; a probe config needs 5)',
    'default-id-too-long.json':
        "probe 0: field 'id': the id is 1045 characters; a CloudWatch dimension value (the 'Probe' dimension) "
        'allows at most 1024: give the probe a shorter "id"',
    'id-markup.json':
        "probe 0 ([bold]listings[/x]): field 'id': '[bold]listings[/x]' is not a probe id: 1-1024 letters, "
        "digits and '-', '_', '.', ':', '/', '@', '+', '='",
    'id-too-long.json':
        'probe 0 (' + 'x' * 57 + '...): field \'id\': the id is 1025 characters; a CloudWatch dimension value (the \'Probe\' dimension) allows at most 1024: give the probe a shorter "id"',
    'index-too-short.json':
        "probe 0: field 'index': 'ix' is not a DynamoDB index name: 3-255 letters, digits, '_', '-' or '.'",
    'infinity-constant.json':
        'invalid JSON: Infinity is not valid JSON',
    'key-b-not-base64.json':
        'probe 0: field \'key.listingId\': a binary key value {"B": ...} must be base64 (A-Z a-z 0-9 + / and = padding), got {"B": "not base64!"}',
    'key-empty-string.json':
        "probe 0: field 'key.listingId': a string key value must not be empty (DynamoDB refuses an empty key "
        'attribute), got {"S": ""}',
    'key-n-not-a-number.json':
        'probe 0: field \'key.listingId\': a number key value {"N": ...} must be a decimal number string such '
        'as "42" or "-1.5e3", got {"N": "abc"}',
    'key-n-too-precise.json':
        "probe 0: field 'key.listingId': a DynamoDB number has at most 38 significant digits; this one has 39, "
        'got {"N": "1234567890123456789012345678901234567890"}',
    'key-name-too-long.json':
        "probe 0: field 'key." + 'k' * 57 + "...': a key attribute name must be 1-255 bytes, got 256",
    'long-integer.json':
        'invalid JSON: a number of 5000 digits is too long (at most 128)',
    'namespace-aws.json':
        "field 'namespace': 'AWS/Lambda' begins with 'AWS/', which CloudWatch reserves for AWS services; use "
        "your own, e.g. 'PermissionCanary'",
    'namespace-leading-colon.json':
        "field 'namespace': ':canary' is not a CloudWatch namespace: 1-255 of letters, digits, '.', '-', '_', "
        "'/', '#', ':' and inner spaces, not starting with ':'",
    'number-as-bool.json':
        "field 'retries': Input should be a valid integer, got true",
    'number-as-string.json':  # strict numbers, as strict booleans: "8" is a string, not a count
        "field 'max_workers': Input should be a valid integer, got '8'",
    'placeholder-angle.yaml':
        "probe 0: field 'table': '<FILL ME>' is a placeholder ('<FILL ME>'); replace it with the real value",
    'placeholder-fill-me.json':
        "probe 0: field 'table': '__FILL_ME__table' is a placeholder ('__FILL_ME__'); replace it with the real value",
    'placeholder-key-name.json':
        "probe 0: field 'key.__FILL_ME__partition_key_name': '__FILL_ME__partition_key_name' is a placeholder "
        "('__FILL_ME__'); replace it with the real value",
    'placeholder-todo.json':
        "probe 0: field 'from': 'TODO' is a placeholder ('TODO'); replace it with the real value",
    'ses-to-display-name.json':
        'probe 0 (send): field \'to\': \'to\' is \'"Ops" <ops@example.com>, '
        "<success@simulator.amazonses.com>', outside simulator.amazonses.com: a probe would email a real "
        'mailbox. Use the simulator (default success@simulator.amazonses.com) or set "allow_real_recipients": '
        'true',
    'ses-to-line-break.json':
        "probe 0 (send): field 'to': 'to' is 'success@simulator.amazonses.com\\r\\nBcc: ops@example.com': "
        'control characters (a line break could add a header) are not allowed',
    'ses-to-list-with-real-address.json':
        "probe 0 (send): field 'to': 'to' is 'ops@example.com, success@simulator.amazonses.com': "
        "'ops@example.com' in it is outside simulator.amazonses.com: a probe would email a real mailbox. Use "
        'the simulator (default success@simulator.amazonses.com) or set "allow_real_recipients": true',
    'stage-not-ascii.json':
        "field 'stage': 'dév' is not a CloudWatch dimension value: printable ASCII only, no control characters",
    'table-arn.json':
        "probe 0: field 'table': 'arn:aws:dynamodb:eu-west-1:123456789012:table/listings-dev' is not a "
        "DynamoDB table name: 3-255 letters, digits, '_', '-' or '.'; give the table name, not an ARN (the "
        'probe builds the ARN from the account and region)',
    'table-with-slash.json':
        "probe 0: field 'table': 'listings/dev' is not a DynamoDB table name: 3-255 letters, digits, '_', '-' "
        "or '.'; '/' not allowed",
    'table-with-space.json':
        "probe 0: field 'table': 'listings dev' is not a DynamoDB table name: 3-255 letters, digits, '_', '-' "
        "or '.'; ' ' not allowed",
    'variable-bad-syntax.json':
        "probe 0: field 'table': 'listings-${STAGE' holds a '${' that is not a variable reference; write "
        "${NAME} or ${NAME:-default} (NAME: letters, digits and '_', not starting with a digit)",
    'yaml-alias-bomb.yaml':
        'invalid YAML at line 7, column 10: more than 100000 values once aliases are expanded (an alias bomb?)',
    'yaml-deep-nesting.yaml':
        'invalid YAML at line 3, column 41: nested too deeply (more than 32 levels)',
    'yaml-duplicate-key.yaml':
        "invalid YAML at line 5, column 5: found duplicate key 'table'",
    'yaml-long-integer.yaml':
        'invalid YAML at line 1, column 10: a number of 5000 digits is too long (at most 128)',
    'yaml-recursive-alias.yaml':
        'invalid YAML at line 1, column 11: alias *a is used inside its own anchor (a recursive alias)',
    'yaml-yes-is-not-true.yaml':
        "probe 0 (send): field 'allow_real_recipients': must be true or false (a JSON or YAML boolean, "
        "unquoted), got 'yes'",
}


def expected(name: str) -> str:
    return f"{BAD / name}: " + BAD_CONFIGS[name].replace("{known}", KNOWN)


@pytest.fixture(autouse=True)
def _no_missing_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MISSING_VAR, raising=False)


def test_every_bad_config_fixture_has_an_expected_message() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(BAD_CONFIGS)
    assert {p.suffix for p in BAD.iterdir()} == {".json", ".yaml"}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_bad_config_gives_the_exact_message(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(BAD / name, env={})
    assert str(info.value) == expected(name)


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_cli_validate_exits_2_with_the_message_and_no_traceback(name: str) -> None:
    result = CliRunner().invoke(cli, ["validate", "--config", str(BAD / name)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {expected(name)}\n"
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_missing_config_file_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(BAD / "no-such-file.json", env={})
    assert str(info.value) == f"{BAD / 'no-such-file.json'}: config file not found"


def test_cli_validate_on_a_missing_file_exits_2() -> None:
    result = CliRunner().invoke(cli, ["validate", "--config", str(BAD / "no-such-file.json")])
    assert (result.exit_code, result.stderr) == (2, f"error: {BAD / 'no-such-file.json'}: config file not found\n")


# -- what a good config turns into ------------------------------------------------------------------

def test_json_and_yaml_forms_of_the_same_config_are_equal() -> None:
    env = {"STAGE": "dev"}
    a, b = load_config(GOOD / "story.json", env=env), load_config(GOOD / "story.yaml", env=env)
    assert a.probes == b.probes and a.settings == b.settings
    assert [p.probe_id for p in a.probes] == ["listings-update", "dynamodb-deleteitem-listings-dev",
                                              "ses-sendemail-noreply-example-com"]
    assert a.probes[0].table == "listings-dev"  # type: ignore[attr-defined]
    assert a.source == str(GOOD / "story.json")


def test_cli_validate_accepts_a_good_config_and_lists_its_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "qa")
    result = CliRunner().invoke(cli, ["validate", "--config", str(GOOD / "story.yaml")])
    assert result.exit_code == 0, result.output
    assert "valid, 3 probe(s)" in result.stdout
    assert "table/listings-qa" in result.stdout


def _one(probe: dict[str, Any], env: dict[str, str] | None = None, **top: Any) -> CanaryConfig:
    return parse_config({**top, "probes": [probe]}, source="t.json", env=env or {})


DDB = {"action": "dynamodb:GetItem", "table": "listings-dev"}


def test_plain_and_typed_key_values_become_dynamodb_json() -> None:
    probe = _one({**DDB, "key": {"pk": "x", "sk": 3}}).probes[0]
    assert probe.key == {"pk": {"S": "x"}, "sk": {"N": "3"}}  # type: ignore[attr-defined]
    probe = _one({**DDB, "key": {"pk": {"B": "AAEC"}, "sk": {"N": "1.5"}}}).probes[0]
    assert probe.key == {"pk": {"B": "AAEC"}, "sk": {"N": "1.5"}}  # type: ignore[attr-defined]


def test_ses_recipient_defaults_to_the_simulator() -> None:
    probe = _one({"action": "ses:SendEmail", "from": "noreply@example.com"}).probes[0]
    assert probe.to == DEFAULT_RECIPIENT  # type: ignore[attr-defined]
    assert probe.api == "v1"  # type: ignore[attr-defined]


def test_any_simulator_address_is_accepted_whatever_its_case() -> None:
    probe = _one({"action": "ses:SendEmail", "from": "a@example.com", "to": "bounce@Simulator.AmazonSES.com"})
    assert probe.probes[0].to == "bounce@Simulator.AmazonSES.com"  # type: ignore[attr-defined]


def test_real_recipient_is_allowed_only_when_the_probe_says_so() -> None:
    probe = {"action": "ses:SendEmail", "from": "noreply@example.com", "to": "ops@example.com"}
    with pytest.raises(ConfigError, match=r"^t\.json: probe 0: field 'to': 'to' is 'ops@example\.com', outside"):
        _one(probe)
    assert _one({**probe, "allow_real_recipients": True}).probes[0].to == "ops@example.com"  # type: ignore[attr-defined]


def test_ses_api_v2_is_accepted() -> None:
    assert _one({"action": "ses:SendEmail", "from": "a@example.com", "api": "v2"}).probes[0].api == "v2"  # type: ignore[attr-defined]


def test_settings_default_when_absent() -> None:
    assert _one({**DDB, "key": {"pk": "x"}}).settings == Settings()
    assert Settings().namespace == "PermissionCanary" and Settings().publisher == "emf"


# -- ${VAR} ------------------------------------------------------------------------------------------

def test_variable_is_filled_from_the_environment() -> None:
    cfg = _one({**DDB, "table": "listings-${STAGE}", "key": {"pk": "${KEY}"}}, env={"STAGE": "prod", "KEY": "k"})
    assert (cfg.probes[0].table, cfg.probes[0].key) == ("listings-prod", {"pk": {"S": "k"}})  # type: ignore[attr-defined]


def test_variable_default_is_used_when_the_variable_is_unset_or_empty_as_in_the_shell() -> None:
    probe = {**DDB, "table": "listings-${STAGE:-dev}", "key": {"pk": "x"}}
    assert _one(probe).probes[0].table == "listings-dev"  # type: ignore[attr-defined]
    assert _one(probe, env={"STAGE": ""}).probes[0].table == "listings-dev"  # type: ignore[attr-defined]
    assert _one(probe, env={"STAGE": "prod"}).probes[0].table == "listings-prod"  # type: ignore[attr-defined]


def test_variable_set_but_empty_without_a_default_is_used_as_is() -> None:
    assert _one({**DDB, "table": "listings${SUFFIX}", "key": {"pk": "x"}},
                env={"SUFFIX": ""}).probes[0].table == "listings"  # type: ignore[attr-defined]


def test_variable_empty_default_is_allowed() -> None:
    assert _one({**DDB, "table": "listings${SUFFIX:-}", "key": {"pk": "x"}}).probes[0].table == "listings"  # type: ignore[attr-defined]


def test_dollar_without_braces_is_left_alone() -> None:
    assert _one({**DDB, "key": {"pk": "cost$STAGE"}}).probes[0].key == {"pk": {"S": "cost$STAGE"}}  # type: ignore[attr-defined]


def test_variables_fill_top_level_settings_and_the_action_too() -> None:
    cfg = _one({"action": "${ACTION}", "table": "t-1", "key": {"pk": "x"}},
               env={"NS": "Canary/dev", "ACTION": "dynamodb:PutItem"}, namespace="${NS}")
    assert (cfg.settings.namespace, cfg.probes[0].action) == ("Canary/dev", "dynamodb:PutItem")


def test_missing_variable_at_top_level_names_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        _one({**DDB, "key": {"pk": "x"}}, namespace="${NS}")
    assert str(info.value) == ("t.json: field 'namespace': environment variable NS is not set "
                               "(used as ${NS}; set it, or give a default with ${NS:-value})")


def test_missing_variable_in_a_key_attribute_name_names_the_path() -> None:
    with pytest.raises(ConfigError) as info:
        _one({**DDB, "key": {"${PK}": "x"}})
    assert str(info.value).startswith("t.json: probe 0: field 'key.${PK}': environment variable PK is not set")


def test_variable_values_are_not_substituted_twice_and_an_unexpanded_value_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        _one({**DDB, "table": "t-${A}", "key": {"pk": "x"}}, env={"A": "${B}", "B": "oops"})
    assert str(info.value) == ("t.json: probe 0: field 'table': environment variable A is '${B}', itself an "
                               "unexpanded reference (variables are expanded once); set A to the real value")


# -- --stage: chalice's environment_variables layered as the Lambda sees them -----------------------

CHALICE = {
    "version": "2.0",
    "app_name": "listings",
    "environment_variables": {"TABLE_PREFIX": "listings", "FROM": "top@example.com", "LAYER": "top"},
    "lambda_functions": {"permission_canary": {"environment_variables": {"LAYER": "ignored-by-chalice"}}},
    "stages": {
        "dev": {"environment_variables": {"FROM": "dev@example.com", "LAYER": "stage", "RETRIES": 3},
                "lambda_functions": {
                    "permission_canary": {"environment_variables": {"LAYER": "function"}},
                    "other": {"environment_variables": {"LAYER": "other-function"}}}},
        "prod": {"environment_variables": {"STAGE": "production"}},
        "bare": {},
    },
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".chalice").mkdir()
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(CHALICE))
    return tmp_path


def test_stage_environment_layers_top_level_then_stage_then_function(project: Path) -> None:
    env = stage_environment(project, "dev")
    assert env == {"TABLE_PREFIX": "listings", "FROM": "dev@example.com", "LAYER": "function", "RETRIES": "3"}


def test_stage_environment_ignores_top_level_lambda_functions_as_chalice_does(project: Path) -> None:
    assert stage_environment(project, "bare") == {"TABLE_PREFIX": "listings", "FROM": "top@example.com",
                                                  "LAYER": "top"}


def test_stage_environment_reads_another_function_when_asked(project: Path) -> None:
    assert stage_environment(project, "dev", function="other")["LAYER"] == "other-function"


def test_unknown_stage_lists_the_stages(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        stage_environment(project, "qa")
    assert str(info.value) == f"{project / '.chalice' / 'config.json'}: no stage 'qa'; stages: bare, dev, prod"


def test_stage_needs_a_chalice_project(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        stage_environment(tmp_path, "dev")
    assert str(info.value) == (f"{tmp_path / '.chalice' / 'config.json'}: not found; --stage needs a Chalice "
                               "project (run from its directory)")


@pytest.mark.parametrize(("chalice", "message"), [
    ("{", "invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes"),
    ("[]", "field '(top)': must be an object, got a list"),
    ('{"stages": []}', "field 'stages': must be an object, got a list"),
    ('{"stages": {"dev": "x"}}', "field 'stages.dev': must be an object, got a string"),
    ('{"stages": {"dev": {"environment_variables": ["A=1"]}}}',
     "field 'stages.dev.environment_variables': must be an object, got a list"),
    ('{"stages": {"dev": {"lambda_functions": {"permission_canary": 1}}}}',
     "field 'stages.dev.lambda_functions.permission_canary': must be an object, got a number"),
])
def test_malformed_chalice_config_is_a_config_error(project: Path, chalice: str, message: str) -> None:
    path = project / ".chalice" / "config.json"
    path.write_text(chalice)
    with pytest.raises(ConfigError) as info:
        stage_environment(project, "dev")
    assert str(info.value) == f"{path}: {message}"


def test_stage_option_fills_variables_and_stage_name(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "canary.json").write_text(json.dumps({"probes": [
        {"action": "dynamodb:GetItem", "table": "${TABLE_PREFIX}-${STAGE}", "key": {"pk": "x"}},
        {"action": "ses:SendEmail", "from": "${FROM}"}]}))
    monkeypatch.chdir(project)
    monkeypatch.setenv("FROM", "shell@example.com")  # the stage's value wins over the shell's
    monkeypatch.delenv("STAGE", raising=False)
    cfg = load_cli_config(None, "dev")
    assert cfg.probes[0].table == "listings-dev"  # type: ignore[attr-defined]
    assert cfg.probes[1].sender == "dev@example.com"  # type: ignore[attr-defined]
    # A stage that defines STAGE itself keeps its own value.
    assert load_cli_config(None, "prod").probes[0].table == "listings-production"  # type: ignore[attr-defined]


def test_cli_validate_with_stage_shows_the_stage_resources(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "canary.json").write_text(json.dumps({"probes": [
        {"action": "dynamodb:UpdateItem", "table": "${TABLE_PREFIX}-${STAGE}", "key": {"pk": "x"}}]}))
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["validate", "--stage", "dev"])
    assert result.exit_code == 0, result.output
    assert "table/listings-dev" in result.stdout


def test_cli_validate_with_an_unknown_stage_exits_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "canary.json").write_text(json.dumps({"probes": [{**DDB, "key": {"pk": "x"}}]}))
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["validate", "--stage", "qa"])
    assert result.exit_code == 2
    assert result.stderr == f"error: {Path('.') / '.chalice' / 'config.json'}: no stage 'qa'; stages: bare, dev, prod\n"


# -- JSON Schema ------------------------------------------------------------------------------------

def test_json_schema_accepts_the_good_config_and_rejects_unknown_keys() -> None:
    import jsonschema
    schema = json_schema()
    good = json.loads((GOOD / "story.json").read_text())
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "namspace": "x"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"probes": [{"action": "dynamodb:GetItem", "table": "t-1", "key": {"pk": "x"},
                                         "tabel": "x"}]}, schema)


def test_cli_schema_prints_the_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(json.dumps(json_schema()))


# -- property-based: nothing but a CanaryConfig or a ConfigError ------------------------------------

SOURCE = "fuzz.json"
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
json_like = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)
FIELDS = sorted({"version", "namespace", "stage", "publisher", "per_probe_metrics", "probe_timeout_s",
                 "deadline_s", "retries", "max_workers", "probes", "id", "action", "table", "index", "key",
                 "from", "to", "api", "configuration_set", "allow_real_recipients"})
VALID_PROBES: list[dict[str, Any]] = [
    {"id": "u", "action": "dynamodb:UpdateItem", "table": "listings-${STAGE:-dev}", "key": {"pk": "x", "sk": 1}},
    {"action": "dynamodb:Query", "table": "listings", "index": "byOwner", "key": {"owner": {"S": "x"}}},
    {"action": "dynamodb:Scan", "table": "listings"},
    {"action": "ses:SendEmail", "from": "noreply@example.com", "api": "v2"},
    {"action": "ses:SendRawEmail", "from": "noreply@example.com", "to": "ops@example.com",
     "allow_real_recipients": True},
]
VALID = {"version": 1, "namespace": "PermissionCanary", "retries": 1, "probes": VALID_PROBES}
interesting_strings = st.sampled_from(["", " ", "${X}", "${X:-}", "${", "}", "$", "a@b", "a@b.c", "@",
                                       "x" * 300, "dynamodb:getitem", "ses:SendEmail", "v1", "v2", "S", "N", "B",
                                       "success@simulator.amazonses.com", "\x00", "é", "1e999"])
anything = json_like | interesting_strings | st.dictionaries(st.sampled_from(["S", "N", "B", "M"]),
                                                             json_like | interesting_strings, max_size=2)


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """A valid config with a few random edits: drop, rename, retype, or add keys anywhere."""
    data = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(1, 4))):
        target: Any = data
        if draw(st.booleans()) and isinstance(data.get("probes"), list) and data["probes"]:
            target = data["probes"][draw(st.integers(0, len(data["probes"]) - 1))]
            if isinstance(target, dict) and isinstance(target.get("key"), dict) and draw(st.booleans()):
                target = target["key"]
        if not isinstance(target, dict):
            break
        op = draw(st.sampled_from(["drop", "rename", "retype", "add"]))
        keys = sorted(target)
        if op == "add" or not keys:
            target[draw(st.sampled_from(FIELDS) | st.text(max_size=8))] = draw(anything)
            continue
        key = draw(st.sampled_from(keys))
        if op == "drop":
            del target[key]
        elif op == "rename":
            target[draw(st.sampled_from(FIELDS) | st.text(max_size=8))] = target.pop(key)
        else:
            target[key] = draw(anything)
    if draw(st.integers(0, 9)) == 0:
        data = draw(anything)
    return data


envs = st.dictionaries(st.sampled_from(["STAGE", "X", "A"]), st.text(max_size=10) | interesting_strings, max_size=3)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(data: Any, env: dict[str, str], source: str = SOURCE) -> CanaryConfig | ConfigError:
    try:
        return parse_config(data, source=source, env=env)
    except ConfigError as exc:
        return exc  # anything else propagates and fails the test, traceback and all


@FUZZ
@given(data=json_like, env=envs)
def test_arbitrary_json_is_a_config_or_a_config_error_naming_the_source(data: Any, env: dict[str, str]) -> None:
    out = _outcome(data, env)
    if isinstance(out, ConfigError):
        assert str(out).startswith(f"{SOURCE}: ")
        assert "\n" not in str(out)
    else:
        assert out.probes and out.source == SOURCE


@FUZZ
@given(data=mutated(), env=envs)
def test_mutated_valid_config_is_a_config_or_a_config_error_naming_the_source(data: Any, env: dict[str, str]) -> None:
    out = _outcome(data, env)
    if isinstance(out, ConfigError):
        assert str(out).startswith(f"{SOURCE}: ")
        assert "\n" not in str(out)
    else:
        assert len({p.probe_id for p in out.probes}) == len(out.probes)


def test_names_with_control_characters_or_quotes_stay_on_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"probes": [{"id": "a\nb", "action": "dynamodb:GetItem", "table": "t-1",
                                  "key": {"pk": "x"}, "it's\r": 1}]}, source=SOURCE, env={})
    assert str(info.value).startswith(f"{SOURCE}: probe 0 (a\\nb): field 'it\\'s\\r': unknown field")


def test_an_empty_field_name_is_reported_as_such() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"": 1, "probes": VALID_PROBES}, source=SOURCE, env={})
    assert str(info.value).startswith(f"{SOURCE}: field '': unknown field; known fields: ")


def test_the_unmutated_valid_config_is_valid() -> None:
    cfg = parse_config(VALID, source=SOURCE, env={})
    assert len(cfg.probes) == len(VALID_PROBES)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200) | st.sampled_from(["{", "[", '{"probes": [', "probes:\n  - a: [", "- -\n:",
                                                      "{\"probes\": 1e999}", "NaN", "\ufeff{}", "!!binary x",
                                                      "a: !!python/object:os.system x"]),
       suffix=st.sampled_from([".json", ".yaml", ".yml", ".txt"]))
def test_arbitrary_file_text_is_a_config_or_a_config_error_naming_the_file(text: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"canary{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            load_config(path, env={})
        except ConfigError as exc:
            assert str(exc).startswith(f"{path}: ")
            assert "\n" not in str(exc)


def test_deeply_nested_json_is_a_config_error() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "deep.json"
        path.write_text("[" * 100_000 + "]" * 100_000)
        with pytest.raises(ConfigError, match="nested too deeply"):
            load_config(path, env={})


@settings(max_examples=40, deadline=None)
@given(data=mutated())
def test_cli_validate_never_prints_a_traceback(data: Any) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "canary.json"
        path.write_text(json.dumps(data))
        result = CliRunner(env={"STAGE": None}).invoke(cli, ["validate", "--config", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stderr.startswith(f"error: {path}: ")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_environment_is_not_read_when_an_env_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE", "from-shell")
    cfg = _one({**DDB, "table": "t-${STAGE:-default}", "key": {"pk": "x"}}, env={})
    assert cfg.probes[0].table == "t-default"  # type: ignore[attr-defined]
    assert os.environ["STAGE"] == "from-shell"


# -- docs/config.md: the field tables are generated from the models -------------------------------

DOCS = Path(__file__).parent.parent / "docs" / "config.md"
BEGIN, END = "<!-- fields:begin (generated by tests/test_config.py; CANARY_UPDATE_DOCS=1 to refresh) -->", \
    "<!-- fields:end -->"
_PROBE_FIELD_DOCS = {
    "action": "The IAM action the probe proves; case-sensitive, one of the registered actions.",
    "id": "The probe's name in reports, metrics, `--probe` and the invoke payload. Default: a slug of "
          "action and resource (e.g. `dynamodb-updateitem-listings-dev`).",
    "table": "DynamoDB table name.",
    "index": "A secondary index to probe (Query, Scan); the resource becomes `table/T/index/I`.",
    "key": "The sentinel item's full primary key: plain values (`\"x\"` is S, `3` is N) or typed DynamoDB "
           "JSON (`{\"S\": \"x\"}`, `{\"N\": \"3\"}`, `{\"B\": \"<base64>\"}`). For Query, the index's key.",
    "from": "Sender: an SES identity the API sends from (verified address, or an address at a verified domain).",
    "to": "Recipient. Must be `...@simulator.amazonses.com` unless `allow_real_recipients` is true.",
    "api": "`v1` (SES `SendEmail`) or `v2` (SESv2 `SendEmail`); both authorize as `ses:SendEmail`.",
    "configuration_set": "SES configuration set to send with, if the API uses one.",
    "allow_real_recipients": "Allow a `to` outside the mailbox simulator (a real email on every run).",
}


def _schema_type(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    if "anyOf" in prop:
        return " or ".join(_schema_type(p) for p in prop["anyOf"] if p.get("type") != "null")
    kind = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
            "object": "object", "array": "list"}.get(str(prop.get("type")), "any")
    limits = []
    for k, label in (("minLength", "length ≥ {}"), ("maxLength", "length ≤ {}"), ("minimum", "≥ {}"),
                     ("exclusiveMinimum", "> {}"), ("maximum", "≤ {}"), ("minProperties", "≥ {} entries"),
                     ("maxProperties", "≤ {} entries")):
        if k in prop:
            limits.append(label.format(prop[k]))
    return kind + (f" ({', '.join(limits)})" if limits else "")


def _rows(model: Any, required: set[str], fallback: dict[str, str]) -> list[str]:
    schema = model.model_json_schema(by_alias=True)
    rows = []
    for name, prop in schema["properties"].items():
        default = "required" if name in required else f"`{json.dumps(prop.get('default'))}`"
        desc = prop.get("description") or fallback.get(name) or f"See `{model.__module__.replace('.', '/')}.py`."
        if name == "api" and prop.get("const", (prop.get("enum") or [None, None])[0]) == "v1" \
                and len(prop.get("enum", [1])) == 1:
            desc = "Only `v1`: this action exists in the SES v1 API alone."
        cell = desc.replace("|", "\\|")
        rows.append(f"| `{name}` | {_schema_type(prop)} | {default} | {cell} |")
    return rows


def render_field_tables() -> str:
    head = ["| field | type | default | meaning |", "| --- | --- | --- | --- |"]
    out = ["### Top-level settings", "", *head,
           *_rows(Settings, set(), {}),
           "| `probes` | list (≥ 1 entries) | required | The probes, each an object with an `action`. |", ""]
    by_model: dict[Any, list[str]] = {}
    for action, ptype in sorted(PROBES.items()):
        by_model.setdefault(ptype.params, []).append(action)
    for model, actions in by_model.items():
        required = set(model.model_json_schema(by_alias=True).get("required", [])) | {"action"}
        out += [f"### {', '.join(f'`{a}`' for a in actions)}", "", *head,
                *_rows(model, required, _PROBE_FIELD_DOCS if model.__module__.endswith(("dynamodb", "ses"))
                       else {k: v for k, v in _PROBE_FIELD_DOCS.items() if k in ("action", "id")}), ""]
    return "\n".join(out).rstrip() + "\n"


def test_docs_config_md_field_tables_match_the_code() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    generated = f"{BEGIN}\n{render_field_tables()}{END}"
    current = text[text.index(BEGIN):text.index(END) + len(END)]
    if current != generated and os.environ.get("CANARY_UPDATE_DOCS") == "1":
        DOCS.write_text(text.replace(current, generated), encoding="utf-8")
        current = generated
    assert current == generated, "docs/config.md is stale: run CANARY_UPDATE_DOCS=1 pytest tests/test_config.py -k docs"


# -- issue 11: what the stricter rules still accept, and hostile shapes -----------------------------

def test_values_aws_accepts_are_accepted() -> None:
    cfg = parse_config({"namespace": "My App/Canary #1:dev", "stage": "dev-1", "probes": [
        {"id": "svc:get/a@b+c=d_e.f", "action": "dynamodb:Query", "table": "a.b_c-1", "index": "by_owner.v2",
         "key": {"pk": {"N": "-1.5e-130"}, "sk": {"B": "AAEC"}}},
        {"action": "dynamodb:GetItem", "table": "t-1", "key": {"pk": int("1" + "0" * 125), "sk": {"N": "0"}}},
        {"action": "dynamodb:GetItem", "table": "t-2", "key": {"pk": {"N": "12345678901234567890123456789012345678"}}},
        {"action": "ses:SendEmail", "from": "noreply@example.com",
         "to": "Success <success@simulator.amazonses.com>, bounce@SIMULATOR.amazonses.com"},
    ]}, source=SOURCE, env={})
    assert cfg.settings.namespace == "My App/Canary #1:dev"
    assert cfg.probes[1].key["pk"] == {"N": "1" + "0" * 125}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("value", "marker"), [
    ("__FILL_ME__table", "__FILL_ME__"), ("__todo__", "__todo__"), ("x-<FILL ME>", "<FILL ME>"),
    ("<your-table>", "<your-table>"), ("{{ table }}", "{{ table }}"), ("TODO", "TODO"), ("CHANGE_ME", "CHANGE_ME"),
    (" XXX ", "XXX"), ("REPLACEME", "REPLACEME"), ("<todo: the table>", "<todo: the table>"),
])
def test_placeholders_are_recognised(value: str, marker: str) -> None:
    from canary._validators import placeholder

    assert placeholder(value) == marker


@pytest.mark.parametrize("value", ["__permission_canary__", "todo-list", "todo", "todos", "fixme-app", "x",
                                   "changeme-dev", "<b>", "a__TODO", "Tbd", "noreply@example.com"])
def test_ordinary_values_are_not_placeholders(value: str) -> None:
    from canary._validators import placeholder

    assert placeholder(value) is None


def test_a_placeholder_in_a_top_level_setting_names_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        _one({**DDB, "key": {"pk": "x"}}, namespace="${NS:-__FILL_ME__}")
    assert str(info.value) == ("t.json: field 'namespace': '__FILL_ME__' is a placeholder ('__FILL_ME__'); "
                               "replace it with the real value")


def test_yaml_true_false_are_booleans_and_yes_no_on_off_are_strings(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("per_probe_metrics: True\nprobes:\n  - action: dynamodb:GetItem\n    table: t-1\n"
                    "    key: {pk: no, sk: on}\n")
    cfg = load_config(path, env={})
    assert cfg.settings.per_probe_metrics is True
    assert cfg.probes[0].key == {"pk": {"S": "no"}, "sk": {"S": "on"}}  # type: ignore[attr-defined]


def test_yaml_anchors_aliases_and_merge_keys_used_as_people_do_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("probes:\n  - &base {action: dynamodb:GetItem, table: t-1, id: one, "
                    "key: &k {pk: __permission_canary__}}\n  - <<: *base\n    id: two\n    table: t-2\n"
                    "  - {action: dynamodb:PutItem, table: t-1, key: *k}\n")
    cfg = load_config(path, env={})
    assert [p.probe_id for p in cfg.probes] == ["one", "two", "dynamodb-putitem-t-1"]
    assert cfg.probes[1].table == "t-2"  # type: ignore[attr-defined]


def test_cyclic_or_huge_python_data_is_a_config_error_not_a_recursion() -> None:
    cyclic: dict[str, Any] = {"probes": []}
    cyclic["probes"].append(cyclic)
    with pytest.raises(ConfigError, match=r"^t\.json: nested too deeply \(more than 32 levels"):
        parse_config(cyclic, source="t.json", env={})
    wide: list[Any] = ["x"] * 10
    for _ in range(6):
        wide = [wide] * 10  # a million values by reference, as a YAML alias bomb would build
    with pytest.raises(ConfigError, match=r"^t\.json: more than 100000 values"):
        parse_config({"probes": wide}, source="t.json", env={})


def test_schema_carries_the_namespace_rules() -> None:
    import jsonschema

    schema = json_schema()
    good = json.loads((GOOD / "story.json").read_text())
    jsonschema.validate({**good, "namespace": "My App/Canary"}, schema)
    for bad in ("AWS/Lambda", ":x", " x", "x\n", "é"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**good, "namespace": bad}, schema)


def test_schema_carries_the_table_and_id_rules_and_lets_variables_stand_in() -> None:
    import jsonschema

    schema = json_schema()
    written = {"namespace": "${NS:-Canary}", "probes": [
        {"id": "q-${STAGE}", "action": "dynamodb:Query", "table": "listings-${STAGE}", "index": "by_${I:-owner}",
         "key": {"pk": "x"}}]}
    jsonschema.validate(written, schema)
    for bad in ({"table": "listings dev"}, {"table": "a/b"}, {"index": "by owner"}, {"id": "[bold]"},
                {"key": {"": "x"}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"probes": [{**written["probes"][0], **bad}]}, schema)


YAML_PIECES = st.sampled_from([
    "a: &a [x, y]\n", "b: &b [*a, *a, *a]\n", "c: &c [*b, *b, *b, *b]\n", "d: &d [*d]\n", "e: &e {k: *e}\n",
    "- *a\n", "- &f [*f]\n", "probes:\n", "  - action: dynamodb:Scan\n", "    table: listings\n",
    "    table: listings\n", "  - <<: *a\n", "  - {<<: [*a, *b]}\n", "retries: " + "9" * 200 + "\n",
    "x: " + "[" * 40 + "]" * 40 + "\n", "? [a, b]\n: c\n", "k: !!binary AAEC\n", "t: 2001-13-45\n",
    "t: !!timestamp 2001-13-45\n", "f: !!float nan\n", "i: !!int 0x\n", "*zz\n", "&\n", "y: yes\n",
])


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(YAML_PIECES, min_size=1, max_size=8))
def test_yaml_with_anchors_aliases_and_tags_is_a_config_or_a_config_error(pieces: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "canary.yaml"
        path.write_text("".join(pieces), encoding="utf-8")
        try:
            load_config(path, env={})
        except ConfigError as exc:
            assert str(exc).startswith(f"{path}: ")
            assert "\n" not in str(exc)


@pytest.mark.parametrize(("chalice", "message"), [
    ('{"stages": {"dev": {"environment_variables": {"N": ' + "9" * 5000 + "}}}}",
     "invalid JSON: a number of 5000 digits is too long (at most 128)"),
    ("[" * 100_000 + "]" * 100_000, "invalid JSON: nested too deeply"),
])
def test_hostile_chalice_config_is_one_line(project: Path, chalice: str, message: str) -> None:
    path = project / ".chalice" / "config.json"
    path.write_text(chalice)
    with pytest.raises(ConfigError) as info:
        stage_environment(project, "dev")
    assert str(info.value) == f"{path}: {message}"


JSON_PIECES = st.sampled_from([
    '{"probes": [', "{", "}", "[", "]", ",", '"a": ', '"probes": ', "9" * 5000, "-" + "9" * 200, "1e999", "NaN",
    "-Infinity", "true", "null", '"x"', '"${X"', '"__FILL_ME__"', '{"action": "dynamodb:Scan", "table": "t-1"}',
    '{"action": "dynamodb:GetItem", "table": "t-1", "key": {"pk": ', "[" * 40, "]" * 40, '"\\ud800"', '"a": 1, "a": 2',
])


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(JSON_PIECES, min_size=1, max_size=10))
def test_json_built_from_hostile_pieces_is_a_config_or_a_config_error(pieces: list[str]) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "canary.json"
        path.write_text("".join(pieces), encoding="utf-8")
        try:
            load_config(path, env={})
        except ConfigError as exc:
            assert str(exc).startswith(f"{path}: ")
            assert "\n" not in str(exc)
