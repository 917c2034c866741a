"""Every physical name the contract produces is the name Terraform plans, underscores included.

The declarations are copied with a throwaway topic, service, table and bucket whose
names hold ``_``; ``modules/system`` is planned for them against a moto server (only
the account look-up reaches it) and each name in the plan is compared with
``tools/contract/names.py``'s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools import declarations, topology
from tools.contract import names
from tools.declarations import ROOT

sys.path.insert(0, str(ROOT / "tests" / "terraform"))
import tfharness

ENV = "test"
TOPIC = "audit_trail"
EVENT = "audit.entry_added"
SERVICE = "audit_log_writer"
TABLE = "audit_entries"
BUCKET = "audit_exports"


def _declarations(root: Path) -> list[str]:
    """The repository's declarations plus the throwaway ones; the service names."""
    shutil.copytree(ROOT / "shared" / "events", root / "shared" / "events")
    catalog = json.loads((root / "shared" / "events" / "catalog.json").read_text())
    catalog["topics"][TOPIC] = {"description": "Throwaway: a topic with an underscore."}
    catalog["events"][EVENT] = {"topic": TOPIC, "version": 1, "attributes": []}
    (root / "shared" / "events" / "catalog.json").write_text(json.dumps(catalog))
    resources = json.loads((ROOT / "shared" / "resources.json").read_text())
    resources["tables"][TABLE] = {"description": "Throwaway.", "hash_key": "id"}
    resources["buckets"][BUCKET] = {"description": "Throwaway.", "expire_after_days": 1}
    (root / "shared" / "resources.json").write_text(json.dumps(resources))
    shutil.copy(ROOT / "shared" / "aws_limits.json", root / "shared" / "aws_limits.json")
    services = root / "services"
    shutil.copy(ROOT / "services" / "service.schema.json", services.mkdir(parents=True) or services)
    for manifest in (ROOT / "services").glob("*/service.json"):
        (services / manifest.parent.name).mkdir()
        shutil.copy(manifest, services / manifest.parent.name / "service.json")
    (services / SERVICE).mkdir()
    (services / SERVICE / "service.json").write_text(
        json.dumps(
            {
                "description": "Throwaway: a service with an underscore in every name.",
                "handler": f"{SERVICE}.handler.handle",
                "publishes": [EVENT],
                "subscribes": [
                    {"event_type": "order.placed"},
                    {
                        "event_type": EVENT,
                        "delivery": "queue",
                        "queue": {
                            "batch_size": 20,
                            "maximum_batching_window_s": 3,
                            "maximum_concurrency": 7,
                        },
                    },
                ],
                "schedule": "rate(5 minutes)",
                "resources": {"tables": {TABLE: "write"}, "buckets": {BUCKET: "read"}},
            }
        )
    )
    return sorted(p.parent.name for p in services.glob("*/service.json"))


def _plan(root: Path, endpoint: str, services: list[str]) -> dict[str, Any]:
    # A relative source: Terraform treats an absolute one as a package of its own.
    shutil.copytree(
        ROOT / "terraform" / "modules",
        root / "terraform" / "modules",
        ignore=shutil.ignore_patterns(".terraform*", "tests"),
    )
    workdir = root / "terraform" / "plan"
    workdir.mkdir()
    (workdir / "main.tf").write_text(
        f"""
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws", version = "5.100.0" }}
  }}
}}

provider "aws" {{
  region = "{tfharness.REGION}"
}}

module "system" {{
  source        = "../modules/system"
  environment   = "{ENV}"
  repo_root     = "{root}"
  artifacts_dir = "{root / "artifacts"}"

  # What an environment sets (docs/terraform.md): subscribers, a sender per sender, the JWT issuer.
  alarm_subscriptions    = [{{ protocol = "email", endpoint = "oncall@names.example.com" }}]
  email_sender_addresses = {json.dumps(tfharness.moto_email_senders())}
  jwt_authorizer = {{
    issuer   = "{tfharness.MOTO_JWT_ISSUER}"
    audience = {json.dumps(tfharness.MOTO_JWT_AUDIENCE)}
  }}
}}
"""
    )
    (workdir / "moto_override.tf").write_text(tfharness.override_tf(endpoint))
    tfharness.placeholder_zips(root / "artifacts", services)
    env = {
        **tfharness.os.environ,
        "TF_CLI_CONFIG_FILE": str(tfharness.cli_config(root)),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
    }
    binary = str(tfharness.terraform_binary())
    for args in (["init", "-no-color"], ["plan", "-no-color", "-out=tfplan"]):
        done = subprocess.run(
            [binary, *args], cwd=workdir, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"terraform {args[0]}:\n{done.stdout[-4000:]}{done.stderr}"
    shown = subprocess.run(
        [binary, "show", "-json", "tfplan"], cwd=workdir, env=env, capture_output=True, check=True
    )
    return dict(json.loads(shown.stdout))


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[str]]:
    """``{address: planned values}`` of every managed resource, and the service names."""
    if tfharness.terraform_binary() is None:
        pytest.skip("SKIPPED: terraform not installed; the names are not compared with a plan")
    root = tmp_path_factory.mktemp("names")
    services = _declarations(root)
    with tfharness.moto_server() as endpoint:
        plan = _plan(root, endpoint, services)
    resources = {
        change["address"]: change["change"]["after"]
        for change in plan["resource_changes"]
        if change["mode"] == "managed"
    }
    return resources, services


