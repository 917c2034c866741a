"""What whoever runs ``redrive`` in AWS needs: the least-privilege policy of one service's
dead letters, derived from its declarations and Terraform's names.

The actions are the ones the tool calls, plus what AWS authorizes behind a call: a move
task reads and deletes in the dead-letter queue and sends to the source queue as the
caller (``StartMessageMoveTask``: ``sqs:ReceiveMessage``, ``sqs:DeleteMessage``,
``sqs:GetQueueAttributes`` on the source of the move, ``sqs:SendMessage`` on the
destination), and every queue is encrypted with the service's queue key, so reading
needs ``kms:Decrypt`` and sending ``kms:GenerateDataKey`` on it, through SQS only
(``kms:ViaService``). The key is named by its alias (``kms:ResourceAliases``): its id is
not known before it is created.
``tests/dead_letters/test_permissions.py`` holds this to parliament and to every call
the tool makes.
"""

from __future__ import annotations

from typing import Any

from tools.contract import names

from .queues import QUEUE, DeadLetterQueue, of_service

READ = ["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage"]
MOVE = ["sqs:GetQueueAttributes", "sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks"]
SEND_BACK = ["sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SendMessage"]
KEY = ["kms:Decrypt", "kms:GenerateDataKey"]


def policy(
    service: str,
    environment: str,
    *,
    account_id: str = names.ACCOUNT_ID,
    region: str = names.REGION,
) -> dict[str, Any]:
    """The IAM policy document that lets ``list`` and ``redrive`` do their work for
    ``service`` in ``environment`` (of ``account_id`` in ``region``), and nothing else."""
    queues: list[DeadLetterQueue] = of_service(service, environment)
    moved = [q for q in queues if q.kind == QUEUE]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadAndDeleteDeadLetters",
            "Effect": "Allow",
            "Action": READ,
            "Resource": [names.queue_arn(q.name) for q in queues],
        },
        {
            "Sid": "ReplayBySynchronousInvoke",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [names.function_arn(service, environment)],
        },
        {
            "Sid": "UseTheQueueKey",
            "Effect": "Allow",
            "Action": KEY,
            "Resource": [f"arn:aws:kms:{names.REGION}:{names.ACCOUNT_ID}:key/*"],
            "Condition": {
                "ForAnyValue:StringEquals": {
                    "kms:ResourceAliases": [names.queue_key_alias(service, environment)]
                },
                "StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"},
            },
        },
    ]
    if moved:
        statements += [
            {
                "Sid": "MoveQueueDeadLetters",
                "Effect": "Allow",
                "Action": MOVE,
                "Resource": [names.queue_arn(q.name) for q in moved],
            },
            {
                "Sid": "MoveBackToTheDeliveryQueues",
                "Effect": "Allow",
                "Action": SEND_BACK,
                "Resource": [names.queue_arn(str(q.source)) for q in moved],
            },
        ]
    # names.py builds moto's ARNs; the deployed account and region take their place.
    home, there = f":{names.REGION}:{names.ACCOUNT_ID}:", f":{region}:{account_id}:"
    for statement in statements:
        statement["Resource"] = [arn.replace(home, there) for arn in statement["Resource"]]
    return {"Version": "2012-10-17", "Statement": statements}
