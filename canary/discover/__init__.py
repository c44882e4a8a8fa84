"""Find the AWS calls a Chalice app makes, from its source alone, and name their IAM actions.

Chalice's own policy analyzer sees only `boto3.client(...)` calls written in `app.py`; the story in
DESIGN.md failed on `boto3.resource('dynamodb').Table(...)` in `chalicelib/`. This package reads
`app.py`, `chalicelib/` and the project modules they import with `ast` (nothing is imported or
run), follows clients and resources through variables, attributes, constructors and factories,
and maps every call to its IAM action through botocore's models. The result feeds a probe config
skeleton (`emit_config`) and an offline comparison with the stage's policy (`check_policy`).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from canary.errors import CanaryError

__all__ = ["Finding", "Discovery", "DiscoverError", "discover", "default_stage"]


class DiscoverError(CanaryError):
    """The directory is not a Chalice project discover can read (the message names what is missing)."""


@dataclass(frozen=True)
class Finding:
    """One IAM action the code needs, on one resource, at one place in the source."""

    action: str
    resource: str                 # the ARN, with `?` where the source does not say
    check_resources: tuple[str, ...]  # display only (`*` where unknown); decisions read `candidates`
    unresolved: tuple[str, ...]   # the expressions behind each `?`, as written
    file: str
    line: int
    service: str
    operation: str
    via: str
    params: tuple[tuple[str, Any], ...] = ()   # API parameter -> StrV (its first alternative)
    key_names: tuple[str, ...] = ()
    candidates: tuple[Any, ...] = ()   # Pattern | AnyOf: every resource the call may touch
    modelled: bool = True              # False: discover does not model this action's resource ARN
    alternatives: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # API parameter -> every StrV it may be
    not_in_stage: str | None = None    # why the stage never runs this call
    note: str | None = None            # why no IAM action is named (unauthenticated, unknown to AWS)
    needs_no_grant: bool = False       # IAM does not authorize this operation
    own_credentials: str | None = None  # the client is built with its own keys/profile, not the stage's role
    because: str | None = None         # why the call needs this action besides its operation's (ACL= -> PutObjectAcl)
    advisory: str | None = None        # needed only in a rare case (a failed upload's clean-up): a warning, not a gap
    passed: tuple[str, ...] = ()       # the API parameters the call passes, of those discover records

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def resolved(self) -> bool:
        return not self.unresolved

    def to_dict(self) -> dict[str, Any]:
        from canary.discover._arns import show

        return {"action": self.action or None, "resource": self.resource, "resolved": self.resolved,
                "candidates": [show(c) for c in self.candidates],
                "unresolved": list(self.unresolved), "file": self.file, "line": self.line,
                "service": self.service, "operation": self.operation, "via": self.via,
                "not_in_stage": self.not_in_stage, "note": self.note, "own_credentials": self.own_credentials,
                "because": self.because, "advisory": self.advisory}


@dataclass
class Discovery:
    """Everything discover found in one project, for one stage's environment."""

    app_dir: Path
    stage: str | None
    env: Mapping[str, str]
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. a service botocore has no model for

    @property
    def actions(self) -> list[str]:
        return sorted({f.action for f in self.findings if f.action})

    def probed(self) -> tuple[list[Finding], list[Finding]]:
        """Split the findings into those the canary can probe and those it cannot (yet)."""
        from canary.probes import PROBES

        live = [f for f in self.findings if f.action and f.not_in_stage is None and f.own_credentials is None]
        yes = [f for f in live if f.action in PROBES]
        no = [f for f in live if f.action not in PROBES]
        return yes, no

    def to_dict(self) -> dict[str, Any]:
        yes, no = self.probed()
        return {"app_dir": str(self.app_dir), "stage": self.stage, "files": self.files,
                "actions": self.actions, "warnings": list(self.warnings),
                "findings": [f.to_dict() for f in self.findings],
                "probed_actions": sorted({f.action for f in yes}),
                "not_probed_actions": sorted({f.action for f in no})}


