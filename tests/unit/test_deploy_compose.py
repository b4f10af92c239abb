"""deploy/docker-compose.yml and deploy/Dockerfile hang together (no Docker engine needed):
the services are there, the workers' settings are real ones, mounted files exist."""

import re
from pathlib import Path

import pytest
import yaml  # pyyaml, a test dependency

from streams.settings import Settings, Topics, load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
WORKERS = ["worker-1", "worker-2"]
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()


def setting_names() -> set[str]:
    names = set()
    for model in (Settings, Topics):
        prefix = model.model_config["env_prefix"]
        names.update(prefix + field.upper() for field in model.model_fields)
    return names


def dockerfile_env() -> dict[str, str]:
    pairs = re.findall(r"^ENV (.+)$", DOCKERFILE, re.MULTILINE)
    return dict(pair.split("=", 1) for line in pairs for pair in line.split())


def test_the_services_are_there() -> None:
    assert {"kafka", "redis", "prometheus", "grafana", *WORKERS} <= set(SERVICES)
    kafka = SERVICES["kafka"]
    assert kafka["image"] == "apache/kafka:3.9.1"
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft


@pytest.mark.parametrize("worker", WORKERS)
def test_worker_settings_are_real_and_valid(worker: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**dockerfile_env(), **SERVICES[worker]["environment"]}
    ours = {name for name in env if name.startswith("RISKSTREAM_")}
    unknown = ours - setting_names()
    assert not unknown, f"not settings of streams.settings.Settings: {sorted(unknown)}"
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    settings = load_settings()
    assert settings.broker == "kafka://kafka:9092"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.web_port == 6066
    settings.check_worker()  # a model key and an API token of its own: the worker starts


def test_prometheus_scrapes_the_workers_on_their_web_port() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "riskstream"]
    targets = {target for static in job["static_configs"] for target in static["targets"]}
    ports = {w: SERVICES[w]["environment"]["RISKSTREAM_WEB_PORT"] for w in WORKERS}
    assert targets == {f"{worker}:{port}" for worker, port in ports.items()}


def test_mounted_and_built_paths_exist() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
    for worker in WORKERS:
        build = SERVICES[worker]["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert (context / build["dockerfile"]).is_file()
        for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.MULTILINE):
            for source in line.split()[:-1]:
                assert (context / source).exists(), f"Dockerfile copies missing {source}"


def test_the_image_creates_topics_then_runs_a_worker() -> None:
    assert re.search(r"^FROM python:3\.11-slim$", DOCKERFILE, re.MULTILINE)
    assert "riskstream topics create && exec riskstream worker" in DOCKERFILE
