"""Plan and apply the dev environment against a moto server, then read what was
created back through boto3 and compare it with the declarations
(shared/events/catalog.json, shared/resources.json, services/*/service.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import tfharness

from messaging.config import TRACING_VARIABLE
from tools import topology
from tools.contract import names
from tools.declarations import DEFAULTS
from tools.iam import reference

pytestmark = pytest.mark.slow

ROOT = tfharness.REPO_ROOT
CATALOG = json.loads((ROOT / "shared/events/catalog.json").read_text())
MANIFESTS = {
    p.parent.name: json.loads(p.read_text())
    for p in sorted((ROOT / "services").glob("*/service.json"))
}
ENV = "dev"


def env_suffix(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def kebab(name: str) -> str:
    return name.replace("_", "-")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def expected_filter_policies(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    by_topic: dict[str, dict[str, Any]] = {}
    for sub in manifest["subscribes"]:
        topic = CATALOG["events"][sub["event_type"]]["topic"]
        policy = by_topic.setdefault(topic, {"event_type": []})
        policy["event_type"] = sorted({*policy["event_type"], sub["event_type"]})
        policy.update(sub.get("filter", {}))
    return by_topic


def client(env: tfharness.MotoEnvironment, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=env.endpoint,
        region_name=tfharness.REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def iam_policies_in_plan(plan: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every identity or resource policy document the plan creates, by resource address."""
    fields = {"policy", "assume_role_policy"}
    found = []
    for change in plan["resource_changes"]:
        after = (change.get("change") or {}).get("after") or {}
        for field in fields & after.keys():
            if isinstance(after[field], str) and after[field].strip().startswith("{"):
                found.append((f"{change['address']}.{field}", json.loads(after[field])))
    return found


def test_first_plan_lists_one_function_per_manifest(moto_dev: tfharness.MotoEnvironment) -> None:
    plan = moto_dev.plan_json()
    functions = {
        c["change"]["after"]["function_name"]
        for c in plan["resource_changes"]
        if c["type"] == "aws_lambda_function"
    }
    assert functions == {f"{ENV}-{kebab(s)}" for s in MANIFESTS}


def test_apply_creates_what_the_declarations_say(
    deployed: tfharness.MotoEnvironment, deployed_plan: dict[str, Any]
) -> None:
    outputs = {k: v["value"] for k, v in deployed.output().items()}
    # The environment's sender addresses, as the harness sets them (a user: in tfvars).
    senders = deployed_plan["variables"]["email_sender_addresses"]["value"]
    assert senders == tfharness.moto_email_senders()
    check_deployment(deployed, outputs, senders)


def test_deployed_plan_grants_no_wildcard_actions_or_resources(
    deployed_plan: dict[str, Any],
) -> None:
    # After apply every ARN is known, so the plan shows every policy in full.
    policies = iam_policies_in_plan(deployed_plan)
    roles = [a for a, _ in policies if ".aws_iam_role_policy." in a]
    assert len(roles) >= len(MANIFESTS), "expected every function's role policy in the plan"
    problems = []
    for address, document in policies:
        is_key_policy = ".aws_kms_key." in address
        for statement in as_list(document["Statement"]):
            actions = as_list(statement.get("Action", []))
            problems += [f"{address}: wildcard action {a}" for a in actions if "*" in a]
            if statement["Effect"] != "Allow" or is_key_policy:
                # A key policy's "*" resource is the key itself.
                continue
            resources = as_list(statement.get("Resource", []))
            # "*" only for actions AWS authorizes on "*" alone (its authorization reference).
            if "*" in resources and not all(reference.takes_no_resource(a) for a in actions):
                problems.append(f"{address}: Resource * for {actions}")
    assert problems == []


# Topic attributes moto accepts but does not return, so a plan after apply wants
# to set them again (moto only; AWS returns them).
MOTO_UNRETURNED_TOPIC_ATTRIBUTES = {
    "tracing_config",
    "lambda_success_feedback_role_arn",
    "lambda_failure_feedback_role_arn",
    "lambda_success_feedback_sample_rate",
}


