"""Every AWS call a function made in the end-to-end suites (recorded by the local
system's workers, tools/local/call_log.py) against that function's role and the
permissions boundary, as the dev plan and the bootstrap create them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import tfharness

from tools.contract.names import function_name
from tools.iam.dynamodb_attributes import condition_context
from tools.iam.function_calls import Deployed, FunctionPolicies, problems, recorded_calls
from tools.iam.plans import boundary_policy, role_policies
from tools.iam.policy import Request, allows, decision

pytestmark = [pytest.mark.slow, pytest.mark.after_end_to_end]

ENV = "dev"
SENDERS = json.loads((tfharness.REPO_ROOT / "shared/resources.json").read_text())["email_senders"]


def function_policies(
    plan: dict[str, Any], bootstrap_plan: dict[str, Any]
) -> dict[str, FunctionPolicies]:
    by_role = role_policies(plan)
    boundary = boundary_policy(bootstrap_plan, ENV)
    return {
        # The execution role is named after its function.
        service: FunctionPolicies(by_role[function_name(service, ENV)], boundary)
        for service in tfharness.service_names()
    }


def test_every_recorded_call_is_allowed_by_the_functions_role_and_boundary(
    deployed_plan: dict[str, Any], bootstrap_plan: dict[str, Any]
) -> None:
    directory = Path(os.environ["LOCAL_CALL_LOG_DIR"])
    calls = recorded_calls(directory)
    if not calls:
        pytest.fail(
            f"no AWS call recorded in {directory}: this check reads the calls the end-to-end "
            "suites make, so run it in one session with them, e.g. "
            "`pytest tests/e2e tests/reliability tests/terraform` (make pytest does)"
        )
    deployed_senders = deployed_plan["variables"]["email_sender_addresses"]["value"]
    addresses = {sender["address"]: deployed_senders[name] for name, sender in SENDERS.items()}
    found = problems(
        calls,
        function_policies(deployed_plan, bootstrap_plan),
        Deployed(ENV, tfharness.REGION, tfharness.MOTO_ACCOUNT_ID, addresses),
    )
    assert found == [], "\n".join(found)


def test_readers_of_a_table_may_query_its_indexes_and_nothing_may_scan(
    deployed_plan: dict[str, Any], bootstrap_plan: dict[str, Any]
) -> None:
    account, region = tfharness.MOTO_ACCOUNT_ID, tfharness.REGION
    resources = json.loads((tfharness.REPO_ROOT / "shared/resources.json").read_text())
    manifests = {
        p.parent.name: json.loads(p.read_text())
        for p in (tfharness.REPO_ROOT / "services").glob("*/service.json")
    }
    policies = function_policies(deployed_plan, bootstrap_plan)
    context = {"aws:ResourceAccount": account}
    wrong = []
    for table, spec in resources["tables"].items():
        table_arn = f"arn:aws:dynamodb:{region}:{account}:table/{ENV}-{table.replace('_', '-')}"
        index_arns = [f"{table_arn}/index/{index}" for index in spec.get("indexes", {})]
        for service, granted in policies.items():
            access = manifests[service]["resources"].get("tables", {}).get(table, "")
            for arn in [table_arn, *index_arns]:
                # Neither the role nor the boundary: each would be one edit from a Scan.
                scan = Request("dynamodb:Scan", arn, context)
                for name, documents in (("role", granted.role), ("boundary", [granted.boundary])):
                    if documents != [None] and decision(documents, scan) == "Allow":
                        wrong.append(f"{service}'s {name} allows Scan on {arn}")
            for arn in index_arns:
                may_query = allows(
                    granted.role, granted.boundary, Request("dynamodb:Query", arn, context)
                )
                if may_query != ("read" in access):
                    wrong.append(f"{service} ({access or 'no access'}): Query {arn} {may_query}")
                for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"):
                    if allows(granted.role, granted.boundary, Request(action, arn, context)):
                        wrong.append(f"{service} may {action} on {arn}")
    assert any(spec.get("indexes") for spec in resources["tables"].values())
    assert wrong == [], "\n".join(wrong)


def test_each_attribute_of_an_owned_table_is_updated_by_its_owner_alone(
    deployed_plan: dict[str, Any], bootstrap_plan: dict[str, Any]
) -> None:
    account, region = tfharness.MOTO_ACCOUNT_ID, tfharness.REGION
    tables = json.loads((tfharness.REPO_ROOT / "shared/resources.json").read_text())["tables"]
    policies = function_policies(deployed_plan, bootstrap_plan)
    owned = {name: spec for name, spec in tables.items() if "created_by" in spec}
    assert owned, "no table in shared/resources.json declares owners"
    wrong = []
    for table, spec in owned.items():
        arn = f"arn:aws:dynamodb:{region}:{account}:table/{ENV}-{table.replace('_', '-')}"
        key = {"Key": {spec["hash_key"]: {"S": "1"}}}
        owners = {a: s for s, attributes in spec["updated_by"].items() for a in attributes}
        for service, granted in policies.items():
            put = condition_context({"Item": {spec["hash_key"]: {}, "anything": {}}})
            may_put = allows(granted.role, granted.boundary, Request("dynamodb:PutItem", arn, put))
            if may_put != (service == spec["created_by"]):
                wrong.append(f"{service}: PutItem on {table} {may_put}")
            for action in ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
                if allows(granted.role, granted.boundary, Request(action, arn, put)):
                    wrong.append(f"{service} may {action} on {table}")
            for attribute in [*owners, "customer_email"]:
                update = {**key, "UpdateExpression": "SET #a = :v"}
                context = condition_context(
                    update | {"ExpressionAttributeNames": {"#a": attribute}}
                )
                request = Request("dynamodb:UpdateItem", arn, context)
                may_update = allows(granted.role, granted.boundary, request)
                if may_update != (owners.get(attribute) == service):
                    wrong.append(f"{service}: UpdateItem of {table}.{attribute} {may_update}")
    assert wrong == [], "\n".join(wrong)
