"""Start a real CNCF distribution registry (Debian's ``docker-registry``) on 127.0.0.1.

Each server gets a ``mktemp -d`` directory and a free port (never shared paths or
fixed ports: another process on the machine may have chosen them). Optional
htpasswd basic auth and TLS with a self-signed certificate.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RegistryServer:
    """A running registry; ``host`` is ``127.0.0.1:PORT``."""

    root: Path
    port: int
    users: dict[str, str] = field(default_factory=dict)
    tls: bool = False
    process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def ca_file(self) -> Path:
        return self.root / "cert.pem"

    def uri(self, repository: str) -> str:
        return f"oci://{self.host}/{repository}"

    def start(self) -> RegistryServer:
        if not Path(REGISTRY_BIN).exists():
            raise RuntimeError(
                "docker-registry is not installed: run `make test` (it installs Debian's "
                "docker-registry) or `apt-get install docker-registry`"
            )
        config = [
            "version: 0.1",
            "log:",
            "  level: error",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.root / 'data'}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            "  secret: test-only-not-secret",
        ]
        if self.tls:
            _self_signed_cert(self.root)
            config += [
                "  tls:",
                f"    certificate: {self.root / 'cert.pem'}",
                f"    key: {self.root / 'key.pem'}",
            ]
        if self.users:
            htpasswd = self.root / "htpasswd"
            lines = []
            for user, password in self.users.items():
                out = subprocess.run(
                    ["htpasswd", "-Bbn", user, password], check=True, capture_output=True
                )
                lines.append(out.stdout.decode().strip())
            htpasswd.write_text("\n".join(lines) + "\n")
            config += ["auth:", "  htpasswd:", "    realm: floe-test", f"    path: {htpasswd}"]
        (self.root / "config.yml").write_text("\n".join(config) + "\n")
        log = open(self.root / "registry.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(self.root / "config.yml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        ctx = ssl.create_default_context(cafile=str(self.ca_file)) if self.tls else None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1, context=ctx)
                return
            except urllib.error.HTTPError as err:
                if err.code == 401:
                    return
            except OSError:
                pass
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"registry did not start: {(self.root / 'registry.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_registry(*, users: dict[str, str] | None = None, tls: bool = False) -> RegistryServer:
    root = Path(tempfile.mkdtemp(prefix="floe-reg."))
    return RegistryServer(root=root, port=free_port(), users=dict(users or {}), tls=tls).start()


def _self_signed_cert(root: Path) -> None:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-subj", "/CN=localhost", "-days", "2",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