# moto (5.2) tags an SES v2 identity under arn:...:email-identity/<address> but the
# provider lists tags under arn:...:identity/<address>, so it reads none back.
MOTO_UNRETURNED_ATTRIBUTES = {
    "aws_sns_topic": MOTO_UNRETURNED_TOPIC_ATTRIBUTES,
    "aws_sesv2_email_identity": {"tags_all"},
}


# JSON attributes moto returns re-serialized by Python's json.dumps (", " and ": "), so
# the provider, which stores what it reads and compares it with the compact JSON of the
# configuration, sees a change; AWS returns compact JSON (moto 5: Queue.attributes).
# Only a document equal to the configured one once parsed is let through.
MOTO_RESPACED_JSON_ATTRIBUTES = {"aws_sqs_queue": {"redrive_policy"}}


def _respaced_only(resource_type: str, key: str, before: Any, after: Any) -> bool:
    if key not in MOTO_RESPACED_JSON_ATTRIBUTES.get(resource_type, set()):
        return False
    return (
        isinstance(before, str)
        and isinstance(after, str)
        and (json.loads(before) == json.loads(after))
    )


def test_a_second_plan_changes_nothing_but_what_moto_drops(deployed_plan: dict[str, Any]) -> None:
    unexpected = {}
    for change in deployed_plan["resource_changes"]:
        if change["change"]["actions"] == ["no-op"]:
            continue
        before, after = change["change"]["before"] or {}, change["change"]["after"] or {}
        changed = {k for k in after if before.get(k) != after.get(k)}
        differing = {
            k for k in changed if not _respaced_only(change["type"], k, before.get(k), after.get(k))
        }
        if changed and not differing:
            continue  # in-place update of re-spaced JSON only
        dropped = MOTO_UNRETURNED_ATTRIBUTES.get(change["type"])
        if dropped is None or not differing <= dropped:
            unexpected[change["address"]] = (
                change["change"]["actions"],
                {k: (before.get(k), after.get(k)) for k in sorted(differing)},
            )
    assert unexpected == {}


def test_unchanged_code_does_not_redeploy(deployed_plan: dict[str, Any]) -> None:
    functions = [c for c in deployed_plan["resource_changes"] if c["type"] == "aws_lambda_function"]
    assert len(functions) == len(MANIFESTS)
    assert all(c["change"]["actions"] == ["no-op"] for c in functions), [
        (c["address"], c["change"]["actions"]) for c in functions
    ]