def _name(resources: dict[str, Any], address: str, attribute: str = "name") -> str:
    assert address in resources, f"{address} is not in the plan"
    return str(resources[address][attribute])


def test_every_physical_name_is_the_one_terraform_plans(
    planned: tuple[dict[str, Any], list[str]],
) -> None:
    resources, services = planned
    catalog = json.loads((ROOT / "shared" / "events" / "catalog.json").read_text())
    for topic in [*catalog["topics"], TOPIC]:
        address = f'module.system.module.topics["{topic}"].aws_sns_topic.this'
        assert _name(resources, address) == names.topic_name(topic, ENV)
    shared = json.loads((ROOT / "shared" / "resources.json").read_text())
    for table in [*shared["tables"], TABLE]:
        address = f'module.system.module.shared.aws_dynamodb_table.this["{table}"]'
        assert _name(resources, address) == names.table_name(table, ENV)
    for bucket in [*shared["buckets"], BUCKET]:
        address = f'module.system.module.shared.aws_s3_bucket.this["{bucket}"]'
        assert _name(resources, address, "bucket") == names.bucket_name(bucket, ENV)
    assert SERVICE in services
    for service in services:
        module = f'module.system.module.services["{service}"]'
        function = _name(resources, f"{module}.aws_lambda_function.this", "function_name")
        assert function == names.function_name(service, ENV)
        on_failure = _name(resources, f"{module}.aws_sqs_queue.on_failure")
        assert on_failure == names.on_failure_queue_name(service, ENV)
        alias = _name(resources, f"{module}.module.queue_key.aws_kms_alias.this")
        assert alias == names.queue_key_alias(service, ENV)
        if f"{module}.aws_sqs_queue.delivery_dlq[0]" in resources:
            delivery = _name(resources, f"{module}.aws_sqs_queue.delivery_dlq[0]")
            assert delivery == names.delivery_dlq_name(service, ENV)
        if f"{module}.aws_cloudwatch_event_rule.schedule[0]" in resources:
            rule = _name(resources, f"{module}.aws_cloudwatch_event_rule.schedule[0]")
            assert rule == names.schedule_rule_name(service, ENV)
    throwaway = 'module.system.module.services["audit_log_writer"]'
    assert f"{throwaway}.aws_cloudwatch_event_rule.schedule[0]" in resources
    assert f'{throwaway}.aws_sqs_queue.delivery["{TOPIC}"]' in resources


def test_queue_settings_are_the_ones_terraform_plans(
    planned: tuple[dict[str, Any], list[str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Names, the derived visibility timeout and the mapping's settings, from one derivation."""
    resources, _ = planned
    root = tmp_path_factory.mktemp("queue-declarations")
    _declarations(root)
    catalog = json.loads((root / "shared" / "events" / "catalog.json").read_text())
    queued = [
        s
        for s in topology.subscriptions(declarations.services(root / "services"), catalog)
        if s.queue is not None
    ]
    assert {(s.service, s.topic) for s in queued} >= {(SERVICE, TOPIC)}
    for subscription in queued:
        module = f'module.system.module.services["{subscription.service}"]'
        key = f'["{subscription.topic}"]'
        queue = resources[f"{module}.aws_sqs_queue.delivery{key}"]
        dead_letter = resources[f"{module}.aws_sqs_queue.delivery_dead_letter{key}"]
        mapping = resources[f"{module}.aws_lambda_event_source_mapping.queue{key}"]
        assert subscription.queue is not None
        assert queue["name"] == names.delivery_queue_name(
            subscription.service, subscription.topic, ENV
        )
        assert dead_letter["name"] == names.delivery_queue_dlq_name(
            subscription.service, subscription.topic, ENV
        )
        assert queue["visibility_timeout_seconds"] == subscription.queue.visibility_timeout_s
        assert dead_letter["message_retention_seconds"] == (
            subscription.queue.dead_letter_retention_s
        )
        assert mapping["batch_size"] == subscription.queue.batch_size
        assert mapping["maximum_batching_window_in_seconds"] == (
            subscription.queue.maximum_batching_window_s
        )
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
        assert mapping["scaling_config"] == [
            {"maximum_concurrency": subscription.queue.maximum_concurrency}
        ]
