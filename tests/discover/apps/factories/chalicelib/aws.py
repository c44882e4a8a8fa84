import functools

import boto3

_ssm = None


def ssm():
    global _ssm
    if _ssm is None:
        _ssm = boto3.client("ssm")
    return _ssm


@functools.lru_cache(maxsize=None)
def dynamo():
    return boto3.resource("dynamodb")


def table(name):
    return dynamo().Table(name)


def lambda_client(region=None):
    return boto3.client("lambda", region_name=region)
