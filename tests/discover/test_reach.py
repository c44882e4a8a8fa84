"""Reaching definitions (`_reach`): a rebound local has the values that reach each use, not all of them."""

from __future__ import annotations

import ast
from pathlib import Path

from click.testing import CliRunner

from canary.cli import cli
from canary.discover._reach import ENTRY, reaching

from tests.discover._project import by_operation, write

APPS = Path(__file__).parent / "apps"


def _uses(src: str, params: list[str]) -> dict[str, list[set[str]]]:
    """name -> for each use in source order, the lines of the bindings that reach it ("entry" for the parameter)."""
    fn = ast.parse(src).body[0]
    assert isinstance(fn, ast.FunctionDef)
    reach = reaching(fn, params)
    out: dict[str, list[set[str]]] = {}
    names = sorted((n for n in ast.walk(fn) if isinstance(n, ast.Name) and id(n) in reach.uses),
                   key=lambda n: (n.lineno, n.col_offset))
    for n in names:
        out.setdefault(n.id, []).append({"entry" if b == ENTRY else b.split(":")[0] for b in reach.uses[id(n)]})
    return out


def test_if_else_reassignment_reaches_the_call_as_two_bindings_never_the_entry_value() -> None:
    uses = _uses("def f(path):\n"
                 "    if PROD:\n"
                 "        path = 'prod/' + path\n"
                 "    else:\n"
                 "        path = 'dev/' + path\n"
                 "    put(Key=path)\n", ["path"])
    assert uses["path"] == [{"entry"}, {"entry"}, {"3", "5"}]


def test_a_branch_that_returns_does_not_reach_what_follows_and_a_one_armed_if_keeps_the_entry() -> None:
    uses = _uses("def f(key, fast):\n"
                 "    if fast:\n"
                 "        key = 'cache/' + key\n"
                 "        return key\n"
                 "    if other:\n"
                 "        key = key.lower()\n"
                 "    put(Key=key)\n", ["key", "fast"])
    assert uses["key"] == [{"entry"}, {"3"}, {"entry"}, {"entry", "6"}]


def test_augmented_assignment_reads_the_old_value_and_loops_and_try_are_over_approximated() -> None:
    uses = _uses("def f(name):\n"
                 "    name += '-dev'\n"
                 "    for x in xs:\n"
                 "        use(name)\n"
                 "        name = name + x\n"
                 "    try:\n"
                 "        name = load()\n"
                 "        name = name.strip()\n"
                 "    except KeyError:\n"
                 "        use(name)\n"
                 "    put(name)\n", ["name"])
    assert uses["name"][0] == {"entry"}               # name += ...
    assert uses["name"][1] == {"2", "5"}              # loop head: before the loop or after a round
    assert uses["name"][4] == {"2", "5", "7", "8"}    # handler: anything bound before the exception
    assert uses["name"][5] == {"2", "5", "7", "8"}    # after the try: the body or the handler


def test_names_bound_in_ways_it_does_not_follow_are_not_tracked() -> None:
    fn = ast.parse("def f(a):\n    global a2\n    import os as a\n    a = 1\n    [b for b in a]\n    b = 2\n").body[0]
    assert isinstance(fn, ast.FunctionDef)
    assert reaching(fn, ["a"]).tracked == set()


RESIZER = {"app.py": """
    import boto3
    from chalice import Chalice

    app = Chalice(app_name="resizer")
    s3 = boto3.client("s3")


    def thumbnail_key(key, size=None):
        prefix = "thumbs"
        if size:
            prefix = f"{prefix}/{size}"
        key = key.rsplit("/", 1)[-1]
        return f"{prefix}/{key}"


    def store(key, body, public):
        if public:
            key = "public/" + key
        else:
            key = "private/" + key
        key += ".jpg"
        s3.put_object(Bucket="resizer-media", Key=key, Body=body)


    @app.route("/photos/{name}", methods=["PUT"])
    def put_photo(name):
        store(name, app.current_request.raw_body, app.current_request.query_params.get("public"))
        return {}
    """}


def test_a_parameter_reassigned_on_both_arms_gives_each_arm_once_with_the_callers_values(tmp_path: Path) -> None:
    params = by_operation(write(tmp_path, RESIZER))["PutObject"]
    assert params["Key"] == {"public/?.jpg", "private/?.jpg"}   # never public/private/..., never the bare name


def test_the_stage_decides_an_instance_flag_and_only_that_arms_prefix_reaches_the_call() -> None:
    app = str(APPS / "flow_media")
    dev = CliRunner().invoke(cli, ["discover", app, "--check", "--stage", "dev"])
    assert dev.exit_code == 0, dev.output
    assert "flow-media-assets/dev/image/?.png" in dev.output and "flow-media-assets/dev/resume/?.pdf" in dev.output
    assert "dev/dev/" not in dev.output and "flow-media-assets/image/" not in dev.output
    prod = CliRunner().invoke(cli, ["discover", app, "--check", "--stage", "prod"])
    assert prod.exit_code == 1  # the prod policy grants dev/* only: a real gap on prod/...
    assert "flow-media-assets/prod/image/?.png" in prod.output and "prod/dev/" not in prod.output


def test_a_name_a_nested_function_rebinds_is_not_tracked() -> None:
    fn = ast.parse("def f(key):\n    key = 'a/' + key\n    def g():\n        nonlocal key\n        key = 'b'\n"
                   "    g()\n    put(key)\n").body[0]
    assert isinstance(fn, ast.FunctionDef)
    assert "key" not in reaching(fn, ["key"]).tracked
