"""The probe config: loaded from JSON or YAML, `${VAR}` filled from the environment, validated once.

Every error is a `ConfigError` whose message names the file, the probe (index and id) and the
field, so that both a person and the CLI (exit 2) can act on it without a traceback.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from canary.errors import ConfigError
from canary.probes import PROBES, ProbeParams

__all__ = ["CanaryConfig", "Settings", "load_config", "parse_config", "stage_environment", "json_schema",
           "DEFAULT_NAMESPACE"]

DEFAULT_NAMESPACE = "PermissionCanary"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class Settings(BaseModel):
    """Top-level settings: everything in the config except the probes."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    version: Literal[1] = Field(1, description="Config format version; only 1 exists.")
    namespace: str = Field(DEFAULT_NAMESPACE, min_length=1, max_length=255, pattern=r"^[^:][^\s]*$",
                           description="CloudWatch namespace of the metrics (and of the alarms that watch them).")
    stage: str | None = Field(None, min_length=1, max_length=128,
                              description="Stage name for the report and the `Stage` metric dimension when the CLI "
                                          "runs without `--stage` (the Lambda uses CANARY_STAGE or STAGE).")
    publisher: Literal["emf", "put_metric_data"] = Field(
        "emf", description="`emf`: CloudWatch Embedded Metric Format on stdout, needs no permission. "
                           "`put_metric_data`: the API call, needs cloudwatch:PutMetricData.")
    per_probe_metrics: bool = Field(False, description="Also publish `ProbeAllowed` (0/1) per probe; each one is "
                                                       "a custom metric, billed monthly.")
    probe_timeout_s: float = Field(5.0, gt=0, le=60, description="Connect and read timeout of one probe call, "
                                                                 "in seconds.")
    deadline_s: float = Field(60.0, gt=0, le=900, description="The whole run's deadline, in seconds; a probe "
                                                              "still unanswered then is a transient ERROR.")
    retries: int = Field(2, ge=0, le=5, description="Retries of a transient failure (throttling, 5xx, timeout), "
                                                    "with jittered backoff; never for a denial.")
    max_workers: int = Field(8, ge=1, le=64, description="Probes run concurrently on up to this many threads.")


@dataclass(frozen=True)
class CanaryConfig:
    """A validated config: trusted from here on."""

    settings: Settings
    probes: tuple[ProbeParams, ...]
    source: str = "<config>"

    def select(self, ids: list[str] | None) -> "CanaryConfig":
        """Keep only the probes named in `ids` (unknown ids are a ConfigError)."""
        if not ids:
            return self
        known = {p.probe_id for p in self.probes}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ConfigError(f"{self.source}: unknown probe id(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        wanted = set(ids)
        return CanaryConfig(self.settings, tuple(p for p in self.probes if p.probe_id in wanted), self.source)


def _safe(name: Any) -> str:
    """Show a name from the config on one line: escape quotes and control characters."""
    text = str(name)
    if text.isprintable() and "'" not in text:
        return text
    return json.dumps(text)[1:-1].replace("'", "\\'")


def _where(source: str, index: int | None, probe_id: str | None) -> str:
    if index is None:
        return source
    return f"{source}: probe {index}" + (f" ({_safe(probe_id)})" if probe_id else "")


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    parts = [_safe(x) for x in loc if not (isinstance(x, str) and x in ("function-after", "model"))]
    return ".".join(parts)


_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
               bool: "a boolean", type(None): "null"}
