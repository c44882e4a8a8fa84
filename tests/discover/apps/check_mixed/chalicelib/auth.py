import os

import boto3

cognito = boto3.client("cognito-idp")


def sign_in(username, password):
    return cognito.initiate_auth(ClientId=os.environ["CLIENT_ID"], AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": username, "PASSWORD": password})