def check_deployment(
    env: tfharness.MotoEnvironment, outputs: dict[str, Any], senders: dict[str, str]
) -> None:
    sns, lam, sqs, iam = (client(env, s) for s in ("sns", "lambda", "sqs", "iam"))
    account = tfharness.MOTO_ACCOUNT_ID

    topic_arns = {
        t: f"arn:aws:sns:{tfharness.REGION}:{account}:{ENV}-{t}" for t in CATALOG["topics"]
    }
    assert outputs["topic_arns"] == topic_arns
    existing = {t["TopicArn"] for t in sns.list_topics()["Topics"]}
    assert set(topic_arns.values()) <= existing
    for arn in topic_arns.values():
        assert sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("KmsMasterKeyId")

    for service, manifest in MANIFESTS.items():
        name = f"{ENV}-{kebab(service)}"
        assert outputs["function_names"][service] == name
        config = lam.get_function_configuration(FunctionName=name)
        assert config["Handler"] == manifest["handler"]
        assert config["Runtime"] == manifest.get("runtime", DEFAULTS["runtime"])
        assert config["Architectures"] == [manifest.get("architecture", DEFAULTS["architecture"])]
        assert config["MemorySize"] == manifest.get("memory_mb", DEFAULTS["memory_mb"])
        assert config["Timeout"] == manifest.get("timeout_s", DEFAULTS["timeout_s"])
        assert config["TracingConfig"]["Mode"] == "Active"

        dlq_url = outputs["dead_letter_queue_urls"][service]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        assert dlq_arn.endswith(f":{name}-on-failure")

        resources = manifest.get("resources", {})
        publish_topics = sorted({CATALOG["events"][e]["topic"] for e in manifest["publishes"]})
        expected_env = {
            TRACING_VARIABLE: "xray",  # dev's tracing_backend
            "SERVICE_NAME": service,
            "ENVIRONMENT": ENV,
            "PUBLISHES": ",".join(manifest["publishes"]),
            "LOG_LEVEL": "DEBUG",
            "DEAD_LETTER_QUEUE_URL": dlq_url,
            "FUNCTION_TIMEOUT_S": str(manifest["timeout_s"]),
            # idempotency records outlive the maximum event age plus the 14-day redrive window
            "IDEMPOTENCY_TTL_S": str(manifest["retries"]["maximum_event_age_s"] + 14 * 86400),
            **{f"TOPIC_ARN_{env_suffix(t)}": topic_arns[t] for t in publish_topics},
            **{f"TABLE_{env_suffix(t)}": f"{ENV}-{t}" for t in resources.get("tables", {})},
            **{
                f"BUCKET_{env_suffix(b)}": f"{ENV}-{b}-{account}"
                for b in resources.get("buckets", {})
            },
            **{
                f"EMAIL_SENDER_{env_suffix(s)}": senders[s]
                for s in resources.get("email_senders", [])
            },
        }
        assert config["Environment"]["Variables"] == expected_env

        invoke = lam.get_function_event_invoke_config(FunctionName=name)
        retries = manifest.get("retries", {})
        assert invoke["MaximumRetryAttempts"] == retries.get("maximum_retry_attempts", 2)
        assert invoke["MaximumEventAgeInSeconds"] == retries.get("maximum_event_age_s", 3600)
        assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == dlq_arn

        # The role carries the environment's permissions boundary (terraform/bootstrap).
        role = iam.get_role(RoleName=name)["Role"]
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
            f"arn:aws:iam::{account}:policy/{ENV}-role-boundary"
        )

        # sns:Publish exactly on the topics of the declared event types.
        document = iam.get_role_policy(RoleName=name, PolicyName="declared-access")[
            "PolicyDocument"
        ]
        if isinstance(document, str):
            document = json.loads(document)
        published_to = sorted(
            r
            for s in as_list(document["Statement"])
            if "sns:Publish" in as_list(s["Action"])
            for r in as_list(s["Resource"])
        )
        assert published_to == sorted(topic_arns[t] for t in publish_topics)

        # A declared schedule is an EventBridge rule targeting this function.
        events = client(env, "events")
        rules = events.list_rules(NamePrefix=f"{name}-schedule")["Rules"]
        if "schedule" in manifest:
            assert [r["ScheduleExpression"] for r in rules] == [manifest["schedule"]]
            targets = events.list_targets_by_rule(Rule=rules[0]["Name"])["Targets"]
            assert [t["Arn"] for t in targets] == [config["FunctionArn"]]
        else:
            assert rules == []

        # One subscription per consumed topic, with the manifest's filter policy: to the
        # function, or (queue delivery) to the queue an event source mapping reads.
        expected_policies = expected_filter_policies(manifest)
        queued = {s.topic: s for s in topology.subscriptions() if s.service == service and s.queue}
        endpoints = {config["FunctionArn"]: "lambda"}
        for topic, settings in queued.items():
            queue_url = sqs.get_queue_url(QueueName=names.delivery_queue_name(service, topic, ENV))
            queue = sqs.get_queue_attributes(
                QueueUrl=queue_url["QueueUrl"], AttributeNames=["All"]
            )["Attributes"]
            assert settings.queue is not None
            assert int(queue["VisibilityTimeout"]) == settings.queue.visibility_timeout_s
            redrive_to = json.loads(queue["RedrivePolicy"])
            assert redrive_to["deadLetterTargetArn"].endswith(
                ":" + names.delivery_queue_dlq_name(service, topic, ENV)
            )
            assert int(redrive_to["maxReceiveCount"]) == settings.queue.max_receive_count
            [mapping] = lam.list_event_source_mappings(EventSourceArn=queue["QueueArn"])[
                "EventSourceMappings"
            ]
            assert mapping["FunctionArn"] == config["FunctionArn"]
            assert mapping["BatchSize"] == settings.queue.batch_size
            assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            endpoints[queue["QueueArn"]] = "sqs"
        subscriptions = {}
        for topic, arn in topic_arns.items():
            for sub in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]:
                if sub["Endpoint"] in endpoints:
                    assert topic not in subscriptions, f"{service} has two subscriptions on {topic}"
                    subscriptions[topic] = sub["SubscriptionArn"]
        assert set(subscriptions) == set(expected_policies)
        for topic, sub_arn in subscriptions.items():
            attrs = sns.get_subscription_attributes(SubscriptionArn=sub_arn)["Attributes"]
            assert attrs["Protocol"] == ("sqs" if topic in queued else "lambda")
            assert json.loads(attrs["FilterPolicy"]) == expected_policies[topic]
            assert attrs["FilterPolicyScope"] == "MessageAttributes"
            redrive = json.loads(attrs["RedrivePolicy"])
            assert redrive["deadLetterTargetArn"].endswith(f":{name}-delivery-dlq")

    declared = {
        f"{r['method']} {r['path']}": r for m in MANIFESTS.values() for r in m.get("routes", [])
    }
    routes = sorted(declared)
    if routes:
        api = client(env, "apigatewayv2")
        api_id = next(a["ApiId"] for a in api.get_apis()["Items"] if a["Name"] == f"{ENV}-http")
        served = {r["RouteKey"]: r for r in api.get_routes(ApiId=api_id)["Items"]}
        assert sorted(served) == routes
        assert outputs["api_url"]

        # Routes declared jwt go through the one JWT authorizer, with their scopes.
        jwt_routes = {key: served[key] for key, r in declared.items() if r["auth"] == "jwt"}
        for key, route in served.items():
            if key not in jwt_routes:
                assert route.get("AuthorizationType", "NONE") == "NONE", route
                assert route.get("AuthorizerId") is None, route
        if jwt_routes:
            [authorizer_id] = {r.get("AuthorizerId") for r in jwt_routes.values()}
            authorizer = api.get_authorizer(ApiId=api_id, AuthorizerId=str(authorizer_id))
            assert authorizer["AuthorizerType"] == "JWT"
            assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
            assert authorizer["JwtConfiguration"] == {
                "Issuer": tfharness.MOTO_JWT_ISSUER,
                "Audience": tfharness.MOTO_JWT_AUDIENCE,
            }
            for key, route in jwt_routes.items():
                assert route["AuthorizationType"] == "JWT", route
                scopes = sorted(route.get("AuthorizationScopes") or [])
                assert scopes == sorted(declared[key].get("scopes", [])), route

    # Each sender is an SES (v2) identity of the address the environment sets.
    ses = client(env, "sesv2")
    identities = {i["IdentityName"] for i in ses.list_email_identities()["EmailIdentities"]}
    assert set(tfharness.moto_email_senders().values()) <= identities

    # The alarm topic reaches the subscribers the environment sets.
    alarm_subs = sns.list_subscriptions_by_topic(TopicArn=outputs["alarm_topic_arn"])
    assert sorted(
        {"protocol": s["Protocol"], "endpoint": s["Endpoint"]} for s in alarm_subs["Subscriptions"]
    ) == sorted(tfharness.MOTO_ALARM_SUBSCRIPTIONS, key=lambda s: (s["protocol"], s["endpoint"]))

    # One set of delivery alarms per topic, however many functions subscribe.
    cloudwatch = client(env, "cloudwatch")
    alarms = [
        a
        for page in cloudwatch.get_paginator("describe_alarms").paginate()
        for a in page["MetricAlarms"]
    ]
    for topic in CATALOG["topics"]:
        on_topic = sorted(
            a["MetricName"]
            for a in alarms
            if a["Namespace"] == "AWS/SNS"
            and {"Name": "TopicName", "Value": f"{ENV}-{topic}"} in a["Dimensions"]
        )
        assert on_topic == [
            "NumberOfNotificationsFailed",
            "NumberOfNotificationsFailedToRedriveToDlq",
        ]
    if routes:
        assert "5xx" in {a["MetricName"] for a in alarms if a["Namespace"] == "AWS/ApiGateway"}