# Validators that check several fields at once report no location; their messages start with the
# field they are about (e.g. ses.py: "'to' is ...").
_LEADING_FIELD = re.compile(r"^'(?P<field>[A-Za-z_][A-Za-z0-9_]*)' ")
_FRIENDLY = {
    "from": "must be an email address (the API's verified SES identity, e.g. noreply@example.com)",
    "to": "must be an email address",
}


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _got(value: Any) -> str:
    """Show the offending value briefly (config values are not secret; long ones are cut)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return json.dumps(value)  # as written in the file: true / false
    if isinstance(value, (dict, list)):
        text = json.dumps(value, default=str)
        return text if len(text) <= 60 else _type_name(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(err: dict[str, Any], model: type[BaseModel], data: Any) -> tuple[str, str]:
    """Turn pydantic's first error into (field, message) in the config's own words."""
    loc = tuple(err.get("loc", ()))
    field = _fmt_loc(loc)
    kind = str(err.get("type", ""))
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    value = err.get("input")
    if not loc:
        m = _LEADING_FIELD.match(msg)
        field = m.group("field") if m else "(probe)"
    if kind == "extra_forbidden" and len(loc) == 1:
        known = sorted((f.alias or name) for name, f in model.model_fields.items())
        import difflib

        close = difflib.get_close_matches(str(loc[0]), known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return field, f"unknown field{hint}; known fields: {', '.join(known)}"
    if kind == "missing":
        return field, "required"
    from canary.probes.dynamodb import DynamoKeyProbe, dynamo_key

    dynamo_keyed = isinstance(model, type) and issubclass(model, DynamoKeyProbe)
    if dynamo_keyed and field == "key" and kind in ("too_short", "too_long") and isinstance(value, dict):
        return field, ("must name the item's full primary key: 1 or 2 attributes (the partition key, and the "
                       f"sort key if the table has one), got {len(value)}")
    if kind == "string_pattern_mismatch" and field in _FRIENDLY:
        return field, f"{_FRIENDLY[field]}, got {_got(value)}"
    if dynamo_keyed and field == "key" and kind == "value_error" and isinstance(data, dict) \
            and isinstance(data.get("key"), dict):
        # The key validator sees the whole mapping; name the attribute whose value is wrong.
        for name, val in data["key"].items():
            try:
                dynamo_key(val)
            except ValueError:
                return f"key.{_safe(name)}", f"{msg}, got {_got(val)}"
    if kind.endswith("_type") or kind.endswith("_parsing") or kind in (
            "literal_error", "enum", "string_too_short", "string_too_long", "greater_than", "less_than_equal",
            "greater_than_equal", "less_than", "string_pattern_mismatch", "too_short", "too_long"):
        return field, f"{msg}, got {_got(value)}"
    return field, msg


def _substitute(value: Any, env: Mapping[str, str], where: str, path: str) -> Any:
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if default is not None and not env.get(name):  # as in the shell: unset or empty
                return default
            if name in env:
                return env[name]
            raise ConfigError(f"{where}: field '{path or '(top)'}': environment variable {name} is not set "
                              f"(used as ${{{name}}}; set it, or give a default with ${{{name}:-value}})")
        return _VAR.sub(repl, value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: field '{path or '(top)'}': a number must be finite, got {value!r}")
    if isinstance(value, list):
        return [_substitute(v, env, where, f"{path}.{i}" if path else str(i)) for i, v in enumerate(value)]
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            sub = f"{path}.{_safe(k)}" if path else _safe(k)
            out[_substitute(k, env, where, sub)] = _substitute(v, env, where, sub)
        return out
    return value


def _probe(raw: Any, index: int, source: str, env: Mapping[str, str]) -> ProbeParams:
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(source, index, None)}: must be an object, got {_type_name(raw)}")
    raw_id = raw.get("id")
    where = _where(source, index, raw_id if isinstance(raw_id, str) and raw_id.strip() else None)
    data = _substitute(raw, env, where, "")
    rid = data.get("id")
    if isinstance(rid, str):
        if not rid.strip():
            raise ConfigError(f"{where}: field 'id': must not be empty (leave it out for the default id)")
        where = _where(source, index, rid.strip())
    action = data.get("action")
    if action is None:
        raise ConfigError(f"{where}: field 'action': required; one of {', '.join(sorted(PROBES))}")
    if not isinstance(action, str):
        raise ConfigError(f"{where}: field 'action': must be a string naming an IAM action "
                          f"(e.g. \"dynamodb:UpdateItem\"), got {_got(action)}")
    if action not in PROBES:
        close = [a for a in PROBES if a.lower() == action.strip().lower()]
        hint = f" (did you mean {close[0]}? IAM action names are case-sensitive here)" if close else ""
        raise ConfigError(f"{where}: field 'action': {action!r} has no probe{hint}; "
                          f"known: {', '.join(sorted(PROBES))}")
    model = PROBES[action].params
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # An unknown field is usually the cause of a "required" one (a typo), so report it first.
        errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
        field, message = _describe(errors[0], model, data)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{where}: field '{field}': {message}{more}") from None


def parse_config(data: Any, *, source: str = "<config>", env: Mapping[str, str] | None = None) -> CanaryConfig:
    """Validate already-parsed config data; raise ConfigError naming file, probe and field."""
    env = os.environ if env is None else env
    if not isinstance(data, dict):
        got = "nothing (is the file empty?)" if data is None else _type_name(data)
        raise ConfigError(f"{source}: the config must be an object with a 'probes' list, got {got}")
    top = {k: v for k, v in data.items() if k != "probes"}
    try:
        settings = Settings.model_validate(_substitute(top, env, source, ""))
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
        field, message = _describe(errors[0], _SettingsWithProbes, top)
        raise ConfigError(f"{source}: field '{field}': {message}") from None
    if "probes" not in data:
        raise ConfigError(f"{source}: field 'probes': required: a list of probes, each with an \"action\"")
    raw_probes = data["probes"]
    if not isinstance(raw_probes, list):
        raise ConfigError(f"{source}: field 'probes': must be a list of probes, got {_type_name(raw_probes)}")
    if not raw_probes:
        raise ConfigError(f"{source}: field 'probes': must not be empty; a canary with no probes proves nothing")
    probes = tuple(_probe(raw, i, source, env) for i, raw in enumerate(raw_probes))
    seen: dict[str, int] = {}
    for i, p in enumerate(probes):
        if p.probe_id in seen:
            raise ConfigError(f"{_where(source, i, p.probe_id)}: field 'id': duplicate of probe {seen[p.probe_id]}; "
                              "give each probe a distinct \"id\"")
        seen[p.probe_id] = i
    return CanaryConfig(settings=settings, probes=probes, source=source)


class _SettingsWithProbes(Settings):
    """Settings plus `probes`: only used to list the known top-level fields in error messages."""

    probes: list[Any] = []


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r} in one object")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # only YAML users pay for it

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
            if isinstance(exc, yaml.reader.ReaderError):  # a character YAML refuses: it knows the offset only
                before = text[:exc.position]
                line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
            at = f" at line {line}, column {col}" if line else ""
            problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unreadable"])[0]
            raise ConfigError(f"{path}: invalid YAML{at}: {problem}") from None
        except RecursionError:
            raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: invalid JSON: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid JSON: nested too deeply") from None


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> CanaryConfig:
    """Load, fill `${VAR}` and validate a probe config file."""
    p = Path(path)
    return parse_config(_read(p), source=str(path), env=env)


def stage_environment(project_dir: str | os.PathLike[str], stage: str,
                      function: str = "permission_canary") -> dict[str, str]:
    """The environment variables chalice gives `function` in `stage` (top level, stage, function).

    Later layers win, as in chalice: top-level `environment_variables`, then the stage's, then
    `stages.<stage>.lambda_functions.<function>.environment_variables`.
    """
    cfg_path = Path(project_dir) / ".chalice" / "config.json"
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{cfg_path}: not found; --stage needs a Chalice project (run from its directory)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{cfg_path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{cfg_path}: cannot read: {exc}") from None

    def obj(value: Any, field: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{cfg_path}: field '{field}': must be an object, got {_type_name(value)}")
        return value

    stages = obj(obj(cfg, "(top)").get("stages"), "stages")
    if stage not in stages:
        raise ConfigError(f"{cfg_path}: no stage {stage!r}; stages: {', '.join(sorted(stages)) or '(none)'}")
    st = obj(stages[stage], f"stages.{stage}")
    fn_field = f"stages.{stage}.lambda_functions"
    fn = obj(obj(st.get("lambda_functions"), fn_field).get(function), f"{fn_field}.{function}")
    env: dict[str, str] = {}
    for field, layer in (("environment_variables", cfg.get("environment_variables")),
                         (f"stages.{stage}.environment_variables", st.get("environment_variables")),
                         (f"{fn_field}.{function}.environment_variables", fn.get("environment_variables"))):
        for k, v in obj(layer, field).items():
            env[str(k)] = v if isinstance(v, str) else json.dumps(v) if isinstance(v, (bool, type(None))) else str(v)
    return env


def json_schema() -> dict[str, Any]:
    """A JSON Schema for the config file, built from the same models that validate it."""
    probe_schemas = []
    defs: dict[str, Any] = {}
    for action, ptype in sorted(PROBES.items()):
        schema = ptype.params.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        schema["properties"]["action"] = {"const": action}
        schema["required"] = sorted(set(schema.get("required", [])) | {"action"})
        schema["title"] = action
        probe_schemas.append(schema)
    settings = Settings.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "chalice-permission-canary probe config",
        "type": "object",
        "additionalProperties": False,
        "required": ["probes"],
        "properties": {**settings["properties"],
                       "probes": {"type": "array", "minItems": 1, "items": {"oneOf": probe_schemas}}},
        **({"$defs": defs} if defs else {}),
    }
