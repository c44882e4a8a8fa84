"""Model what the analyser tracks as abstract values: boto3 objects, project functions and classes, strings.

Every value is a frozen dataclass so that it can live in the sets the fixpoint grows. Strings are
kept as parts (literal text, an environment variable, an expression we cannot follow) so that a
table name like `f"{os.environ['STAGE']}-orders"` resolves per stage, renders as `${STAGE}-orders`
in a probe config, and says exactly which expression is unknown when it cannot be resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Union

__all__ = ["Lit", "Env", "Unknown", "StrV", "ConstV", "Value"]


@dataclass(frozen=True)
class Lit:
    text: str


@dataclass(frozen=True)
class Env:
    name: str
    default: str | None = None
    optional: bool = field(default=False, compare=False)  # `os.environ.get`/`os.getenv`: None when unset


@dataclass(frozen=True)
class Unknown:
    source: str


Part = Union[Lit, Env, Unknown]


@dataclass(frozen=True)
class StrV:
    """A string built from literals, environment variables and expressions we cannot follow."""

    parts: tuple[Part, ...]

    @staticmethod
    def lit(text: str) -> "StrV":
        return StrV((Lit(text),))

    @staticmethod
    def unknown(source: str) -> "StrV":
        return StrV((Unknown(source),))

    @staticmethod
    def join(items: "list[StrV]") -> "StrV":
        parts: list[Part] = []
        for item in items:
            for p in item.parts:
                if isinstance(p, Lit) and parts and isinstance(parts[-1], Lit):
                    parts[-1] = Lit(parts[-1].text + p.text)
                elif not (isinstance(p, Lit) and not p.text):
                    parts.append(p)
        return StrV(tuple(parts))

    @property
    def literal(self) -> str | None:
        """The text when the string is a plain literal."""
        if all(isinstance(p, Lit) for p in self.parts):
            return "".join(p.text for p in self.parts if isinstance(p, Lit))
        return None

    def resolve(self, env: Mapping[str, str]) -> str | None:
        """The value with `env` filled in; None when any part is unknown or unset."""
        out = []
        for p in self.parts:
            if isinstance(p, Lit):
                out.append(p.text)
            elif isinstance(p, Env) and p.name in env:
                out.append(env[p.name])
            elif isinstance(p, Env) and p.default is not None:
                out.append(p.default)
            else:
                return None
        return "".join(out)

    def render(self, env: Mapping[str, str], marker: str) -> str:
        """The value with `env` filled in and `marker` standing for each part that stays unknown."""
        out = []
        for p in self.parts:
            if isinstance(p, Lit):
                out.append(p.text)
            elif isinstance(p, Env) and p.name in env:
                out.append(env[p.name])
            elif isinstance(p, Env) and p.default is not None:
                out.append(p.default)
            else:
                out.append(marker)
        return "".join(out)

    def template(self) -> str | None:
        """The `${VAR}` form the probe config understands; None when a part is not an env var or literal."""
        out = []
        for p in self.parts:
            if isinstance(p, Lit):
                if "${" in p.text:  # the config would read it as a variable, and it has no escape
                    return None
                out.append(p.text)
            elif isinstance(p, Env):
                out.append(f"${{{p.name}}}" if p.default is None else f"${{{p.name}:-{p.default}}}")
            else:
                return None
        return "".join(out)

    def missing(self, env: Mapping[str, str]) -> list[str]:
        """The expressions (as written) that `env` does not resolve."""
        out = []
        for p in self.parts:
            if isinstance(p, Unknown):
                out.append(p.source)
            elif isinstance(p, Env) and p.name not in env and p.default is None:
                out.append(f"os.environ[{p.name!r}]")
        return out


@dataclass(frozen=True)
class ConstV:
    """`True`, `False` or `None`: what a constant guard (`if DUMMY:`, `if client is None:`) tests."""

    value: bool | None


@dataclass(frozen=True)
class DictV:
    """A dict written with string keys: `CONFIG["table"]` is that entry's values, `TABLES[stage]` any of them."""

    entries: tuple[tuple[str, "Value"], ...]  # (key, one of its values), in a stable order


@dataclass(frozen=True)
class DictGetV:
    """`some_dict.get`, not yet called."""

    d: DictV


@dataclass(frozen=True)
class BoundStrV:
    """A string method not yet called: `"{}-{}".format`, `"-".join`, `name.lower`."""

    value: StrV
    name: str