def default_stage(app_dir: str | os.PathLike[str]) -> str | None:
    """Chalice's default stage (`dev`) when the project defines it, else None."""
    cfg = Path(app_dir) / ".chalice" / "config.json"
    try:
        stages = (json.loads(cfg.read_text(encoding="utf-8")).get("stages") or {})
    except (OSError, ValueError, AttributeError):
        return None
    return "dev" if "dev" in stages else None


def discover(app_dir: str | os.PathLike[str], stage: str | None = None, *, env: Mapping[str, str] | None = None,
             region: str = "*", account: str = "*", partition: str = "aws") -> Discovery:
    """Find every AWS call in the project at `app_dir`; resolve names with `stage`'s environment variables."""
    from canary.discover._analyzer import analyze
    from canary.discover._arns import findings_for

    root = Path(app_dir)
    if not root.is_dir():
        raise DiscoverError(f"{root}: no such directory; pass the Chalice project directory (the one with app.py)")
    if not (root / "app.py").is_file():
        raise DiscoverError(f"{root}: no app.py here; pass the Chalice project directory (the one with app.py)")
    if env is None:
        env = {}
        if stage is not None:
            from canary.discover._stage import lambda_env

            env = lambda_env(root, stage)
    import gc

    # The syntax trees stay alive until the end; the cyclic collector would only rescan them, again
    # and again, while they and botocore's models are built (about half the run time on a large app).
    enabled = gc.isenabled()
    gc.disable()
    try:
        raw, files = analyze(root, env)
        findings = mark_own_credentials(root, findings_for(raw, env, region=region, account=account,
                                                           partition=partition), env)
    finally:
        if enabled:
            gc.enable()
    return Discovery(app_dir=root, stage=stage, env=dict(env), findings=findings, files=files,
                     warnings=unmodelled_services(root, files))


_SERVICE_NAME = re.compile(r"""\.(client|resource)\(\s*(?:service_name\s*=\s*)?(['"])([A-Za-z0-9-]+)\2""")


def unmodelled_services(root: Path, files: list[str]) -> list[str]:
    """Warn about `boto3.client("name")` / `resource("name")` for a service botocore has no model for.

    Such a call cannot be mapped to IAM; it is reported, never dropped in silence. A text scan (the
    analyser has parsed every file already; a second parse would double discover's time on a big app).
    """
    from canary.discover._models import known_services

    known = known_services()
    out: list[str] = []
    for rel in files:
        try:
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for m in _SERVICE_NAME.finditer(text):
            if m.group(3) not in known:
                line = text.count("\n", 0, m.start()) + 1
                out.append(f"{rel}:{line}: boto3 {m.group(1)} {m.group(3)!r}: botocore has no model for this "
                           "service, so its calls cannot be mapped to IAM actions; check them by hand")
    return sorted(set(out))


_CREDENTIAL_KWARGS = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "profile_name"})


def _module_tree(root: Path | None, dotted: str) -> Any:
    """The parsed project module `a.b` (a/b.py or a/b/__init__.py under root), None if not there."""
    import ast

    if root is None:
        return None
    for path in (root.joinpath(*dotted.split(".")).with_suffix(".py"), root.joinpath(*dotted.split("."), "__init__.py")):
        try:
            return ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, SyntaxError, ValueError, RecursionError):
            continue
    return None


# Lambda's reserved variables holding the execution role's credentials (a function cannot set them)
_ROLE_KEYS = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})


def _getenv_name(expr: Any) -> str | None:
    """`X` for `os.getenv("X"[, d])`, `os.environ.get("X"[, d])` or `getenv("X"[, d])`; else None."""
    import ast

    if not (isinstance(expr, ast.Call) and expr.args and not expr.keywords):
        return None
    f = expr.func
    getenv = (isinstance(f, ast.Attribute) and (f.attr == "getenv" or (f.attr == "get" and isinstance(
        f.value, ast.Attribute) and f.value.attr == "environ"))) or (isinstance(f, ast.Name) and f.id == "getenv")
    name = expr.args[0]
    return name.value if getenv and isinstance(name, ast.Constant) and isinstance(name.value, str) else None


