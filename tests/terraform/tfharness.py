"""Drive Terraform against a moto server: copy an environment, point its provider
at moto, plan, apply, destroy. Used by the pytest apply test and by
`make tf-checkov` (python tests/terraform/tfharness.py plan-json ...)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
MOTO_ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"

# What a user sets per environment (docs/terraform.md), as the moto deployment sets it.
MOTO_ALARM_SUBSCRIPTIONS = [{"protocol": "email", "endpoint": "oncall@moto.example.com"}]
MOTO_JWT_ISSUER = "https://issuer.moto.example.com"
MOTO_JWT_AUDIENCE = ["orders-web-moto"]


def moto_email_senders() -> dict[str, str]:
    """One address per sender of shared/resources.json, distinct from any checked-in value."""
    resources = json.loads((REPO_ROOT / "shared/resources.json").read_text("utf-8"))
    return {name: f"{name}@moto.example.com" for name in resources.get("email_senders", {})}


# Every service the environments create, pointed at the moto server.
ENDPOINT_SERVICES = [
    "apigatewayv2",
    "cloudwatch",
    "events",
    "dynamodb",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "ses",
    "sesv2",
    "sns",
    "sqs",
    "sts",
]


def terraform_binary() -> str | None:
    return shutil.which(os.environ.get("TERRAFORM", "terraform"))


def init_unavailable() -> str | None:
    """Why `terraform init` cannot run here, or None. make/terraform.mk finds the provider
    mirror and, without one, probes the registry; it exports both answers."""
    if terraform_binary() is None:
        return "terraform not installed: the Terraform apply test needs the terraform binary"
    if not os.environ.get("TF_PROVIDER_MIRROR") and os.environ.get("TF_REGISTRY_REACHABLE") == "no":
        return (
            "no provider mirror and the Terraform registry unreachable: terraform init cannot run"
        )
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port, always stopped afterwards; with it, the
    stand-in for X-Ray resource policies (xray_stub), whose URL override_tf derives."""
    from moto.server import ThreadedMotoServer
    from xray_stub import xray_resource_policies

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with xray_resource_policies() as xray:
            _XRAY_ENDPOINTS[f"http://127.0.0.1:{port}"] = xray
            yield f"http://127.0.0.1:{port}"
    finally:
        _XRAY_ENDPOINTS.pop(f"http://127.0.0.1:{port}", None)
        server.stop()


# moto server URL -> the X-Ray stand-in started with it.
_XRAY_ENDPOINTS: dict[str, str] = {}


def cli_config(workdir: Path) -> Path:
    """A Terraform CLI config: the provider mirror when TF_PROVIDER_MIRROR is set,
    a shared plugin cache so each init links instead of copying the provider."""
    cache = Path(
        os.environ.get("TF_PLUGIN_CACHE_DIR_SHARED", REPO_ROOT / "build/terraform/plugin-cache")
    )
    cache.mkdir(parents=True, exist_ok=True)
    lines = [
        f'plugin_cache_dir = "{cache}"',
        "plugin_cache_may_break_dependency_lock_file = true",
    ]
    mirror = os.environ.get("TF_PROVIDER_MIRROR", "")
    if mirror:
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f'    path    = "{mirror}"',
            '    include = ["registry.terraform.io/hashicorp/*"]',
            "  }",
            "  direct {",
            '    exclude = ["registry.terraform.io/hashicorp/*"]',
            "  }",
            "}",
        ]
    path = workdir / "terraform.rc"
    path.write_text("\n".join(lines) + "\n")
    return path


