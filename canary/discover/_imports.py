"""Imports: what `import boto3`, `from os import environ`, `from chalicelib import db` bind.

boto3, its session module, `os`/`os.environ`, chalice's `Chalice`/`Blueprint` and PynamoDB's base
classes get values of their own; a project module is a `ModuleV` whose names are its module scope's
facts; anything else binds nothing.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Iterable

from canary.discover._calls import EMPTY, Vals
from canary.discover._parse import Module, Scope, absolute_module
from canary.discover._pynamo import PYNAMO_BASES
from canary.discover._values import (
    Boto3Module,
    Boto3SessionModule,
    ChaliceClass,
    ExternalClass,
    ModuleV,
    OsModule,
    Value,
)

__all__ = ["Imports"]


class Imports:
    """Import statements (mixed into `Analyzer`)."""

    def import_(self, node: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.bind(scope, alias.asname, self._module_value(alias.name))
                else:
                    top = alias.name.split(".")[0]
                    self.bind(scope, top, self._module_value(top))
            return
        base = absolute_module(node.module, node.level, scope.module.package)
        if base is None:
            return
        for alias in node.names:
            if alias.name == "*":
                mod = self.modules.get(base)
                if mod is not None:
                    for name in mod.scope.locals:
                        if not name.startswith("_"):
                            self.bind(scope, name, self.lookup(mod.scope, name))
                continue
            self.bind(scope, alias.asname or alias.name, self._from_value(base, alias.name))

    def _module_value(self, name: str) -> Vals:
        if name == "boto3":
            return frozenset({Boto3Module()})
        if name == "boto3.session":
            return frozenset({Boto3SessionModule()})
        if name == "os":
            return frozenset({OsModule()})
        if name in self.modules or any(m.startswith(name + ".") for m in self.modules):
            return frozenset({ModuleV(name)})
        return EMPTY

    def _from_value(self, base: str, name: str) -> Vals:
        if (base, name) in PYNAMO_BASES:
            return frozenset({ExternalClass(PYNAMO_BASES[base, name])})
        if base == "chalice" and name in ("Chalice", "Blueprint"):
            return frozenset({ChaliceClass()})
        # `from boto3 import client` is `boto3.client`: one table of what those modules hold (Eval.attribute)
        known = {"boto3": Boto3Module(), "boto3.session": Boto3SessionModule(), "os": OsModule()}.get(base)
        return self.attribute(known if known is not None else ModuleV(base), name)

    # -- expressions ----------------------------------------------------------------------------

    if TYPE_CHECKING:
        modules: dict[str, Module]

        def bind(self, scope: Scope, name: str, values: "Iterable[Value]") -> None: ...
        def lookup(self, scope: Scope, name: str) -> Vals: ...
        def attribute(self, v: Value, name: str) -> Vals: ...