def _none_in_stage(expr: Any, scopes: list[Any], env: Mapping[str, str], depth: int = 0,
                   root: Path | None = None) -> bool:
    """True when the expression leaves the stage's role signing whenever the stage runs: `None`,
    `os.getenv("X")` / `os.environ.get("X")` with no default for a variable the stage does not set, or
    the role's own keys Lambda puts in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`,
    directly or through a name assigned only such values (in the function, then the module, or the
    project module it is imported from). Anything else may be another account's keys.
    """
    import ast

    if depth > 5:
        return False
    if isinstance(expr, ast.Constant):
        return expr.value is None
    if (isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Attribute) and expr.value.attr == "environ"
            and isinstance(expr.slice, ast.Constant)):
        return expr.slice.value in _ROLE_KEYS and expr.slice.value not in env
    var = _getenv_name(expr)
    if var is not None:
        if var in _ROLE_KEYS and var not in env:
            return True  # Lambda sets it to the role's own credentials
        return var not in env and (len(expr.args) == 1 or _none_in_stage(expr.args[1], scopes, env, depth + 1, root))
    if isinstance(expr, ast.Call):
        return False
    if isinstance(expr, ast.Name):
        for sc in scopes:  # the innermost scope that assigns the name decides
            values = [n.value for n in ast.walk(sc) if isinstance(n, ast.Assign) and n.value is not None
                      and any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)
                      and (sc is not scopes[-1] or n in getattr(sc, "body", []))]
            if values:
                return all(_none_in_stage(v, scopes, env, depth + 1, root) for v in values)
        for imp in getattr(scopes[-1], "body", []):  # from chalicelib.config import KEY_ID
            if isinstance(imp, ast.ImportFrom) and imp.module and not imp.level:
                for alias in imp.names:
                    if (alias.asname or alias.name) == expr.id:
                        tree = _module_tree(root, imp.module)
                        return tree is not None and _none_in_stage(ast.Name(id=alias.name), [tree], env, depth + 1,
                                                                   root)
        return False
    return False


def _text_in_stage(expr: Any, scopes: list[Any], env: Mapping[str, str], depth: int = 0,
                   root: Path | None = None) -> str | None:
    """The string the expression is whenever the stage runs (a literal, a variable the stage sets or its
    default, or a name assigned only that), else None."""
    import ast

    if depth > 5:
        return None
    if isinstance(expr, ast.Constant):
        return expr.value if isinstance(expr.value, str) else None
    var = _getenv_name(expr)
    if var is not None:
        if var in env:
            return env[var]
        return _text_in_stage(expr.args[1], scopes, env, depth + 1, root) if len(expr.args) > 1 else None
    if (isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Attribute) and expr.value.attr == "environ"
            and isinstance(expr.slice, ast.Constant) and isinstance(expr.slice.value, str)):
        return env.get(expr.slice.value)
    if isinstance(expr, ast.Name):
        for sc in scopes:
            values = [n.value for n in ast.walk(sc) if isinstance(n, ast.Assign)
                      and any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)
                      and (sc is not scopes[-1] or n in getattr(sc, "body", []))]
            if values:
                texts = {_text_in_stage(v, scopes, env, depth + 1, root) for v in values}
                return texts.pop() if len(texts) == 1 else None
    return None


_AWS_HOST = re.compile(r"(?:^|\.)(?:amazonaws\.com(?:\.cn)?|api\.aws)$")


def _local_endpoint(expr: Any, scopes: list[Any], env: Mapping[str, str], root: Path | None) -> str | None:
    """The endpoint_url when it is not AWS's in this stage (LocalStack, DynamoDB Local, MinIO), else None."""
    from urllib.parse import urlsplit

    text = _text_in_stage(expr, scopes, env, 0, root)
    if not text:
        return None
    try:
        host = (urlsplit(text if "://" in text else "//" + text).hostname or "").lower()
    except ValueError:
        return None
    return text if host and not _AWS_HOST.search(host) else None


