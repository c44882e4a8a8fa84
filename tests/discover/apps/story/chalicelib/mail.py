import os

import boto3

ses = boto3.client("ses")
SENDER = os.environ.get("SENDER", "noreply@example.com")


def notify_owner(owner, listing_id):
    ses.send_email(
        Source=SENDER,
        Destination={"ToAddresses": [owner]},
        Message={"Subject": {"Data": "Listing updated"},
                 "Body": {"Text": {"Data": f"Listing {listing_id} was updated."}}},
    )
