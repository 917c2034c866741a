"""The ARNs an API call acts on, from its parameters: the same for a call read from the
provider's debug log (wire parameters) and one recorded through botocore (API parameters).

Only the parameters the services of this repository pass are known; a call whose
resource cannot be told returns ``None`` and the checks report it rather than guess.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse


def _name_of(value: str, marker: str) -> str:
    """A name given as a name or as an ARN/URL ending in it."""
    return value.rsplit(marker, 1)[-1] if marker in value else value


def resource_arns(
    prefix: str, operation: str, params: dict[str, Any], region: str, account: str
) -> list[str] | None:
    base = f"{region}:{account}"
    p = params
    if prefix == "sns":
        if "TopicArn" in p:
            return [p["TopicArn"]]
        if "ResourceArn" in p:
            return [p["ResourceArn"]]
        if operation == "CreateTopic":
            return [f"arn:aws:sns:{base}:{p['Name']}"]
    elif prefix == "sqs":
        if "QueueUrl" in p:
            return [f"arn:aws:sqs:{base}:{p['QueueUrl'].rstrip('/').rsplit('/', 1)[-1]}"]
        if "QueueName" in p:
            return [f"arn:aws:sqs:{base}:{p['QueueName']}"]
    elif prefix == "dynamodb":
        if "TableName" in p:
            table = f"arn:aws:dynamodb:{base}:table/{_name_of(p['TableName'], 'table/')}"
            # A query or scan of an index is authorized on the index, not the table.
            return [f"{table}/index/{p['IndexName']}" if "IndexName" in p else table]
        if "ResourceArn" in p:
            return [p["ResourceArn"]]
        if "RequestItems" in p:
            return [f"arn:aws:dynamodb:{base}:table/{t}" for t in sorted(p["RequestItems"])]
    elif prefix == "kms":
        arns = []
        for key in ("KeyId", "TargetKeyId"):
            if key in p:
                arns.append(_kms_arn(p[key], base))
        if "AliasName" in p:
            arns.append(f"arn:aws:kms:{base}:{p['AliasName']}")
        return arns or None
    elif prefix == "iam":
        if "RoleName" in p:
            return [f"arn:aws:iam::{account}:role/{p['RoleName']}"]
        if "PolicyArn" in p:
            return [p["PolicyArn"]]
    elif prefix == "logs":
        if "logGroupName" in p:
            return [f"arn:aws:logs:{base}:log-group:{p['logGroupName']}"]
        if "resourceArn" in p:
            return [p["resourceArn"].removesuffix(":*")]
    elif prefix == "cloudwatch":
        names = [v for k, v in p.items() if k == "AlarmName" or k.startswith("AlarmNames.")]
        if isinstance(p.get("AlarmNames"), list):
            names += p["AlarmNames"]
        if names:
            return [f"arn:aws:cloudwatch:{base}:alarm:{n}" for n in names]
        dashboards = [
            v for k, v in p.items() if k == "DashboardName" or k.startswith("DashboardNames.")
        ]
        if isinstance(p.get("DashboardNames"), list):
            dashboards += p["DashboardNames"]
        if dashboards:  # a dashboard's ARN has no region
            return [f"arn:aws:cloudwatch::{account}:dashboard/{n}" for n in dashboards]
        if "ResourceARN" in p:
            return [p["ResourceARN"]]
    elif prefix == "events":
        for key in ("Name", "Rule"):
            if key in p:
                return [f"arn:aws:events:{base}:rule/{p[key]}"]
        if "ResourceARN" in p:
            return [p["ResourceARN"]]
    elif prefix == "lambda":
        # A mapping's own calls are authorized on the mapping, whatever function they name.
        if "UUID" in p:
            return [event_source_mapping_arn(p["UUID"], region, account)]
        if "FunctionName" in p:
            return [function_arn(p["FunctionName"], region, account)]
        if "Resource" in p:
            return [p["Resource"]]
    elif prefix == "s3":
        if "Bucket" in p:
            obj = p.get("Key")
            return [f"arn:aws:s3:::{p['Bucket']}" + (f"/{obj}" if obj is not None else "")]
    elif prefix == "ses":
        for key in ("Source", "FromEmailAddress", "EmailIdentity"):
            if key in p:
                return [f"arn:aws:ses:{base}:identity/{p[key]}"]
        if "ResourceArn" in p:
            return [p["ResourceArn"]]
    return None


def event_source_mapping_arn(uuid: str, region: str, account: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:event-source-mapping:{uuid}"


def function_arn(name: str, region: str, account: str) -> str:
    """A function named by name or ARN, as the ARN IAM compares (``lambda:FunctionArn``)."""
    return f"arn:aws:lambda:{region}:{account}:function:{_name_of(name, ':function:')}"


def _kms_arn(key: str, base: str) -> str:
    if key.startswith("arn:"):
        return key
    if key.startswith("alias/"):
        # AWS authorizes the call on the key the alias names (kms:RequestAlias tells which).
        return f"arn:aws:kms:{base}:key/({key})"
    return f"arn:aws:kms:{base}:key/{key}"


def rest_params(prefix: str, url: str) -> dict[str, Any]:
    """The parameters a REST API carries in its path (Lambda, S3 in path style, API Gateway)."""
    path = urlparse(url).path
    parts = [unquote(s) for s in path.split("/") if s]
    if prefix == "lambda":
        mappings = "event-source-mappings"
        if mappings in parts and parts.index(mappings) + 1 < len(parts):
            return {"UUID": parts[parts.index(mappings) + 1]}
        if "functions" in parts and parts.index("functions") + 1 < len(parts):
            return {"FunctionName": parts[parts.index("functions") + 1]}
        if "tags" in parts:
            return {"Resource": parts[parts.index("tags") + 1]}
        return {}
    if prefix == "s3" and parts:
        found: dict[str, Any] = {"Bucket": parts[0]}
        if len(parts) > 1:
            found["Key"] = "/".join(parts[1:])
        return found
    if prefix == "apigateway":
        return {"Path": path}
    if prefix == "ses" and "identities" in parts and parts.index("identities") + 1 < len(parts):
        return {"EmailIdentity": parts[parts.index("identities") + 1]}  # SES v2
    return {}