def _constructors(scope: Any, module: Any = None, env: Mapping[str, str] | None = None,
                  root: Path | None = None) -> list[tuple[str, str | None]]:
    """(service, why the role does not sign its calls, or None) for each boto3 client/resource constructor in a scope.

    A client from a Session built with credentials (`s = boto3.Session(profile_name=...)`, then
    `s.client("s3")`, or chained) has them too. Keys that are None in this stage (`os.getenv("KEY")`
    for a variable the stage does not set) are no keys: boto3 then signs with the stage's role. An
    `endpoint_url` that is not AWS's in this stage (`http://localhost:4566`) reaches no IAM at all.
    """
    import ast

    scopes = [scope] if module is None or scope is module else [scope, module]

    def creds_call(node: Any) -> bool:
        keys = [k for k in node.keywords if k.arg in _CREDENTIAL_KWARGS] if isinstance(node, ast.Call) else []
        if not keys:
            return False
        return env is None or not all(_none_in_stage(k.value, scopes, env, 0, root) for k in keys)

    def is_session(node: Any) -> bool:
        f = node.func if isinstance(node, ast.Call) else None
        return (isinstance(f, ast.Attribute) and f.attr == "Session") or (isinstance(f, ast.Name) and f.id == "Session")

    nodes: list[Any] = []
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue  # its own scope
        todo.extend(ast.iter_child_nodes(node))
        nodes.append(node)
    sessions = {t.id for n in nodes if isinstance(n, ast.Assign) and is_session(n.value) and creds_call(n.value)
                for t in n.targets if isinstance(t, ast.Name)}
    out: list[tuple[str, str | None]] = []
    for node in sorted((n for n in nodes if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset)):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else (
            node.func.id if isinstance(node.func, ast.Name) else "")
        if name not in ("client", "resource"):
            continue
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
        creds = creds_call(node) or (isinstance(receiver, ast.Name) and receiver.id in sessions) or (
            is_session(receiver) and creds_call(receiver))
        endpoint = next((k.value for k in node.keywords if k.arg == "endpoint_url"), None)
        local = _local_endpoint(endpoint, scopes, env, root) if endpoint is not None and env is not None else None
        why = (f"endpoint_url {local!r}, not an AWS endpoint: IAM does not authorize calls there" if local
               else "its own credentials (aws_access_key_id/profile_name), not the stage's role" if creds else None)
        arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "service_name"), None)
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            out.append((arg.value, why))
    return out


def mark_own_credentials(root: Path, findings: list[Finding], env: Mapping[str, str] | None = None) -> list[Finding]:
    """Mark calls made through a client built with its own keys or profile: the stage's role does not sign them.

    A call counts as such when its function builds that service's client only with explicit
    `aws_access_key_id`/`aws_session_token`/`profile_name` (or from a Session with them), or, when its
    function builds none, its module does so and the file builds no credential-less one. The check lists
    them apart instead of judging the role's policy on them. Keys read from environment variables the
    stage does not set are None, so boto3 falls back to the role: those calls are checked as usual.
    """
    import ast
    import dataclasses

    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    marked: dict[int, str] = {}
    for rel, group in by_file.items():
        try:
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
            if not any(k in text for k in (*_CREDENTIAL_KWARGS, "endpoint_url")):
                continue  # the common case: no second parse
            tree = ast.parse(text)
        except (SyntaxError, OSError, ValueError, RecursionError):
            continue
        scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        built = {id(sc): _constructors(sc, tree, env, root) for sc in scopes}
        plain = {svc for got in built.values() for svc, why in got if not why}
        for f in group:
            inner = [sc for sc in scopes[1:] if sc.lineno <= f.line <= (sc.end_lineno or sc.lineno)]
            for sc in sorted(inner, key=lambda n: -n.lineno)[:1] + [tree]:
                mine = [why for svc, why in built[id(sc)] if svc == f.service]
                if not mine:
                    continue
                if all(mine) and (sc is not tree or f.service not in plain):
                    marked[id(f)] = f"a {f.service} client built with {mine[0]}"
                break
    return [dataclasses.replace(f, own_credentials=marked[id(f)]) if id(f) in marked else f for f in findings]
