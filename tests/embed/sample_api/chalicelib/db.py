"""DynamoDB access shared by the services.

Tables are named per stage: the code says "listings", the stage's table is "listings-dev".
"""
import functools
import os

import boto3

_resource = None


def dynamodb():
    global _resource
    if _resource is None:
        _resource = boto3.resource("dynamodb")
    return _resource


def stage_table(fn):
    """Append the stage to the table name (listings -> listings-dev)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        kwargs["table_name"] += "-" + os.environ["STAGE"]
        return fn(*args, **kwargs)

    return wrapper


@stage_table
def table(table_name):
    return dynamodb().Table(table_name)
