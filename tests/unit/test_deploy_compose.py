"""deploy/docker-compose.yml and deploy/Dockerfile hang together (no Docker engine needed):
the services are there, the workers' settings are real ones, ports, health checks, volumes
and the env file agree, mounted files exist."""

import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml  # pyyaml, a test dependency

from streams.settings import load_settings
from tests.unit.test_docs import command_tree, setting_names

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())  # <<: merges too
SERVICES = COMPOSE["services"]
WORKERS = ["worker-1", "worker-2"]
RISKSTREAM_IMAGE = [name for name, service in SERVICES.items() if "build" in service]
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
ENV_EXAMPLE = DEPLOY / ".env.example"
_VARIABLE = re.compile(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}")


def env_example() -> dict[str, str]:
    """The variables deploy/.env.example sets or shows (commented out), with their values."""
    found = re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE)
    return dict(found)


def interpolated(value: Any, env: dict[str, str]) -> str:
    """``value`` as Compose makes it from ``env``: ${X}, ${X:-default}, ${X:?error}."""

    def one(match: re.Match[str]) -> str:
        name, form, rest = match.groups()
        if env.get(name):
            return env[name]
        assert form != ":?", f"{name} is required: {rest}"
        return rest if form == ":-" else ""

    return _VARIABLE.sub(one, str(value))


#: deploy/.env as a user fills it in from the example.
FILLED = {name: value or f"{name.lower()}-0123456789abcdef" for name, value in
          env_example().items()}  # fmt: skip


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
    for name, value in env.items():
        monkeypatch.setenv(name, interpolated(value, FILLED))
    settings = load_settings()
    assert settings.broker == "kafka://kafka:9092"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.web_port == 6066
    assert settings.web_host == SERVICES[worker]["hostname"] == worker  # the other one's way in
    assert settings.data_dir == Path(SERVICES[worker]["volumes"][0].split(":")[1])
    settings.check_worker()  # a model key and an API token of its own: the worker starts


@pytest.mark.parametrize("service", RISKSTREAM_IMAGE)
def test_every_riskstream_variable_is_a_setting(service: str) -> None:
    ours = {name for name in SERVICES[service]["environment"] if name.startswith("RISKSTREAM_")}
    assert ours
    assert not ours - setting_names(), f"not settings: {sorted(ours - setting_names())}"


def test_secrets_come_from_the_env_file_and_are_required() -> None:
    """No secret has a default: each is ${NAME:?...} and deploy/.env.example lists it empty;
    every other variable has a default and is shown there; the real file stays out of git."""
    used = {m[0]: m for m in _VARIABLE.findall((DEPLOY / "docker-compose.yml").read_text())}
    example = env_example()
    assert set(used) == set(example)
    required = {name for name, form, _ in used.values() if form == ":?"}
    assert required == {"RISKSTREAM_MODEL_KEY", "RISKSTREAM_API_TOKEN", "GRAFANA_ADMIN_PASSWORD"}
    assert {name for name, value in example.items() if not value} == required
    for name in required:
        assert "deploy/.env" in used[name][2], f"the error for {name} says where to set it"
        with pytest.raises(AssertionError, match=f"{name} is required"):
            interpolated(f"${{{name}:?x}}", {**FILLED, name: ""})
    assert all(form == ":-" for name, form, _ in used.values() if name not in required)
    assert "deploy/.env" in (REPO / ".gitignore").read_text().splitlines()
    grafana = SERVICES["grafana"]["environment"]
    assert interpolated(grafana["GF_SECURITY_ADMIN_PASSWORD"], FILLED) not in ("", "admin")
    for name, service in SERVICES.items():  # each service gets only what it uses
        secrets = {v for v in map(str, service.get("environment", {}).values()) if ":?" in v}
        assert name in WORKERS or name == "grafana" or not secrets, name
        assert "env_file" not in service, f"{name} would get every variable of the file"


@pytest.mark.parametrize("worker", WORKERS)
def test_workers_publish_their_web_port_one_host_port_each(worker: str) -> None:
    (published,) = SERVICES[worker]["ports"]
    container = published.split(":")[1]
    assert container == SERVICES[worker]["environment"]["RISKSTREAM_WEB_PORT"]
    hosts = [SERVICES[w]["ports"][0].split(":")[0] for w in WORKERS]
    assert len(set(hosts)) == len(WORKERS)


class _Ready(BaseHTTPRequestHandler):
    ready = True

    def do_GET(self) -> None:  # http.server's name
        ok = self.path == "/ready" and self.ready
        self.send_response(200 if ok else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.mark.parametrize("ready", [True, False])
def test_the_workers_health_check_asks_ready_on_the_web_port(
    web: ThreadingHTTPServer, ready: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check, run as Docker runs it (python of the image, the container's environment),
    passes while /ready answers 200 and fails while it answers 503."""
    monkeypatch.setattr(_Ready, "ready", ready)
    kind, python, *arguments = SERVICES["worker-1"]["healthcheck"]["test"]
    assert (kind, python) == ("CMD", "python")
    env = {"RISKSTREAM_WEB_PORT": str(web.server_address[1])}
    done = subprocess.run([sys.executable, *arguments], env=env, capture_output=True,
                          timeout=30)  # fmt: skip
    assert (done.returncode == 0) is ready


def test_data_lives_in_named_volumes() -> None:
    declared = set(COMPOSE["volumes"])
    mounts = {name: dict(v.split(":")[:2][::-1] for v in service.get("volumes", []))
              for name, service in SERVICES.items()}  # fmt: skip
    assert mounts["kafka"][SERVICES["kafka"]["environment"]["KAFKA_LOG_DIRS"]] in declared
    assert mounts["redis"]["/data"] in declared
    assert "--appendonly" in SERVICES["redis"]["command"]
    for worker in WORKERS:
        assert mounts[worker][dockerfile_env()["RISKSTREAM_DATA_DIR"]] in declared
    used = {source for paths in mounts.values() for source in paths.values()}
    assert {source for source in used if not source.startswith(".")} == declared


def test_topics_first_then_workers_then_the_feeder() -> None:
    assert SERVICES["topics"]["command"] == ["riskstream", "topics", "create"]
    for worker in WORKERS:
        assert SERVICES[worker]["command"] == ["riskstream", "worker"]
        condition = SERVICES[worker]["depends_on"]["topics"]["condition"]
        assert condition == "service_completed_successfully"
    feeder = SERVICES["feeder"]
    assert {w: d["condition"] for w, d in feeder["depends_on"].items()} == dict.fromkeys(
        WORKERS, "service_healthy"
    )
    for name, service in SERVICES.items():
        assert set(service.get("depends_on", [])) <= set(SERVICES), name


def test_the_feeder_runs_a_real_generate_command() -> None:
    command = [interpolated(word, FILLED) for word in SERVICES["feeder"]["command"]]
    assert command[:3] == ["riskstream", "generate", "--to-topics"]
    options = command_tree()["generate"]
    assert isinstance(options, set)
    assert {word for word in command[2:] if word.startswith("--")} <= options
    numbers = [word for word in command[3:] if not word.startswith("--")]
    assert all(float(number) > 0 for number in numbers)


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