@dataclass(frozen=True)
class PynamoMethodV:
    """A PynamoDB method of a project model (or of one of its indexes), not yet called."""

    model: int            # the model's class id
    name: str             # "save", "query", ...; "<batch>" for `Model.batch_write()`'s writer
    instance: bool = False
    index: int | None = None  # the index's class id for `Model.some_index.query`
    attr: str | None = None   # the attribute the index is kept in (its name when Meta has none)


@dataclass(frozen=True)
class ExternalClass:
    """A library base class the analyser knows (`pynamodb.models.Model`): kept among a class's bases as `marker`."""

    marker: int


@dataclass(frozen=True)
class PynamoIndexV:
    """`Model.some_index`: an index of that model's table."""

    model: int
    index: int
    attr: str


# Objects from boto3 and the standard library ----------------------------------------------------

@dataclass(frozen=True)
class Boto3Module:
    """`import boto3`."""


@dataclass(frozen=True)
class Boto3SessionModule:
    """`boto3.session`."""


@dataclass(frozen=True)
class Boto3Factory:
    """`boto3.client`, `boto3.resource`, `boto3.Session` (also a session's `client`/`resource`)."""

    kind: str


@dataclass(frozen=True)
class SessionV:
    """A `boto3.Session(...)` instance."""


@dataclass(frozen=True)
class ClientV:
    service: str
    region: "StrV | None" = None  # `region_name=` given where the client was made (the calls go there)


@dataclass(frozen=True)
class ResourceV:
    """A boto3 resource: the service resource (`rtype == ""`) or e.g. a Table with its identifiers."""

    service: str
    rtype: str
    ids: tuple[StrV | None, ...] = ()
    region: "StrV | None" = None  # `region_name=` given where the service resource was made


@dataclass(frozen=True)
class CollectionV:
    parent: ResourceV
    name: str  # the hasMany key, e.g. "Objects"


@dataclass(frozen=True)
class PaginatorV:
    service: str
    operation: str


@dataclass(frozen=True)
class BatchWriterV:
    table: ResourceV


@dataclass(frozen=True)
class MetaV:
    service: str
    region: "StrV | None" = None


@dataclass(frozen=True)
class MethodV:
    """An attribute of a boto3 object, not yet called (`table.update_item`)."""

    obj: "ClientV | ResourceV | CollectionV | PaginatorV | BatchWriterV"
    name: str


@dataclass(frozen=True)
class OsModule:
    pass


@dataclass(frozen=True)
class OsEnviron:
    pass


@dataclass(frozen=True)
class Getenv:
    """`os.getenv` and `os.environ.get`."""


@dataclass(frozen=True)
class ChaliceClass:
    """`chalice.Chalice` (also `Blueprint`)."""


@dataclass(frozen=True)
class ChaliceApp:
    """`Chalice(app_name=...)`: `app.app_name` is that name."""

    name: StrV | None


@dataclass(frozen=True)
class EventV:
    """The event a Chalice event handler receives, with what its decorator fixed (`on_s3_event(bucket=...)`)."""

    kind: str
    attrs: tuple[tuple[str, StrV], ...]


@dataclass(frozen=True)
class WebsocketApiV:
    """`app.websocket_api`: Chalice's sender to websocket connections (API Gateway's management API)."""


@dataclass(frozen=True)
class WebsocketMethodV:
    """`app.websocket_api.send` (or `close`, `info`), not yet called."""

    name: str


# The project's own code ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ModuleV:
    name: str


@dataclass(frozen=True)
class FuncV:
    fid: int


@dataclass(frozen=True)
class BoundFuncV:
    fid: int
    self_value: "InstV | ClassV"  # the class itself for a classmethod reached through it or a subclass


@dataclass(frozen=True)
class ClassV:
    cid: int


@dataclass(frozen=True)
class InstV:
    cid: int


Value = Union[StrV, ConstV, DictV, DictGetV, BoundStrV, PynamoMethodV, PynamoIndexV, ExternalClass, Boto3Module, Boto3SessionModule, Boto3Factory, SessionV, ClientV, ResourceV, CollectionV,
              PaginatorV, BatchWriterV, MetaV, MethodV, OsModule, OsEnviron, Getenv, ChaliceClass, ChaliceApp, EventV,
              WebsocketApiV, WebsocketMethodV,
              ModuleV, FuncV,
              BoundFuncV, ClassV, InstV]
