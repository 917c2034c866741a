"""The build matrix that CI fans out over, and the choice of a deploy's artifacts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tools import ci_matrix

ROOT = Path(__file__).resolve().parents[2]
SHA_A = "a" * 40


def test_matrix_lists_exactly_the_service_directories() -> None:
    services = ROOT / "services"
    on_disk = sorted(p.name for p in services.iterdir() if (p / "service.json").is_file())
    assert on_disk, "the repository has services"
    assert ci_matrix.discover_services(ROOT) == on_disk
    assert ci_matrix.build_matrix(ROOT) == {"service": on_disk}


def test_directories_without_service_json_are_not_services(tmp_path: Path) -> None:
    for name in ("beta", "alpha"):
        (tmp_path / "services" / name).mkdir(parents=True)
        (tmp_path / "services" / name / "service.json").write_text("{}")
    (tmp_path / "services" / "not_a_service").mkdir()
    (tmp_path / "services" / "service.schema.json").write_text("{}")
    assert ci_matrix.discover_services(tmp_path) == ["alpha", "beta"]


def test_a_service_name_that_is_not_an_identifier_is_refused(tmp_path: Path) -> None:
    (tmp_path / "services" / 'x";id;"').mkdir(parents=True)
    (tmp_path / "services" / 'x";id;"' / "service.json").write_text("{}")
    with pytest.raises(ValueError, match="service directory names"):
        ci_matrix.discover_services(tmp_path)


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        ([], []),
        (["README.md", "docs/pipeline.md", ".github/workflows/ci.yml"], []),
        (["services/alpha/src/alpha/handler.py"], ["alpha"]),
        (["services/beta/service.json", "services/alpha/requirements.txt"], ["alpha", "beta"]),
        (["services/service.schema.json"], []),
        (["services/gone/src/x.py"], []),
        (["shared/messaging/src/messaging/envelope.py"], ["alpha", "beta", "gamma"]),
        (["shared/events/catalog.json"], ["alpha", "beta", "gamma"]),
        (["requirements/dev.txt"], ["alpha", "beta", "gamma"]),
        (["requirements/dev.in"], []),
        (["tools/build.py"], ["alpha", "beta", "gamma"]),
        (["tools/declarations.py"], ["alpha", "beta", "gamma"]),
        (["tools/ci_matrix.py"], []),
    ],
)
def test_affected_services(changed: list[str], expected: list[str]) -> None:
    assert ci_matrix.affected_services(["alpha", "beta", "gamma"], changed) == expected


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.email", "ci@example.invalid")
    _git(tmp_path, "config", "user.name", "ci")
    for name in ("alpha", "beta"):
        (tmp_path / "services" / name / "src").mkdir(parents=True)
        (tmp_path / "services" / name / "service.json").write_text("{}")
        (tmp_path / "services" / name / "src" / "handler.py").write_text("x = 1\n")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "lib.py").write_text("y = 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def test_pull_request_builds_only_the_changed_service(repo: Path) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "services" / "beta" / "src" / "handler.py").write_text("x = 2\n")
    _git(repo, "commit", "-q", "-am", "beta only")
    assert ci_matrix.build_matrix(repo, base) == {"service": ["beta"]}
    assert ci_matrix.build_matrix(repo) == {"service": ["alpha", "beta"]}


def test_change_on_the_base_branch_alone_selects_nothing(repo: Path) -> None:
    _git(repo, "checkout", "-q", "-b", "feature")
    _git(repo, "checkout", "-q", "main")
    (repo / "services" / "alpha" / "src" / "handler.py").write_text("x = 3\n")
    _git(repo, "commit", "-q", "-am", "main moved on")
    base = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", "feature")
    assert ci_matrix.build_matrix(repo, base) == {"service": []}


def test_shared_change_selects_every_service(repo: Path) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    (repo / "shared" / "lib.py").write_text("y = 2\n")
    _git(repo, "commit", "-q", "-am", "shared")
    assert ci_matrix.build_matrix(repo, base) == {"service": ["alpha", "beta"]}


def test_cli_writes_github_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    assert ci_matrix.main(["--base", "0" * 40]) == 0  # a new branch's "before": all services
    printed = json.loads(capsys.readouterr().out)
    assert printed == ci_matrix.build_matrix(ROOT)
    lines = out.read_text().splitlines()
    assert lines == [f"matrix={json.dumps(printed, separators=(',', ':'))}", "any=true"]


def _run(**overrides: object) -> dict[str, object]:
    run: dict[str, object] = {
        "id": 42,
        "path": ".github/workflows/ci.yml",
        "event": "push",
        "head_branch": "main",
        "status": "completed",
        "conclusion": "success",
        "head_sha": SHA_A,
    }
    run.update(overrides)
    return run


def test_resolve_current_run() -> None:
    assert ci_matrix.resolve_run(None, "7", SHA_A) == {"run-id": "7", "sha": SHA_A}
    with pytest.raises(ci_matrix.ResolveError):
        ci_matrix.resolve_run(None, "", SHA_A)


def test_resolve_earlier_successful_main_run() -> None:
    assert ci_matrix.resolve_run(_run(), "7", "b" * 40) == {"run-id": "42", "sha": SHA_A}


@pytest.mark.parametrize(
    "bad",
    [
        {"conclusion": "failure"},
        {"status": "in_progress", "conclusion": None},
        {"head_branch": "feature"},
        {"event": "pull_request"},
        {"path": ".github/workflows/other.yml"},
        {"head_sha": "not-a-sha"},
    ],
)
def test_resolve_refuses_runs_that_are_not_green_main_ci(bad: dict[str, object]) -> None:
    with pytest.raises(ci_matrix.ResolveError):
        ci_matrix.resolve_run(_run(**bad), "7", SHA_A)
