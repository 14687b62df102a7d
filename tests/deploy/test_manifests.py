"""The manifests against the code: settings, secrets, RBAC, probes, security (no cluster needed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.core.settings import SECRET_FIELDS, Settings, SettingsError, load_settings
from app.response.remediation.rules import load_rules
from tests.deploy.tools import ROOT

K8S = ROOT / "k8s"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _one(kind: str, name: str) -> dict[str, Any]:
    for path in sorted(K8S.glob("*.yaml")):
        for doc in _docs(path):
            if doc.get("kind") == kind and doc["metadata"]["name"] == name:
                return doc
    raise AssertionError(f"no {kind} {name} in k8s/")


def _settings_env() -> dict[str, str]:
    pairs = {}
    for line in (K8S / "settings.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def _pod(kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = _one(kind, name)["spec"]["template"]["spec"]
    return spec


DEPLOYMENT = ("Deployment", "incident-api")
JOB = ("Job", "incident-api-migrate")


def _env_names(pod: dict[str, Any]) -> list[str]:
    return [e["name"] for c in pod["containers"] for e in c.get("env", [])]


@pytest.mark.parametrize("workload", [DEPLOYMENT, JOB])
def test_every_environment_variable_is_a_setting(workload: tuple[str, str]) -> None:
    names = _env_names(_pod(*workload)) + list(_settings_env())
    fields = set(Settings.model_fields)
    unknown = [
        n
        for n in names
        if n not in fields and not (n.endswith("_FILE") and n[:-5] in SECRET_FIELDS)
    ]
    assert not unknown, f"not Settings fields: {unknown}"


def _secret_templates() -> dict[str, dict[str, str]]:
    return {
        d["metadata"]["name"]: d["stringData"]
        for d in _docs(K8S / "secret-templates" / "secrets.yaml")
        if d["metadata"]["namespace"] == "production"
    }


def _secret_files(pod: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Mounted path -> (secret name, key), for every secret projected into the container."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    files: dict[str, tuple[str, str]] = {}
    for mount in pod["containers"][0]["volumeMounts"]:
        volume = volumes[mount["name"]]
        for source in volume.get("projected", {}).get("sources", []):
            secret = source["secret"]
            assert not secret.get("optional"), "a missing secret must stop the pod, not blank it"
            for item in secret["items"]:
                files[f"{mount['mountPath']}/{item['path']}"] = (secret["name"], item["key"])
    return files


def test_secrets_are_mounted_files_for_the_file_settings() -> None:
    pod = _pod(*DEPLOYMENT)
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    files = _secret_files(pod)
    templates = _secret_templates()
    # Every secret the service knows is configured, each from a mounted file.
    assert {n for n in env if n.endswith("_FILE")} == {f"{n}_FILE" for n in SECRET_FIELDS}
    for name in SECRET_FIELDS:
        path = env[f"{name}_FILE"]["value"]
        assert path in files, f"{name}_FILE points to {path}, which no secret is mounted at"
        secret, key = files[path]
        assert key in templates[secret], f"{secret}/{key} missing from secret-templates/"
    # No secret value lives in the manifests themselves.
    for name in SECRET_FIELDS:
        assert name not in _settings_env()
        assert "value" not in env.get(name, {})
    for values in templates.values():
        for value in values.values():
            assert "REPLACE_WITH" in value, "templates hold placeholders only"


def _production_env(tmp_path: Path) -> dict[str, str]:
    """The Deployment's environment, secret files replaced by token-shaped fakes."""
    pod = _pod(*DEPLOYMENT)
    env = dict(_settings_env())
    for n, item in enumerate(pod["containers"][0]["env"]):
        if "value" in item:
            fake = tmp_path / f"secret{n}"
            fake.write_text(f"fake-secret-{n:02d}-0123456789abcdef\n")
            env[item["name"]] = str(fake)
        else:  # secretKeyRef: DATABASE_URL
            assert item["valueFrom"]["secretKeyRef"]["name"] in _secret_templates()
            env[item["name"]] = "postgresql://incident_api:x@postgres.production.svc:5432/incidents"
    return env


