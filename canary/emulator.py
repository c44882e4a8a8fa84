"""An embedded AWS emulator (moto server on 127.0.0.1) with IAM checks on, for the demo, tests and bench.

Requests go over real HTTP with SigV4; once `enable_iam()` has run, moto authenticates every call
and evaluates the caller's IAM policies, so a DENIED here comes from policy evaluation, not from a
scripted response. moto's limits are documented in the README ("Testing and its limits").
Needs the `demo` extra (moto[server]); nothing in the Lambda imports this module.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from typing import Any

__all__ = ["Emulator", "Credentials", "ACCOUNT_ID", "REGION"]

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None

    def env(self) -> dict[str, str]:
        out = {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        if self.token:
            out["AWS_SESSION_TOKEN"] = self.token
        return out


def _quiet_werkzeug() -> None:
    """Keep the server's per-request access log off the user's terminal."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)


_AWS_WORDING = {"on": True}


def _install_aws_wording() -> None:
    """Word moto's AccessDenied messages as AWS does, from moto's own policy evaluation.

    moto decides allow/deny by evaluating the caller's policies, but words every denial the same
    way ("is not authorized to perform: X"). AWS states why: "... because no identity-based policy
    allows the X action" (implicit) or "... with an explicit deny in an identity-based policy".
    This wrapper keeps moto's decision and only re-words the message, asking moto's own evaluator
    whether an explicit Deny matched. It changes text, never outcomes; `Emulator(aws_wording=False)`
    turns it off so that moto's raw shape stays tested too.
    """
    from moto.core.exceptions import AccessDeniedError, _RESTError
    from moto.iam import access_control as ac
    from moto.s3.exceptions import S3AccessDeniedError

    base = ac.IAMRequestBase
    if getattr(base, "_canary_wording", False):
        return
    original = base.check_action_permitted

    def check_action_permitted(self: Any, resource: str) -> None:
        try:
            original(self, resource)
        except (AccessDeniedError, S3AccessDeniedError) as exc:
            if not _AWS_WORDING["on"]:
                raise
            explicit = any(ac.IAMPolicy(p).is_action_permitted(self._action, resource) == ac.PermissionResult.DENIED
                           for p in self._access_key.collect_policies())
            why = ("with an explicit deny in an identity-based policy" if explicit
                   else f"because no identity-based policy allows the {self._action} action")
            on = f" on resource: {resource}" if resource and resource != "*" else ""
            text = f"User: {self._access_key.arn} is not authorized to perform: {self._action}{on} {why}"
            if isinstance(exc, S3AccessDeniedError):
                # S3 words same-account denials this way too (the "additional context" in its AccessDenied).
                exc.message = text
                raise
            err = AccessDeniedError(self._access_key.arn, self._action)
            _RESTError.__init__(err, "AccessDenied", text)  # re-renders the XML body with AWS's wording
            raise err from exc

    base.check_action_permitted = check_action_permitted
    base._canary_wording = True


class Emulator:
    """Start a moto server, create an admin user, then turn IAM checks on."""

    def __init__(self, port: int = 0, region: str = REGION, *, aws_wording: bool = True) -> None:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:  # pragma: no cover - exercised only without the extra
            raise RuntimeError("the embedded emulator needs moto: install the CLI with its demo extra, e.g. "
                               "pip install '/path/to/chalice-permission-canary[demo]'") from exc
        self.region = region
        _install_aws_wording()
        _AWS_WORDING["on"] = aws_wording
        _quiet_werkzeug()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.url = ""
        self.admin: Credentials | None = None

    def start(self) -> "Emulator":
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._post("/moto-api/reset", b"")
        self._post("/moto-api/reset-auth", b"inf")  # no checks while bootstrapping the admin
        iam = self.client("iam", Credentials("bootstrap", "bootstrap"))
        iam.create_user(UserName="canary-admin")
        iam.put_user_policy(UserName="canary-admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(UserName="canary-admin")["AccessKey"]
        self.admin = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
        self.enable_iam()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def enable_iam(self) -> None:
        """Make moto authenticate and authorize every request from now on."""
        self._post("/moto-api/reset-auth", b"0")

    def _post(self, path: str, body: bytes) -> None:
        req = urllib.request.Request(self.url + path, data=body, method="POST",
                                     headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - 127.0.0.1 only
            resp.read()

    def session(self, creds: Credentials | None = None) -> Any:
        import boto3

        c = creds or self.admin
        assert c is not None, "start() first"
        return boto3.Session(aws_access_key_id=c.access_key, aws_secret_access_key=c.secret_key,
                             aws_session_token=c.token, region_name=self.region)

    def client(self, service: str, creds: Credentials | None = None) -> Any:
        return self.session(creds).client(service, endpoint_url=self.url)

    def env(self, creds: Credentials | None = None) -> dict[str, str]:
        """Environment for a subprocess (e.g. the CLI) to talk to this emulator as `creds`."""
        c = creds or self.admin
        assert c is not None
        return {**c.env(), "AWS_ENDPOINT_URL": self.url, "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region}

    # -- fixtures of the story --------------------------------------------------------------

    def create_role(self, name: str, policy: dict[str, Any], *, policy_name: str = "api") -> str:
        iam = self.client("iam")
        # Trusts the admin user by ARN (moto 5.2.5 matches trust principals literally, and fails on a
        # Service principal such as lambda.amazonaws.com), so the admin can assume it as Lambda would.
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT_ID}:user/canary-admin", f"arn:aws:iam::{ACCOUNT_ID}:root"]}}]}
        arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.put_role_policy(name, policy, policy_name=policy_name)
        return arn

    def put_role_policy(self, role: str, policy: dict[str, Any], *, policy_name: str = "api") -> None:
        self.client("iam").put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(policy))

    def assume(self, role_arn: str, session_name: str = "canary") -> Credentials:
        c = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])

    def create_table(self, name: str, key: str = "pk", *, sort_key: str | None = None) -> None:
        ddb = self.client("dynamodb")
        schema = [{"AttributeName": key, "KeyType": "HASH"}]
        attrs = [{"AttributeName": key, "AttributeType": "S"}]
        if sort_key:
            schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
            attrs.append({"AttributeName": sort_key, "AttributeType": "S"})
        ddb.create_table(TableName=name, KeySchema=schema, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST")

    def verify_email(self, address: str) -> None:
        self.client("ses").verify_email_identity(EmailAddress=address)

    @staticmethod
    def environ_snapshot() -> dict[str, str | None]:
        keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE")
        return {k: os.environ.get(k) for k in keys}
