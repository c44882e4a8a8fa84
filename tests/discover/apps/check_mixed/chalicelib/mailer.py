import os

import boto3

# The team's mail account: its own keys, not the Lambda's role.
ses = boto3.client("ses", region_name="us-east-1",
                   aws_access_key_id=os.environ.get("MAIL_KEY_ID"),
                   aws_secret_access_key=os.environ.get("MAIL_SECRET"))


def notify(to, text):
    ses.send_email(Source="reports@mixed.example.com", Destination={"ToAddresses": [to]},
                   Message={"Subject": {"Data": "report"}, "Body": {"Text": {"Data": text}}})