def test_manifests_are_readable() -> None:
    # Guard for the expectations above: every manifest names catalog events.
    for manifest in MANIFESTS.values():
        for event in manifest["publishes"] + [s["event_type"] for s in manifest["subscribes"]]:
            assert event in CATALOG["events"]
    assert Path(tfharness.TERRAFORM_DIR / "environments" / ENV).is_dir()


def test_tables_have_the_declared_keys_and_sparse_indexes(
    deployed: tfharness.MotoEnvironment,
) -> None:
    dynamodb = client(deployed, "dynamodb")
    declared = json.loads((ROOT / "shared/resources.json").read_text())["tables"]
    for name, spec in declared.items():
        table = dynamodb.describe_table(TableName=f"{ENV}-{kebab(name)}")["Table"]
        assert table["KeySchema"] == [{"AttributeName": spec["hash_key"], "KeyType": "HASH"}]
        indexes = {
            index["IndexName"]: (
                index["KeySchema"],
                index["Projection"]["ProjectionType"],
                sorted(index["Projection"].get("NonKeyAttributes", [])),
            )
            for index in table.get("GlobalSecondaryIndexes", [])
        }
        assert indexes == {
            index_name: (
                [
                    {"AttributeName": index["hash_key"], "KeyType": "HASH"},
                    {"AttributeName": index["range_key"], "KeyType": "RANGE"},
                ],
                "INCLUDE" if index.get("projected") else "KEYS_ONLY",
                sorted(index.get("projected", [])),
            )
            for index_name, index in spec.get("indexes", {}).items()
        }, name