def placeholder_zips(directory: Path, services: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in services:
        with zipfile.ZipFile(directory / f"{name}.zip", "w") as z:
            z.writestr(f"{name}/__init__.py", "# placeholder package for the Terraform tests\n")


def service_names(root: Path = REPO_ROOT) -> list[str]:
    return sorted(p.parent.name for p in (root / "services").glob("*/service.json"))


def override_tf(endpoint: str) -> str:
    endpoints = "\n".join(f'    {s} = "{endpoint}"' for s in ENDPOINT_SERVICES)
    endpoints += f'\n    xray = "{_XRAY_ENDPOINTS.get(endpoint, endpoint)}"'
    return f"""# Written by tests/terraform/tfharness.py: local state, provider pointed at moto.
terraform {{
  backend "local" {{}}
}}

provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""


class MotoEnvironment:
    """A copy of terraform/ whose root module `root` (an environment by default) deploys
    to the moto server. With `debug_log`, the provider writes every API request it sends
    there (TF_LOG_PROVIDER=DEBUG), one file per terraform command."""

    def __init__(
        self,
        env: str,
        endpoint: str,
        workdir: Path,
        *,
        root: str | None = None,
        debug_log: Path | None = None,
    ) -> None:
        self.env = env
        self.endpoint = endpoint
        self.workdir = workdir
        self.debug_log = debug_log
        shutil.copytree(
            TERRAFORM_DIR,
            workdir / "terraform",
            ignore=shutil.ignore_patterns(
                ".terraform", "*.tfstate*", "tfplan*", ".terraform.lock.hcl"
            ),
        )
        self.dir = workdir / "terraform" / (root or f"environments/{env}")
        (self.dir / "moto_override.tf").write_text(override_tf(endpoint))
        self.artifacts = workdir / "artifacts"
        placeholder_zips(self.artifacts, service_names())
        self.env_vars = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli_config(workdir)),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "CHECKPOINT_DISABLE": "1",
        }
        self.env_vars.pop("AWS_PROFILE", None)
        for name in ("TF_LOG", "TF_LOG_PATH", "TF_LOG_CORE", "TF_LOG_PROVIDER"):
            self.env_vars.pop(name, None)

    def debug_logs(self) -> list[Path]:
        """The provider debug logs written so far, in the order of the commands."""
        if self.debug_log is None:
            return []
        return sorted(self.debug_log.glob("*.log"))

    def var_args(self) -> list[str]:
        return [
            f'-var=allowed_account_ids=["{MOTO_ACCOUNT_ID}"]',
            f"-var=region={REGION}",
            f"-var=artifacts_dir={self.artifacts}",
            f"-var=repo_root={REPO_ROOT}",
            # manage_sns_tracing_policy stays on although moto (5.2) has no X-Ray
            # resource-policy API: xray_stub serves it, so the policy's calls are in the
            # deploy-role check. Subscribers and senders are what a user sets.
            f"-var=alarm_subscriptions={json.dumps(MOTO_ALARM_SUBSCRIPTIONS)}",
            f"-var=email_sender_addresses={json.dumps(moto_email_senders())}",
            f"-var=jwt_issuer={MOTO_JWT_ISSUER}",
            f"-var=jwt_audience={json.dumps(MOTO_JWT_AUDIENCE)}",
        ]

    def run(self, *args: str, capture: bool = False) -> str:
        binary = terraform_binary()
        assert binary, "terraform not installed"
        env = self.env_vars
        if self.debug_log is not None and args[0] in {"plan", "apply", "destroy"}:
            self.debug_log.mkdir(parents=True, exist_ok=True)
            step = len(self.debug_logs()) + 1
            env = {
                **env,
                "TF_LOG_PROVIDER": "DEBUG",
                "TF_LOG_PATH": str(self.debug_log / f"{step:02d}-{args[0]}.log"),
            }
        proc = subprocess.run(
            [binary, *args],
            cwd=self.dir,
            env=env,
            text=True,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            command = " ".join(args[:2])
            raise RuntimeError(
                f"terraform {command} failed ({proc.returncode}):\n"
                f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
            )
        return proc.stdout if capture else ""

    def init(self, *, with_stand_in_boundary: bool = True) -> None:
        if with_stand_in_boundary:
            self.create_permissions_boundary()
        self.run("init", "-input=false", "-no-color")

    def create_permissions_boundary(self) -> None:
        """A stand-in for the boundary policy terraform/bootstrap creates, which every role
        must carry (when the bootstrap is not applied to the same moto server first)."""
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        iam.create_policy(
            PolicyName=f"{self.env}-role-boundary", PolicyDocument=json.dumps(document)
        )

    def plan_json(self) -> dict:
        self.run("plan", "-input=false", "-no-color", "-out=tfplan", *self.var_args())
        return json.loads(self.run("show", "-json", "tfplan", capture=True))

    def apply(self) -> None:
        self.run(
            "apply",
            "-input=false",
            "-no-color",
            "-auto-approve",
            "-parallelism=20",
            *self.var_args(),
        )

    def output(self) -> dict:
        return json.loads(self.run("output", "-json", capture=True))

    def destroy(self) -> None:
        self.run(
            "destroy",
            "-input=false",
            "-no-color",
            "-auto-approve",
            "-parallelism=20",
            *self.var_args(),
        )


class MotoBootstrap(MotoEnvironment):
    """terraform/bootstrap applied to the moto server: the state bucket, the OIDC
    provider, the deploy roles and the permissions boundaries of every environment."""

    REPOSITORY = "example-org/orders-platform"

    def __init__(self, endpoint: str, workdir: Path) -> None:
        super().__init__("bootstrap", endpoint, workdir, root="bootstrap")

    def var_args(self) -> list[str]:
        return [
            f"-var=aws_region={REGION}",
            f"-var=github_repository={self.REPOSITORY}",
            f"-var=state_bucket_name=orders-terraform-state-{MOTO_ACCOUNT_ID}",
        ]

    def init(self, *, with_stand_in_boundary: bool = False) -> None:
        super().init(with_stand_in_boundary=with_stand_in_boundary)

    # What the environments and the IAM checks need of the bootstrap: its roles and
    # boundaries (and what their policies name: the state bucket and key). The rest
    # (bucket logging, lifecycle) moto applies slowly or not at all.
    IAM_TARGETS = ("aws_iam_role_policy.deploy", "aws_iam_policy.lambda_boundary")

    def apply_iam(self) -> None:
        targets = [f"-target={t}" for t in self.IAM_TARGETS]
        self.run("apply", "-input=false", "-no-color", "-auto-approve", *targets, *self.var_args())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "plan-json", help="plan an environment against moto and write `terraform show -json`"
    )
    p.add_argument("--env", default="dev")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--applied",
        action="store_true",
        help="apply first and plan the deployed environment, so every ARN in the plan is known",
    )
    args = parser.parse_args(argv)

    reason = init_unavailable()
    if reason:
        print(f"SKIPPED: {reason}; no plan written")
        return 0
    with moto_server() as endpoint, tempfile.TemporaryDirectory(prefix="tf-moto-") as tmp:
        env = MotoEnvironment(args.env, endpoint, Path(tmp))
        env.init()
        if args.applied:
            try:
                env.apply()
                plan = env.plan_json()
            finally:
                env.destroy()
        else:
            plan = env.plan_json()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(plan, indent=1))
    changes = [r for r in plan.get("resource_changes", []) if r.get("mode") == "managed"]
    state = "applied" if args.applied else "new"
    print(f"{args.out}: plan of the {state} {args.env} environment, {len(changes)} resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
