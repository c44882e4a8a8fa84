"""The probe config: loaded from JSON or YAML, `${VAR}` filled from the environment, validated once.

Every error is a `ConfigError` whose message names the file, the probe (index and id) and the
field, so that both a person and the CLI (exit 2) can act on it without a traceback.
"""

from __future__ import annotations

import json
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

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    namespace: str = Field(DEFAULT_NAMESPACE, min_length=1, max_length=255, pattern=r"^[^:][^\s]*$")
    stage: str | None = Field(None, min_length=1, max_length=128)
    publisher: Literal["emf", "put_metric_data"] = "emf"
    per_probe_metrics: bool = False
    probe_timeout_s: float = Field(5.0, gt=0, le=60)
    deadline_s: float = Field(60.0, gt=0, le=900)
    retries: int = Field(2, ge=0, le=5)
    max_workers: int = Field(8, ge=1, le=64)


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


def _where(source: str, index: int | None, probe_id: str | None) -> str:
    if index is None:
        return source
    return f"{source}: probe {index}" + (f" ({probe_id})" if probe_id else "")


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    parts = [str(x) for x in loc if not (isinstance(x, str) and x in ("function-after", "model"))]
    return ".".join(parts)


def _pydantic_message(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _substitute(value: Any, env: Mapping[str, str], where: str, path: str) -> Any:
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(f"{where}: field '{path}': environment variable {name} is not set "
                              f"(used as ${{{name}}}; set it, or give a default with ${{{name}:-value}})")
        return _VAR.sub(repl, value)
    if isinstance(value, list):
        return [_substitute(v, env, where, f"{path}.{i}") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _substitute(v, env, where, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    return value


def _probe(raw: Any, index: int, source: str, env: Mapping[str, str]) -> ProbeParams:
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(source, index, None)}: must be an object, got {type(raw).__name__}")
    rid = raw.get("id") if isinstance(raw.get("id"), str) else None
    where = _where(source, index, rid)
    action = raw.get("action")
    if action is None:
        raise ConfigError(f"{where}: field 'action': required; one of {', '.join(sorted(PROBES))}")
    if not isinstance(action, str) or action not in PROBES:
        hint = ""
        if isinstance(action, str):
            close = [a for a in PROBES if a.lower() == action.lower()]
            hint = f" (did you mean {close[0]}? IAM action names are case-sensitive here)" if close else ""
        raise ConfigError(f"{where}: field 'action': {action!r} has no probe{hint}; "
                          f"known: {', '.join(sorted(PROBES))}")
    data = _substitute(raw, env, where, "")
    try:
        return PROBES[action].params.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _fmt_loc(first.get("loc", ())) or "(probe)"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{where}: field '{field}': {_pydantic_message(first)}{more}") from None


def parse_config(data: Any, *, source: str = "<config>", env: Mapping[str, str] | None = None) -> CanaryConfig:
    """Validate already-parsed config data; raise ConfigError naming file, probe and field."""
    env = os.environ if env is None else env
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be an object with a 'probes' list, got {type(data).__name__}")
    top = {k: v for k, v in data.items() if k != "probes"}
    try:
        settings = Settings.model_validate(_substitute(top, env, source, ""))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"{source}: field '{_fmt_loc(first.get('loc', ()))}': {_pydantic_message(first)}") from None
    raw_probes = data.get("probes")
    if not isinstance(raw_probes, list) or not raw_probes:
        raise ConfigError(f"{source}: field 'probes': must be a non-empty list of probes")
    probes = tuple(_probe(raw, i, source, env) for i, raw in enumerate(raw_probes))
    seen: dict[str, int] = {}
    for i, p in enumerate(probes):
        if p.probe_id in seen:
            raise ConfigError(f"{_where(source, i, p.probe_id)}: field 'id': duplicate of probe {seen[p.probe_id]}; "
                              "give each probe a distinct \"id\"")
        seen[p.probe_id] = i
    return CanaryConfig(settings=settings, probes=probes, source=source)


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
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
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(f"{path}: invalid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> CanaryConfig:
    """Load, fill `${VAR}` and validate a probe config file."""
    p = Path(path)
    return parse_config(_read(p), source=str(path), env=env)


def stage_environment(project_dir: str | os.PathLike[str], stage: str,
                      function: str = "permission_canary") -> dict[str, str]:
    """The environment variables chalice gives `function` in `stage` (top level, stage, function)."""
    cfg_path = Path(project_dir) / ".chalice" / "config.json"
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{cfg_path}: not found; --stage needs a Chalice project (run from its directory)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{cfg_path}: cannot read: {exc}") from None
    stages = cfg.get("stages") or {}
    if stage not in stages:
        raise ConfigError(f"{cfg_path}: no stage {stage!r}; stages: {', '.join(sorted(stages)) or '(none)'}")
    env: dict[str, str] = {}
    st = stages[stage] or {}
    for layer in (cfg.get("environment_variables"), st.get("environment_variables"),
                  ((st.get("lambda_functions") or {}).get(function) or {}).get("environment_variables")):
        for k, v in (layer or {}).items():
            env[str(k)] = str(v)
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
