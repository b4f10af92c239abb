"""deploy/kubernetes hangs together (no cluster needed): the manifests parse, and what one
names another has: ports, probes, Services, settings, Secret and ConfigMap keys, labels."""

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # pyyaml, a test dependency

from streams.settings import load_settings
from tests.unit.test_docs import command_tree, setting_names

REPO = Path(__file__).resolve().parents[2]
KUBERNETES = REPO / "deploy" / "kubernetes"
KUSTOMIZATION = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())


def env_file_keys(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def manifests() -> list[dict[str, Any]]:
    """Every object kustomize builds: the resources, and the generated Secrets as they would
    be made from the committed example (git ignores the real file)."""
    objects = [
        document
        for resource in KUSTOMIZATION["resources"]
        for document in yaml.safe_load_all((KUBERNETES / resource).read_text())
        if document
    ]
    for generator in KUSTOMIZATION.get("secretGenerator", []):
        data: dict[str, str] = {}
        for env in generator["envs"]:
            data |= env_file_keys(KUBERNETES / f"{env}.example")
        objects.append({"kind": "Secret", "metadata": {"name": generator["name"]}, "data": data})
    return objects


OBJECTS = manifests()


def named(kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in OBJECTS if o["kind"] == kind}


(WORKERS,) = named("StatefulSet").values()
POD = WORKERS["spec"]["template"]
(WORKER,) = [c for c in POD["spec"]["containers"] if c["name"] == "worker"]
SETTINGS = named("ConfigMap")["riskstream-settings"]["data"]
#: What the downward API gives the first worker.
POD_FIELDS = {"metadata.name": f"{WORKERS['metadata']['name']}-0",
              "metadata.namespace": KUSTOMIZATION["namespace"]}  # fmt: skip


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    found = [(o["metadata"]["name"], o["spec"]["template"]["spec"])
             for o in OBJECTS if o["kind"] in ("StatefulSet", "Deployment", "Job")]  # fmt: skip
    assert found
    return found


def containers() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{owner}/{container['name']}", container)
        for owner, spec in pod_specs()
        for container in [*spec.get("initContainers", []), *spec["containers"]]
    ]


