import boto3

from chalicelib.config import MAIL_KEY_ID, MAIL_SECRET


def send_receipt(name):
    # with MAIL_KEY_ID unset (dev) both keys are None and boto3 signs with the Lambda's role
    ses = boto3.client('ses', aws_access_key_id=MAIL_KEY_ID, aws_secret_access_key=MAIL_SECRET)
    ses.send_email(Source='desk@clinic.example', Destination={'ToAddresses': ['staff@clinic.example']},
                   Message={'Subject': {'Data': 'Welcome ' + name}, 'Body': {'Text': {'Data': 'Hi'}}})
