import boto3

iam = boto3.client('iam')


def create_staff(name):
    return iam.create_user(UserName=name, Tags=[{'Key': 'team', 'Value': 'clinic'}])
