"""The standard validators over the Dockerfile, the manifests, the scripts and Prometheus files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.deploy.tools import ROOT, render_kustomize, require_tool, run

K8S = ROOT / "k8s"
# The oldest Kubernetes we support (kubectl's on this image) and the newest schema the pinned
# kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.32.0", "1.37.0")


def test_kustomize_renders_the_base() -> None:
    rendered = render_kustomize()
    kinds = [
        line.split(":", 1)[1].strip() for line in rendered.splitlines() if line.startswith("kind:")
    ]
    assert sorted(kinds) == sorted(
        [
            "ConfigMap",
            "ConfigMap",
            "Deployment",
            "Job",
            "NetworkPolicy",
            "NetworkPolicy",
            "PersistentVolumeClaim",
            "PodDisruptionBudget",
            "Role",
            "RoleBinding",
            "Service",
            "Service",
            "ServiceAccount",
        ]
    )
    assert "kind: Secret\n" not in rendered  # templates are never applied over real secrets


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_match_the_kubernetes_schemas(version: str, tmp_path: Path) -> None:
    validate = require_tool("kubernetes-validate")
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(render_kustomize())
    templates = sorted(str(p) for p in (K8S / "secret-templates").glob("*.yaml"))
    output = run([validate, "--strict", "-k", version, str(rendered), *templates])
    assert "ERROR" not in output, output
    assert "passed" in output, output


def test_checkov_passes_with_only_justified_skips() -> None:
    """One checkov run over the Dockerfile and every manifest (templates included)."""
    checkov = require_tool("checkov")
    files = [ROOT / "Dockerfile", *sorted(K8S.glob("*.yaml")), *sorted(K8S.glob("*/*.yaml"))]
    result = subprocess.run(
        [checkov, "--framework", "kubernetes", "dockerfile", "--output", "json"]
        # offline: no policy metadata from the vendor's API
        + ["--skip-download", "--file", *[str(f) for f in files]],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        reports = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"checkov gave no report:\n{result.stdout}{result.stderr}") from None
    reports = reports if isinstance(reports, list) else [reports]
    assert {r["check_type"] for r in reports} == {"kubernetes", "dockerfile"}
    for report in reports:
        failed = [
            f"{c['check_id']} {c['check_name']} ({c['file_path']}, {c['resource']})"
            for c in report["results"].get("failed_checks", [])
        ]
        assert not failed, "\n".join(failed)
        assert report["summary"]["passed"] > 0
        for skipped in report["results"].get("skipped_checks", []):
            reason = (skipped.get("check_result") or {}).get("suppress_comment") or ""
            assert len(reason) > 30, f"{skipped['check_id']} skipped without a justification"
    assert result.returncode == 0, result.stderr


def test_hadolint_passes_on_the_dockerfile() -> None:
    hadolint = require_tool("hadolint")
    run([hadolint, "--failure-threshold", "info", str(ROOT / "Dockerfile")])


def test_shellcheck_passes_on_every_script() -> None:
    shellcheck = require_tool(
        "shellcheck", "Debian package shellcheck; scripts/install_tools.sh installs it"
    )
    scripts = sorted(str(p) for p in (ROOT / "scripts").glob("*.sh")) + [str(ROOT / ".ci" / "run")]
    run([shellcheck, "--severity", "style", *scripts])
