"""make/terraform.mk finds a local provider mirror itself, and with neither a mirror nor the
registry it skips, visibly, the targets that need `terraform init`."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import tfharness

ROOT = tfharness.REPO_ROOT
AWS = "registry.terraform.io/hashicorp/aws"

pytestmark = pytest.mark.skipif(
    tfharness.terraform_binary() is None,
    reason="terraform not installed: every Terraform make target prints SKIPPED instead",
)


def make(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"TF_PROVIDER_MIRROR", "TF_REGISTRY_REACHABLE", "XDG_DATA_HOME", "XDG_DATA_DIRS"}
        and not k.startswith(("MAKE", "MFLAGS"))
    }
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env={**clean, "HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def mirror_in(directory: Path) -> Path:
    (directory / AWS / "5.100.0" / "linux_amd64").mkdir(parents=True)
    return directory


def generated_rc(tmp_path: Path, *args: str, **env: str) -> str:
    build = tmp_path / "build"
    result = make("tf-rc", f"TF_BUILD={build}", *args, home=tmp_path / "home", **env)
    assert result.returncode == 0, result.stderr
    return (build / "terraform.rc").read_text()


def test_a_mirror_in_the_users_terraform_d_is_found(tmp_path: Path) -> None:
    mirror = mirror_in(tmp_path / "home/.terraform.d/plugins")
    rc = generated_rc(tmp_path)
    assert f'path    = "{mirror}"' in rc
    assert 'exclude = ["registry.terraform.io/hashicorp/*"]' in rc


def test_the_xdg_data_home_mirror_is_found(tmp_path: Path) -> None:
    (tmp_path / "home/.terraform.d/plugins").mkdir(parents=True)  # present, but no provider
    mirror = mirror_in(tmp_path / "home/.local/share/terraform/plugins")
    assert f'path    = "{mirror}"' in generated_rc(tmp_path)


def test_an_explicit_mirror_wins(tmp_path: Path) -> None:
    mirror_in(tmp_path / "home/.terraform.d/plugins")
    explicit = mirror_in(tmp_path / "explicit")
    assert f'path    = "{explicit}"' in generated_rc(tmp_path, TF_PROVIDER_MIRROR=str(explicit))


def test_no_mirror_means_the_registry(tmp_path: Path) -> None:
    rc = generated_rc(tmp_path, "TF_MIRROR_CANDIDATES=")
    assert "provider_installation" not in rc


def test_a_mirror_that_does_not_exist_is_named(tmp_path: Path) -> None:
    result = make("tf-rc", TF_PROVIDER_MIRROR=str(tmp_path / "nope"), home=tmp_path)
    assert result.returncode == 2
    assert f"TF_PROVIDER_MIRROR={tmp_path / 'nope'} is not a directory" in result.stderr


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_mirror_or_registry_the_init_steps_are_skipped(tmp_path: Path) -> None:
    result = make(
        "tf-check",
        f"TF_BUILD={tmp_path / 'build'}",
        "TF_MIRROR_CANDIDATES=",
        f"TF_REGISTRY_PROBE_URL=http://127.0.0.1:{closed_port()}/",
        home=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for target in ("tf-validate", "tf-test", "tf-checkov"):
        assert f"SKIPPED: {target}: no provider mirror" in result.stdout
    assert "terraform fmt -check" in result.stdout  # fmt needs no init, so it still runs


@pytest.fixture
def registry() -> Iterator[str]:
    """A stand-in registry answering 200 on 127.0.0.1, always stopped."""

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/terraform.json"
    finally:
        server.shutdown()
        server.server_close()


def test_a_reachable_registry_keeps_the_init_steps(tmp_path: Path, registry: str) -> None:
    result = make(
        "-n",
        "tf-validate",
        "TF_MIRROR_CANDIDATES=",
        f"TF_REGISTRY_PROBE_URL={registry}",
        home=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "SKIPPED" not in result.stdout
    assert "init -backend=false" in result.stdout
