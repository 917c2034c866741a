"""The API calls in a Terraform debug log of the AWS provider (``TF_LOG_PROVIDER=DEBUG``).

Provider 5.x (aws-sdk-go-v2) writes one ``HTTP Request Sent`` entry per request with
``rpc.service`` (the SDK's service id), ``rpc.method`` (the API operation),
``http.method``, ``http.url`` and, on following lines prefixed by ``|``, the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ENTRY = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+Z \[[A-Z]+\] ")
FIELD = re.compile(r'([\w.@]+)=("(?:[^"\\]|\\.)*"|\S*)')
REQUEST_SENT = "HTTP Request Sent:"
# SigV4 names the service a request is signed for, which is its IAM prefix but for a few.
SIGNING_NAME = re.compile(r"Credential=[^/]+/\d{8}/[^/]*/([^/]+)/aws4_request")


@dataclass(frozen=True)
class ApiCall:
    service: str  # the SDK service id: "KMS", "CloudWatch Logs", "ApiGatewayV2"...
    signing_name: str  # "kms", "logs", "apigateway", "monitoring"...
    operation: str
    rpc: str  # the Terraform step: ConfigureProvider, ReadResource, ApplyResourceChange...
    http_method: str
    url: str
    body: str


def entries(lines: Iterable[str]) -> Iterator[list[str]]:
    current: list[str] = []
    for line in lines:
        if ENTRY.match(line) and current:
            yield current
            current = []
        current.append(line.rstrip("\n"))
    if current:
        yield current


def parse_entry(entry: list[str]) -> ApiCall | None:
    if REQUEST_SENT not in entry[0]:
        return None
    body = "\n".join(line.split("| ", 1)[1] for line in entry[1:] if line.lstrip().startswith("|"))
    rest = " ".join(line for line in entry if not line.lstrip().startswith("|"))
    fields = {k: v[1:-1] if v.startswith('"') else v for k, v in FIELD.findall(rest)}
    if "rpc.method" not in fields or "rpc.service" not in fields:
        raise ValueError(f"request without rpc.service/rpc.method in the provider log: {entry[0]}")
    signed = SIGNING_NAME.search(fields.get("http.request.header.authorization", ""))
    if signed is None:
        raise ValueError(f"request without a SigV4 signature in the provider log: {entry[0]}")
    return ApiCall(
        service=fields["rpc.service"],
        signing_name=signed.group(1),
        operation=fields["rpc.method"],
        rpc=fields.get("tf_rpc", ""),
        http_method=fields.get("http.method", ""),
        url=fields.get("http.url", ""),
        body=body,
    )


def api_calls(path: Path) -> list[ApiCall]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        return [call for e in entries(lines) if (call := parse_entry(e)) is not None]