def test_production_settings_load_from_the_manifests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(Settings.model_fields) + [f"{n}_FILE" for n in SECRET_FIELDS]:
        monkeypatch.delenv(name, raising=False)
    for key, value in _production_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.ENVIRONMENT == "production"
    assert all(settings.secrets_present().values())
    assert settings.REMEDIATION_MODE == "dry_run"
    assert str(settings.DATA_DIR) == "/data"
    # Remove what production requires and it refuses to start: the test above can fail.
    monkeypatch.delenv("ALERTMANAGER_TOKEN_FILE")
    with pytest.raises(SettingsError, match="ALERTMANAGER_TOKEN is required"):
        load_settings()


def test_remediation_rules_configmap_is_valid_and_mounted() -> None:
    rules = load_rules(K8S / "remediation-rules.yaml")
    assert rules is not None
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    generated = {g["name"]: g for g in kustomization["configMapGenerator"]}
    assert generated["incident-api-remediation-rules"]["files"] == [
        "rules.yaml=remediation-rules.yaml"
    ]
    pod = _pod(*DEPLOYMENT)
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["remediation-rules"]["configMap"]["name"] == "incident-api-remediation-rules"
    assert _settings_env()["REMEDIATION_RULES_FILE"] == f"{mounts['remediation-rules']}/rules.yaml"


# Kubernetes client method -> (API group, resource, verb) it needs.
KUBERNETES_CALLS = {
    "read_namespaced_deployment": ("apps", "deployments", "get"),
    "patch_namespaced_deployment": ("apps", "deployments", "patch"),
    "read_namespaced_deployment_scale": ("apps", "deployments/scale", "get"),
    "patch_namespaced_deployment_scale": ("apps", "deployments/scale", "patch"),
    "list_namespaced_replica_set": ("apps", "replicasets", "list"),
    "list_namespaced_pod": ("", "pods", "list"),
    "delete_namespaced_pod": ("", "pods", "delete"),
}
_CALL = re.compile(
    r"\.((?:read|list|patch|delete|create|replace|watch)_(?:namespaced_)?\w+|"
    r"(?:list|delete)_\w+_for_all_namespaces)\b"
)


def test_role_grants_exactly_what_the_code_calls() -> None:
    called = set()
    for path in (ROOT / "app").rglob("*.py"):
        called |= {
            m for m in _CALL.findall(path.read_text()) if "namespaced" in m or "all_namespaces" in m
        }
    assert called, "no Kubernetes client call found in app/: the pattern is stale"
    unknown = called - set(KUBERNETES_CALLS)
    assert not unknown, f"add these calls to KUBERNETES_CALLS and to k8s/rbac.yaml: {unknown}"
    needed = {KUBERNETES_CALLS[c] for c in called}
    role = _one("Role", "incident-api")
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == needed
    assert role["metadata"]["namespace"] == "production"
    binding = _one("RoleBinding", "incident-api")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "incident-api", "namespace": "production"}
    ]
    assert _pod(*DEPLOYMENT)["serviceAccountName"] == "incident-api"
    assert _pod(*JOB)["automountServiceAccountToken"] is False


def test_deployment_service_and_disruption_budget() -> None:
    deployment = _one(*DEPLOYMENT)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "incident-api"}
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"]["app"] == "incident-api"
    spread = pod["spec"]["topologySpreadConstraints"]
    assert any(c["topologyKey"] == "kubernetes.io/hostname" for c in spread)
    container = pod["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["args"] == ["serve", "--no-migrate"]
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    service = _one("Service", "incident-api")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == {"app": "incident-api"}
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(8080, "http")]
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    pdb = _one("PodDisruptionBudget", "incident-api")
    assert pdb["spec"]["minAvailable"] == 1
    pvc = _one("PersistentVolumeClaim", "incident-api-data")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert _settings_env()["DATA_DIR"] in mounts


@pytest.mark.parametrize("workload", [DEPLOYMENT, JOB])
def test_strict_security_context(workload: tuple[str, str]) -> None:
    pod = _pod(*workload)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert context["runAsNonRoot"] is True
        assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}


def test_network_policy_admits_only_alertmanager_prometheus_and_ingress() -> None:
    policy = _one("NetworkPolicy", "incident-api")
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app": "incident-api"}}
    sources = policy["spec"]["ingress"][0]["from"]
    admitted = {
        (
            s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            s.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name"),
        )
        for s in sources
    }
    assert admitted == {
        ("monitoring", "alertmanager"),
        ("monitoring", "prometheus"),
        ("ingress-nginx", None),
    }
    assert len(policy["spec"]["ingress"]) == 1