def test_the_dashboard_reads_back_with_every_function_topic_and_event_metric(
    deployed: tfharness.MotoEnvironment,
) -> None:
    from messaging.metrics import COUNTS, DURATION

    outputs = {k: v["value"] for k, v in deployed.output().items()}
    assert outputs["dashboard_name"] == f"{ENV}-messaging"
    body = json.loads(
        client(deployed, "cloudwatch").get_dashboard(DashboardName=outputs["dashboard_name"])[
            "DashboardBody"
        ]
    )
    charted: set[tuple[str, ...]] = set()
    for widget in body["widgets"]:
        assert widget["properties"]["region"] == tfharness.REGION
        previous: list[Any] = []
        for metric in widget["properties"]["metrics"]:
            names = [m for m in metric if isinstance(m, str)]
            # "." repeats the metric above's value in that position, as CloudWatch reads it
            names = [previous[i] if n == "." else n for i, n in enumerate(names)]
            previous = names
            charted.add(tuple(names))
    namespace = CATALOG["metrics"]["namespace"]
    expected: set[tuple[str, ...]] = set()
    for service, manifest in MANIFESTS.items():
        function = f"{ENV}-{kebab(service)}"
        for name in ("Invocations", "Errors", "Throttles", "Duration"):
            expected.add(("AWS/Lambda", name, "FunctionName", function))
        for event_type in manifest["publishes"]:
            expected.add((namespace, "Published", "Service", service, "EventType", event_type))
        for subscription in manifest["subscribes"]:
            for name in (*(c for c in COUNTS if c != "Published"), DURATION):
                expected.add(
                    (namespace, name, "Service", service, "EventType", subscription["event_type"])
                )
    for topic in CATALOG["topics"]:
        for name in ("NumberOfMessagesPublished", "NumberOfNotificationsFailed"):
            expected.add(("AWS/SNS", name, "TopicName", f"{ENV}-{topic}"))
    assert charted == expected
