"""Find the AWS calls in a project's source with `ast`, never importing or running it.

A small flow-insensitive abstract interpreter, in the spirit of chalice's own analyzer but across
modules, classes and factories. It runs as passes a reader can follow one module at a time:

1. `_parse`: find the project's files, parse each once, record what each scope binds;
2. `_flow` (with `_facts` and `_imports`) and `_eval`: carry abstract values (boto3 objects, project functions, strings with
   their alternatives) through the program until nothing grows; `_stage` decides the guards the
   stage's environment settles (`if MODE == "BETA"`, `if DUMMY:`), `_wrappers` what decorators do to
   the arguments they pass on, `_inline` small helpers per call, `_strings` string methods,
   `_pynamo` PynamoDB models;
3. `_calls`: recognise boto3 API calls on those values and record them as `RawCall`s; `_reached`
   marks those in modules app.py never imports.

Mapping the calls to IAM (`_arns`) and deciding against a policy (`_check`) come after.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Mapping

from canary.discover._calls import Calls, RawCall, merge_sites
from canary.discover._eval import Eval
from canary.discover._facts import Facts
from canary.discover._flow import Flow
from canary.discover._imports import Imports
from canary.discover._inline import Inline
from canary.discover._parse import Module, project_files
from canary.discover._pynamo import Pynamo
from canary.discover._reached import unreached
from canary.discover._stage import Stage
from canary.discover._strings import Strings
from canary.discover._wrappers import Wrappers

__all__ = ["RawCall", "Analyzer", "analyze", "project_files"]


class Analyzer(Flow, Facts, Imports, Eval, Strings, Stage, Inline, Wrappers, Pynamo, Calls):
    """The interpreter, one concern per mixin.

    The walk and the passes (`Flow`), facts and memos (`Facts`), imports (`Imports`), expressions
    (`Eval`), strings and dicts (`Strings`), guards (`Stage`), helpers evaluated per call (`Inline`), decorators' rewrites
    (`Wrappers`), PynamoDB models (`Pynamo`), boto3 calls (`Calls`).
    """


def analyze(root: Path, env: Mapping[str, str] | None = None) -> tuple[list[RawCall], list[str]]:
    """Every AWS call the project at `root` makes, as far as the source shows, and the files read.

    `env` is the stage's environment as the Lambda sees it (empty when no stage is chosen); it
    decides the guards it settles, and the calls on branches the stage never takes carry
    `not_in_stage`.
    """
    modules: list[Module] = project_files(root)
    analyzer = Analyzer(modules, env or {})
    calls = merge_sites(analyzer.run())
    dead = unreached(modules)
    calls = [replace(c, not_in_stage=dead[c.file]) if c.file in dead and c.not_in_stage is None else c
             for c in calls]
    calls = _in_dead_functions(calls, analyzer, modules)
    return (sorted(calls, key=lambda c: (c.file, c.line, c.service, c.operation, repr(c.params))),
            [m.rel for m in modules])


def _in_dead_functions(calls: list[RawCall], analyzer: Analyzer, modules: list[Module]) -> list[RawCall]:
    """Mark the calls inside functions the stage only reaches through code it never runs (`_live`)."""
    from canary.discover._live import dead_functions

    dead = dead_functions(analyzer.funcs, analyzer.edges, [m.tree for m in modules])
    spans = []
    for fid, why in dead.items():
        fn = analyzer.funcs[fid]
        spans.append((fn.scope.module.rel, fn.node.lineno, fn.node.end_lineno or fn.node.lineno, why))
    if not spans:
        return calls
    out = []
    for c in calls:
        hit = [s for s in spans if s[0] == c.file and s[1] <= c.line <= s[2]]
        if hit and c.not_in_stage is None:
            innermost = max(hit, key=lambda s: s[1])
            c = replace(c, not_in_stage=innermost[3])
        out.append(c)
    return out
