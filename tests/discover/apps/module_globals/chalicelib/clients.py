import os

import boto3

S3 = boto3.client("s3")
EMAIL = boto3.client("sesv2")
TABLE = boto3.resource("dynamodb").Table(f"{os.environ['STAGE']}-orders")