def environment(container: dict[str, Any]) -> dict[str, str]:
    """The container's variables as Kubernetes sets them, secrets as placeholders."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env |= named("ConfigMap")[source["configMapRef"]["name"]]["data"]
    for variable in container.get("env", []):
        reference = variable.get("valueFrom", {})
        if "configMapKeyRef" in reference:
            ref = reference["configMapKeyRef"]
            env[variable["name"]] = named("ConfigMap")[ref["name"]]["data"][ref["key"]]
        elif "secretKeyRef" in reference:
            env[variable["name"]] = "a-secret-of-sixteen-characters-or-more"
        elif "fieldRef" in reference:
            env[variable["name"]] = POD_FIELDS[reference["fieldRef"]["fieldPath"]]
        else:
            env[variable["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env[m[1]], variable["value"])
    return env


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def test_every_resource_is_there_and_namespaced_by_kustomize() -> None:
    kinds = {o["kind"] for o in OBJECTS}
    assert {"StatefulSet", "Service", "PodDisruptionBudget", "ConfigMap", "Secret", "Job"} <= kinds
    assert KUSTOMIZATION["namespace"] in named("Namespace")
    assert all("namespace" not in o["metadata"] for o in OBJECTS)  # kustomize sets it


@pytest.mark.parametrize(("where", "container"), containers(), ids=[w for w, _ in containers()])
def test_every_reference_exists_and_every_variable_is_a_setting(
    where: str, container: dict[str, Any]
) -> None:
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] in named("ConfigMap"), where
    for variable in container.get("env", []):
        reference = variable.get("valueFrom", {})
        for kind, ref in (("ConfigMap", reference.get("configMapKeyRef")),
                          ("Secret", reference.get("secretKeyRef"))):  # fmt: skip
            if ref:
                assert ref["name"] in named(kind), f"{where}: no {kind} {ref['name']}"
                assert ref["key"] in named(kind)[ref["name"]]["data"], f"{where}: {ref}"
    ours = {name for name in environment(container) if name.startswith("RISKSTREAM_")}
    assert ours, where
    assert not ours - setting_names(), f"{where}: not settings: {sorted(ours - setting_names())}"


def test_every_configmap_key_is_a_setting() -> None:
    assert not set(SETTINGS) - setting_names()


def test_the_committed_secrets_hold_no_values_and_the_real_ones_stay_out_of_git() -> None:
    for generator in KUSTOMIZATION["secretGenerator"]:
        for env in generator["envs"]:
            assert set(env_file_keys(KUBERNETES / f"{env}.example").values()) == {""}
            ignored = (REPO / ".gitignore").read_text().splitlines()
            assert f"deploy/kubernetes/{env}" in ignored
    assert not [o for o in OBJECTS if o["kind"] == "Secret" and "stringData" in o]


def test_the_workers_settings_are_valid_and_protected(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("RISKSTREAM_"):
            monkeypatch.delenv(name)
    for name, value in environment(WORKER).items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    settings.check_worker()  # a model key and an API token: the worker starts
    assert str(settings.data_dir) == WORKER["volumeMounts"][0]["mountPath"]
    assert WORKERS["spec"]["replicas"] <= settings.partitions  # no idle worker
    # the others reach it at its own DNS name under the headless Service
    pod, namespace = POD_FIELDS.values()
    assert settings.web_host == f"{pod}.{WORKERS['spec']['serviceName']}.{namespace}.svc"


def test_ports_agree_from_setting_to_container_to_probes_to_services() -> None:
    web_port = int(SETTINGS["RISKSTREAM_WEB_PORT"])
    ports = {port["name"]: port["containerPort"] for port in WORKER["ports"]}
    assert ports == {"http": web_port}

    def resolve(port: int | str) -> int:
        return ports[port] if isinstance(port, str) else port

    probes = {kind: WORKER[kind]["httpGet"] for kind in
              ("readinessProbe", "livenessProbe", "startupProbe")}  # fmt: skip
    resolved = {kind: resolve(probe["port"]) for kind, probe in probes.items()}
    assert resolved == dict.fromkeys(probes, web_port)
    assert probes["readinessProbe"]["path"] == "/ready"
    assert probes["livenessProbe"]["path"] == "/health"
    for name, service in named("Service").items():
        for port in service["spec"]["ports"]:
            assert resolve(port["targetPort"]) == web_port, name
    assert int(POD["metadata"]["annotations"]["prometheus.io/port"]) == web_port


def test_selectors_find_the_workers() -> None:
    labels = POD["metadata"]["labels"]
    assert WORKERS["spec"]["selector"]["matchLabels"] == labels
    for name, service in named("Service").items():
        assert matches(service["spec"]["selector"], labels), name
    (budget,) = named("PodDisruptionBudget").values()
    assert matches(budget["spec"]["selector"]["matchLabels"], labels)
    assert budget["spec"]["maxUnavailable"] == 1
    for name, job in named("Job").items():  # nothing else is taken for a worker
        job_labels = job["spec"]["template"]["metadata"]["labels"]
        assert not matches(budget["spec"]["selector"]["matchLabels"], job_labels), name


def test_the_workers_have_a_headless_service_and_a_volume_each() -> None:
    headless = named("Service")[WORKERS["spec"]["serviceName"]]["spec"]
    assert headless["clusterIP"] == "None"
    assert headless["publishNotReadyAddresses"] is True  # they forward while rebalancing
    claims = {claim["metadata"]["name"] for claim in WORKERS["spec"]["volumeClaimTemplates"]}
    assert {mount["name"] for mount in WORKER["volumeMounts"]} <= claims


def riskstream_commands(command: list[str]) -> list[list[str]]:
    """The riskstream commands a container runs: its command, or those of its shell script."""
    if command[0] == "riskstream":
        return [command]
    assert command[:2] == ["sh", "-c"], command
    return [found.split() for found in re.findall(r"riskstream(?: [a-z-]+)+", command[2])]


def test_the_commands_exist() -> None:
    tree = command_tree()
    run = [words for _, c in containers() for words in riskstream_commands(c["command"])]
    for words in run:
        node: Any = tree
        for word in words[1:]:
            assert isinstance(node, dict) and word in node, f"no command {' '.join(words)}"
            node = node[word]
        assert not isinstance(node, dict), f"{' '.join(words)} needs a subcommand"
    assert ["riskstream", "topics", "create"] in run
    assert ["riskstream", "worker"] in run
    assert ["riskstream", "topics", "list"] in run  # the workers wait for the topics
