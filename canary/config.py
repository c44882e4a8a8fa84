"""The probe config: loaded from JSON or YAML, `${VAR}` filled from the environment, validated once.

Every error is a `ConfigError` whose message names the file, the probe (index and id) and the
field, so that both a person and the CLI (exit 2) can act on it without a traceback.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from canary._validators import (CloudWatchNamespace, DimensionValue, dynamo_key_name, dynamo_key_value, dynamo_name,
                                placeholder, probe_id, ses_recipients)
from canary.errors import ConfigError
from canary.probes import PROBES, ProbeParams

__all__ = ["CanaryConfig", "Settings", "load_config", "parse_config", "stage_environment", "json_schema",
           "DEFAULT_NAMESPACE"]

DEFAULT_NAMESPACE = "PermissionCanary"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Hostile-input bounds. A real probe config is a few KiB, nested 5 deep, with a few hundred values.
MAX_BYTES = 1 << 20            # the file, read before parsing
MAX_VALUES = 100_000           # values after YAML aliases are expanded
MAX_DEPTH = 32                 # nesting of objects and lists
MAX_DIGITS = 128               # an integer literal (a DynamoDB number may be 1 followed by 125 zeros)


class Settings(BaseModel):
    """Top-level settings: everything in the config except the probes."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    version: Literal[1] = Field(1, description="Config format version; only 1 exists.")
    namespace: CloudWatchNamespace = Field(
        DEFAULT_NAMESPACE, min_length=1, max_length=255,
        description="CloudWatch namespace of the metrics (and of the alarms that watch them): letters, digits, "
                    "`. - _ / # :` and inner spaces, not starting with `:` or `AWS/`.")
    stage: DimensionValue | None = Field(None, min_length=1, max_length=128,
                              description="Stage name for the report and the `Stage` metric dimension when the CLI "
                                          "runs without `--stage` (the Lambda uses CANARY_STAGE or STAGE).")
    publisher: Literal["emf", "put_metric_data"] = Field(
        "emf", description="`emf`: CloudWatch Embedded Metric Format on stdout, needs no permission. "
                           "`put_metric_data`: the API call, needs cloudwatch:PutMetricData.")
    per_probe_metrics: bool = Field(False, description="Also publish `ProbeAllowed` (0/1) per probe; each one is "
                                                       "a custom metric, billed monthly.")
    probe_timeout_s: float = Field(5.0, gt=0, le=60, strict=True, description="Connect and read timeout of one probe call, "
                                                                 "in seconds; an attempt still unanswered after "
                                                                 "twice this is abandoned (a transient ERROR).")
    deadline_s: float = Field(60.0, gt=0, le=900, strict=True, description="The whole run's deadline, in seconds; a probe "
                                                              "still unanswered then is a transient ERROR.")
    retries: int = Field(2, ge=0, le=5, strict=True, description="Retries of a transient failure (throttling, 5xx, timeout), "
                                                    "with jittered backoff; never for a denial.")
    max_workers: int = Field(32, ge=1, le=64, strict=True, description="Probes run concurrently on up to this many threads.")


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


def _short(name: Any) -> str:
    """`_safe`, cut to 60 characters: a message names a thing, it need not spell out a long one."""
    text = _safe(name)
    return text if len(text) <= 60 else text[:57] + "..."


def _where(source: str, index: int | None, probe_id: str | None) -> str:
    if index is None:
        return source
    return f"{source}: probe {index}" + (f" ({_short(probe_id)})" if probe_id else "")


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
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return "a number too long to show"
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
    """Fill `${VAR}` in every string (keys too); refuse what is left unfilled and placeholders."""
    if isinstance(value, str):
        at = f"{where}: field '{path or '(top)'}'"
        if "${" in _VAR.sub("", value):
            raise ConfigError(f"{at}: {_got(value)} holds a '${{' that is not a variable reference; write ${{NAME}} "
                              "or ${NAME:-default} (NAME: letters, digits and '_', not starting with a digit)")

        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if default is not None and not env.get(name):  # as in the shell: unset or empty
                return default
            if name in env:
                if "${" in env[name]:
                    raise ConfigError(f"{at}: environment variable {name} is {_got(env[name])}, itself an unexpanded "
                                      f"reference (variables are expanded once); set {name} to the real value")
                return env[name]
            raise ConfigError(f"{at}: environment variable {name} is not set "
                              f"(used as ${{{name}}}; set it, or give a default with ${{{name}:-value}})")
        filled = _VAR.sub(repl, value)
        if "${" in filled:
            raise ConfigError(f"{at}: {_got(filled)} still holds '${{' after substitution (a default is not expanded "
                              "again); give the real value")
        marker = placeholder(filled)
        if marker is not None:
            raise ConfigError(f"{at}: {_got(filled)} is a placeholder ({marker!r}); replace it with the real value")
        return filled
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
        probe = model.model_validate(data)
        _strict_types(model, data)
    except ValidationError as exc:
        # An unknown field is usually the cause of a "required" one (a typo), so report it first.
        errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
        field, message = _describe(errors[0], model, data)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{where}: field '{field}': {message}{more}") from None
    except _FieldError as exc:
        raise ConfigError(f"{where}: field '{exc.field}': {exc}") from None
    _aws_rules(probe, where)
    return probe


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _scalar_kind(annotation: Any) -> Any:
    """`bool`, `int` or `float` when a field holds one of them (optionally None); else None."""
    args = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
        else (annotation,)
    kinds = [a for a in args if a is not type(None)]
    return kinds[0] if len(kinds) == 1 and kinds[0] in (bool, int, float) else None


