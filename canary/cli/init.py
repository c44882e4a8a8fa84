"""`permission-canary init`: embed the canary in the API whose directory this is (a thin shell over canary.embed)."""

from __future__ import annotations

import click

from canary.cli._common import fail_on_canary_error

__all__ = ["init"]


@click.command("init")
@click.option("--stage", "-s", default="dev", show_default=True, metavar="STAGE", help="The Chalice stage to set up.")
@click.option("--write", is_flag=True, help="Apply the changes (default: only print the diff).")
@click.option("--project-dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The API's Chalice project (holds app.py and .chalice/config.json).")
@click.option("--region", default=None, metavar="REGION",
              help="AWS region for the Slack function's policy (default: $AWS_REGION / $AWS_DEFAULT_REGION).")
@click.option("--account", default=None, metavar="ACCOUNT",
              help="AWS account id for the Slack function's policy, when the stage has no iam_role_arn to tell it.")
@fail_on_canary_error
def init(stage: str, write: bool, project_dir: str, region: str | None, account: str | None) -> None:
    """Embed the canary in this API: vendor it, add its requirements (ranges), write the stage's probe
    config from discover, register the blueprint, add the stage keys. Prints a diff; --write applies it.
    """
    from canary.embed import apply, plan_init, render

    plan = plan_init(project_dir, stage, account=account, region=region)
    if plan.empty:
        click.echo(f"nothing to change: the canary is already embedded for stage {stage!r}")
    else:
        click.echo(render(plan), nl=False)
        if write:
            for line in apply(plan):
                click.echo(f"wrote {line}", err=True)
    if plan.left:
        click.echo(f"\nNo probe written for these calls (add them to the stage's probe config by hand; "
                   f"docs/embed.md says how):", err=True)
        for line in plan.left:
            click.echo(f"  - {line}", err=True)
    for line in plan.notes:
        click.echo(f"note: {line}", err=True)
    if not plan.empty and not write:
        click.echo("\n(dry run: nothing written; run again with --write to apply)", err=True)
    elif not plan.empty:
        click.echo(f"\nNext: run your tests, then `permission-canary emulate --stage {stage}` to rehearse offline, "
                   f"then `permission-canary deploy --stage {stage}`.", err=True)
