"""Record every AWS call a function makes, through botocore's event hooks.

Installed by worker.py when ``LOCAL_CALL_LOG_DIR`` is set (the test session sets it):
one JSON line per call, in ``<dir>/<service>-<pid>.jsonl``, with the service, the API
and operation, and the parameters that name the resource (topic, queue, table, bucket
and key, sender). tests/terraform/test_iam_function_roles.py checks each against the
function's role and boundary. Standard library only, like the worker; botocore comes
from the function's own artifact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV_VAR = "LOCAL_CALL_LOG_DIR"
# Parameters that say which resource a call acts on (never message bodies or items).
RESOURCE_PARAMS = (
    "TopicArn",
    "TargetArn",
    "QueueUrl",
    "TableName",
    "Bucket",
    "Key",
    "Source",
    "FromEmailAddress",
    "FunctionName",
    "KeyId",
)


def resource_params(params: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {k: params[k] for k in RESOURCE_PARAMS if k in params}
    if isinstance(params.get("RequestItems"), dict):
        found["RequestItems"] = {table: None for table in params["RequestItems"]}
    if isinstance(params.get("TransactItems"), list):
        found["TransactItems"] = [
            {kind: {"TableName": item[kind].get("TableName")} for kind in item}
            for item in params["TransactItems"]
        ]
    return found


def install(directory: str, service: str) -> Path:
    """Hook every client of boto3's default session (messaging.aws creates them there)."""
    import boto3

    path = Path(directory) / f"{service}-{os.getpid()}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    region = os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", ""))

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        line = {
            "service": service,
            "api": model.service_model.service_name,
            "signing_name": model.service_model.signing_name,
            "operation": model.name,
            "region": region,
            "params": resource_params(params),
        }
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, default=str) + "\n")

    session = boto3._get_default_session()  # the session boto3.client() uses
    session.events.register("provide-client-params", record)
    return path
