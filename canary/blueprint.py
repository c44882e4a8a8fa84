"""The canary as a Chalice Blueprint: an API adds it with `app.register_blueprint(canary_blueprint)`.

Three functions, named as DESIGN.md fixes them: `permission_canary` (every 15 minutes, publishes
metrics), `permission_canary_invoke` (for `chalice invoke` and the deploy gate; returns the report)
and `permission_canary_alarm_to_slack` (alarm notifications from the stage's SNS topic). The
bodies live in `canary.handlers`, imported on first call, so importing this module costs little
more than chalice itself; aws_xray_sdk is never imported here.

When `chalice package` or `chalice deploy` imports this module, the stage being shipped is
checked first (`canary.deployconfig.guard_chalice_cli`): a stage that would deploy a broken canary
stops the command with a message instead of an artefact.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from chalice import Blueprint, Rate

from canary.alarms import FUNCTION_CANARY, FUNCTION_INVOKE, FUNCTION_SLACK, topic_name

__all__ = ["canary_blueprint", "alarm_topic"]


def _packaging_stage() -> str | None:
    """The stage chalice is packaging/deploying (from its click context), if any."""
    click = sys.modules.get("click")
    ctx = click.get_current_context(silent=True) if click else None
    stage = ctx.params.get("stage") if ctx is not None else None
    return str(stage) if stage else None


if "click" in sys.modules and not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    from canary.deployconfig import guard_chalice_cli

    guard_chalice_cli()

# The topic the stage's alarms notify (`permission-canary-alarms-<stage>`, or $CANARY_ALARM_TOPIC).
alarm_topic = topic_name(_packaging_stage() or os.environ.get("CANARY_STAGE") or "dev")

canary_blueprint = Blueprint(__name__)


@canary_blueprint.schedule(Rate(15, unit=Rate.MINUTES), name=FUNCTION_CANARY,
                           description="Permission canary: harmless probes with the API's role")
def permission_canary(event: Any) -> dict[str, Any]:
    from canary.handlers import run_scheduled

    return run_scheduled(getattr(event, "context", None))


@canary_blueprint.lambda_function(name=FUNCTION_INVOKE)
def permission_canary_invoke(event: Any, context: Any) -> dict[str, Any]:
    from canary.handlers import run_manual

    return run_manual(event, context)


@canary_blueprint.on_sns_message(topic=alarm_topic, name=FUNCTION_SLACK)
def permission_canary_alarm_to_slack(event: Any) -> dict[str, Any]:
    from canary.handlers import alarm_to_slack

    record = (event.to_dict().get("Records") or [{}])[0]
    return alarm_to_slack(event.message, subject=event.subject or None, context=getattr(event, "context", None),
                          message_id=(record.get("Sns") or {}).get("MessageId"))