def _strict_types(model: type[BaseModel], data: dict[Any, Any]) -> None:
    """Booleans only as JSON/YAML true/false, and never a boolean where a number goes (pydantic's lax
    mode would take "y", 1 or "true" as true, and true as 1)."""
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in data or data[key] is None:
            continue
        kind, value = _scalar_kind(info.annotation), data[key]
        if kind is bool and not isinstance(value, bool):
            raise _FieldError(key, f"must be true or false (a JSON or YAML boolean, unquoted), got {_got(value)}")
        if kind in (int, float) and isinstance(value, bool):
            raise _FieldError(key, f"must be a number, got {_got(value)}")


def _aws_rules(probe: ProbeParams, where: str) -> None:
    """Refuse, before any call, values AWS itself would refuse (its documented naming and value rules)."""
    from canary.probes.dynamodb import DynamoKeyProbe, DynamoTableProbe
    from canary.probes.ses import SesSendProbe

    checks: list[tuple[str, Callable[[], Any], Any]] = []
    if isinstance(probe, DynamoTableProbe):
        checks.append(("table", lambda: dynamo_name(probe.table), None))
        if probe.index is not None:
            index = probe.index
            checks.append(("index", lambda: dynamo_name(index, "index"), None))
    if isinstance(probe, DynamoKeyProbe):
        for name, typed in probe.key.items():
            checks.append((f"key.{_short(name)}", functools.partial(dynamo_key_name, name), None))
            checks.append((f"key.{_short(name)}", functools.partial(dynamo_key_value, typed), typed))
    if isinstance(probe, SesSendProbe):
        checks.append(("to", lambda: ses_recipients(probe.to, probe.allow_real_recipients), None))
    checks.append(("id", lambda: probe_id(probe.probe_id), None))
    for field, check, shown in checks:
        try:
            check()
        except ValueError as exc:
            got = "" if shown is None else f", got {_got(shown)}"
            raise ConfigError(f"{where}: field '{field}': {exc}{got}") from None


def parse_config(data: Any, *, source: str = "<config>", env: Mapping[str, str] | None = None) -> CanaryConfig:
    """Validate already-parsed config data; raise ConfigError naming file, probe and field."""
    env = os.environ if env is None else env
    if not isinstance(data, dict):
        got = "nothing (is the file empty?)" if data is None else _type_name(data)
        raise ConfigError(f"{source}: the config must be an object with a 'probes' list, got {got}")
    _check_shape(data, source)
    top = {k: v for k, v in data.items() if k != "probes"}
    try:
        filled = _substitute(top, env, source, "")
        settings = Settings.model_validate(filled)
        _strict_types(Settings, filled)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
        field, message = _describe(errors[0], _SettingsWithProbes, top)
        raise ConfigError(f"{source}: field '{field}': {message}") from None
    except _FieldError as exc:
        raise ConfigError(f"{source}: field '{exc.field}': {exc}") from None
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


