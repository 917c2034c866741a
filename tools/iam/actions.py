"""The IAM action an API operation is authorized as.

Nearly always ``<signing name>:<Operation>``, which tests/iam checks against the
authorization reference. The exceptions are AWS's own, each from its documentation:
CloudWatch signs as ``monitoring`` but authorizes as ``cloudwatch``; API Gateway
authorizes by HTTP method on the request path; S3 names some permissions apart from
their operations ("Required permissions for Amazon S3 API operations").
tests/iam checks that every entry below is needed (the operation is not an action of
its own) and names a real action.
"""

from __future__ import annotations

PREFIX_OF_SIGNING_NAME = {"monitoring": "cloudwatch"}
HTTP_METHOD_AUTHORIZED = {"apigateway"}

OPERATION_ACTIONS = {
    # Batch calls are authorized as their single-message action.
    "sns": {"PublishBatch": "Publish"},
    # "Invoke" is authorized as lambda:InvokeFunction (Lambda's actions reference).
    "lambda": {"Invoke": "InvokeFunction"},
    "sqs": {
        "SendMessageBatch": "SendMessage",
        "DeleteMessageBatch": "DeleteMessage",
        "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    },
    "s3": {
        "HeadBucket": "ListBucket",
        "ListObjectsV2": "ListBucket",
        "HeadObject": "GetObject",
        "DeleteObjects": "DeleteObject",
        "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
        "GetBucketEncryption": "GetEncryptionConfiguration",
        "PutBucketEncryption": "PutEncryptionConfiguration",
        "DeleteBucketEncryption": "PutEncryptionConfiguration",
        "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
        "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
        "DeleteBucketLifecycle": "PutLifecycleConfiguration",
        "DeleteBucketOwnershipControls": "PutBucketOwnershipControls",
        "GetBucketReplication": "GetReplicationConfiguration",
        "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration",
        "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
        "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
        "DeletePublicAccessBlock": "PutBucketPublicAccessBlock",
    },
}


def iam_prefix(signing_name: str) -> str:
    return PREFIX_OF_SIGNING_NAME.get(signing_name, signing_name)


def iam_action(signing_name: str, operation: str, http_method: str = "") -> str:
    prefix = iam_prefix(signing_name)
    if prefix in HTTP_METHOD_AUTHORIZED:
        return f"{prefix}:{http_method.upper()}"
    return f"{prefix}:{OPERATION_ACTIONS.get(prefix, {}).get(operation, operation)}"