def _check_shape(data: Any, source: str) -> None:
    """Bound nesting and size of already-parsed data (whatever parsed it), without recursion."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ConfigError(f"{source}: more than {MAX_VALUES} values; a probe config needs far fewer")
        if depth > MAX_DEPTH:
            raise ConfigError(f"{source}: nested too deeply (more than {MAX_DEPTH} levels; a probe config needs 5)")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, depth + 1) for v in value)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r} in one object")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise ValueError(f"a number of {digits} digits is too long (at most {MAX_DIGITS})")
    return int(text)


@functools.lru_cache(maxsize=1)
def _yaml_loader() -> Any:
    """PyYAML's SafeLoader, bounded: aliases may not recurse or expand past MAX_VALUES values, nesting
    stops at MAX_DEPTH, a key may not repeat, integers stop at MAX_DIGITS digits, and only
    true/false (YAML 1.2) are booleans: `yes`, `no`, `on`, `off` and `y` stay strings."""
    import yaml
    from yaml.composer import ComposerError
    from yaml.constructor import ConstructorError

    class BoundedLoader(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._seen: dict[int, tuple[int, int]] = {}  # id(node) -> (values under it, levels under it)
            self._total = 0
            self._depth = 0
            self._reach = 0

        def _grow(self, values: int, reach: int, mark: Any) -> None:
            self._total += values
            self._reach = max(self._reach, reach)
            if self._total > MAX_VALUES:
                raise ComposerError(None, None, f"more than {MAX_VALUES} values once aliases are expanded "
                                                "(an alias bomb?)", mark)
            if reach > MAX_DEPTH:
                raise ComposerError(None, None, f"nested too deeply (more than {MAX_DEPTH} levels)", mark)

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                target = self.anchors.get(event.anchor)
                if target is not None:  # an undefined alias: PyYAML's own error
                    seen = self._seen.get(id(target))
                    if seen is None:
                        raise ComposerError(None, None, f"alias *{event.anchor} is used inside its own anchor "
                                                        "(a recursive alias)", event.start_mark)
                    self._grow(seen[0], self._depth + seen[1], event.start_mark)
                return super().compose_node(parent, index)
            self._depth += 1
            mark = self.peek_event().start_mark
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested too deeply (more than {MAX_DEPTH} levels)", mark)
            start, outer, self._reach = self._total, self._reach, self._depth
            node = super().compose_node(parent, index)
            self._seen[id(node)] = (self._total - start + 1, self._reach - self._depth + 1)
            self._depth -= 1
            self._reach = max(outer, self._reach)
            self._grow(1, self._reach, mark)
            return node

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                keys: set[Any] = set()
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                        continue
                    key = self.construct_object(key_node)
                    if key in keys:
                        raise ConstructorError("while constructing a mapping", node.start_mark,
                                               f"found duplicate key {key!r}", key_node.start_mark)
                    keys.add(key)
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node: Any) -> Any:
            digits = sum(c.isalnum() for c in str(node.value))
            if digits > MAX_DIGITS:
                raise ConstructorError(None, None, f"a number of {digits} digits is too long (at most {MAX_DIGITS})",
                                       node.start_mark)
            return super().construct_yaml_int(node)

    bool_tag = "tag:yaml.org,2002:bool"
    BoundedLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != bool_tag]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    BoundedLoader.add_implicit_resolver(bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                        list("tTfF"))
    BoundedLoader.add_constructor("tag:yaml.org,2002:int", BoundedLoader.construct_yaml_int)
    return BoundedLoader


def _load_yaml(text: str, path: Path) -> Any:
    import yaml  # only YAML users pay for it

    loader = None
    try:
        loader = _yaml_loader()(text)
        return loader.get_single_data()
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
    except (ValueError, TypeError, OverflowError) as exc:  # a tagged value PyYAML could not build
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"{path}: invalid YAML: {first}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _read(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES // 1024} KiB; a probe config is a few KiB "
                          "(is it the right file?)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read config: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        return _load_yaml(text, path)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant,
                          parse_int=_bounded_int)
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
        cfg = json.loads(cfg_path.read_text(encoding="utf-8-sig"), parse_int=_bounded_int)
    except FileNotFoundError:
        raise ConfigError(f"{cfg_path}: not found; --stage needs a Chalice project (run from its directory)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{cfg_path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{cfg_path}: cannot read: {exc}") from None
    except ValueError as exc:  # an integer too long to read
        raise ConfigError(f"{cfg_path}: invalid JSON: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{cfg_path}: invalid JSON: nested too deeply") from None

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


def _string_branch(prop: dict[str, Any]) -> dict[str, Any]:
    """The string schema of a property that may also be null."""
    for branch in prop.get("anyOf", []):
        if branch.get("type") == "string":
            return branch  # type: ignore[no-any-return]
    return prop


def _tighten(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Put the rules `_aws_rules` enforces into a probe's schema (kept if the model states them itself)."""
    from canary.probes.dynamodb import DynamoKeyProbe, DynamoTableProbe

    from canary._validators import DYNAMO_NAME_SCHEMA, PROBE_ID_SCHEMA

    props = schema.get("properties", {})
    if issubclass(model, DynamoTableProbe):
        _string_branch(props["table"]).setdefault("pattern", DYNAMO_NAME_SCHEMA)
        _string_branch(props["index"]).setdefault("pattern", DYNAMO_NAME_SCHEMA)
    if issubclass(model, DynamoKeyProbe):
        props["key"].setdefault("propertyNames", {"minLength": 1})
    if "id" in props:
        _string_branch(props["id"]).setdefault("pattern", PROBE_ID_SCHEMA)


def json_schema() -> dict[str, Any]:
    """A JSON Schema for the config file, built from the same models that validate it."""
    probe_schemas = []
    defs: dict[str, Any] = {}
    for action, ptype in sorted(PROBES.items()):
        schema = ptype.params.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        _tighten(schema, ptype.params)
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
