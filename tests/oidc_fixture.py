"""A mock OpenID Connect provider, and the dashboard served with sign-in against it.

Used by ``tests/test_sign_in_browser.py``. Everything runs on loopback and everything
written goes under the test's temporary folder: a copy of the bundled demo data (so the
access file and the audit trail live there), the secrets file with the ``[auth]`` section,
and the servers' logs.

The provider is ``oidc-provider-mock`` (``python -m oidc_provider_mock``). It accepts any
client ID and secret, and its authorization page has one button per predefined user
(``--user-claims``, a JSON object with ``sub`` and any other claims: ``email``, ``name``,
``groups``). The ID token carries ``iat`` and every predefined claim, so signing in is one
click on the button named by the user's ``sub``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import REPOSITORY

#: Variables that would point the server at another access file, audit trail or secrets.
CLEARED_VARIABLES = (
    "EQUALITY_MONITOR_ACCESS_FILE",
    "EQUALITY_MONITOR_AUDIT_URL",
    "EQUALITY_MONITOR_AUDIT_ADMIN_URL",
    "STREAMLIT_SECRETS_FILES",
)


@dataclass(frozen=True)
class Person:
    """Someone the mock provider can sign in: ``sub`` plus the claims in their ID token."""

    sub: str
    email: str
    name: str
    groups: Sequence[str] = field(default_factory=tuple)

    def claims(self) -> dict[str, object]:
        """The ``--user-claims`` object for the provider's command line."""
        return {"sub": self.sub, "email": self.email, "name": self.name, "groups": [*self.groups]}


def free_port() -> int:
    """A TCP port on loopback that nothing listens on just now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(
    url: str, process: subprocess.Popen, log: Path, *, body: bytes | None = None, within=60.0
) -> None:
    """Poll ``url`` until it answers (with ``body`` if given); fail if the process exits."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if body is None or answer.read() == body:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {within:g} s: {log.read_text()[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    """Terminate a server started here, and kill it if it does not stop."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def mock_provider(people: Sequence[Person], folder: Path) -> Iterator[str]:
    """Run the mock provider on a free loopback port; yield its issuer URL."""
    port = free_port()
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    for person in people:
        command += ["--user-claims", json.dumps(person.claims())]
    log_path = folder / "provider.log"
    with log_path.open("w", encoding="utf-8") as log:
        env = {**os.environ, "NO_COLOR": "1"}
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        issuer = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{issuer}/.well-known/openid-configuration", process, log_path)
            yield issuer
        finally:
            stop(process)


def write_secrets(path: Path, *, app_url: str, issuer: str) -> Path:
    """A secrets file whose ``[auth]`` section signs in against ``issuer``."""
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "{app_url}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "equality-monitor-test"\n'
        f'client_secret = "{secrets.token_hex(16)}"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def copy_demo_data(target: Path) -> Path:
    """The bundled demo's published data, without any access file or audit trail in it."""
    shutil.copytree(
        REPOSITORY / "data",
        target,
        symlinks=True,
        ignore=shutil.ignore_patterns("audit", "access.toml", ".equality-monitor.lock"),
    )
    return target


def server_environment(data: Path, secrets_file: Path) -> dict[str, str]:
    """The environment the dashboard runs in: this data folder and these secrets only."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_VARIABLES}
    env.update(
        {
            "EQUALITY_MONITOR_DATA": str(data),
            "STREAMLIT_SECRETS_FILES": str(secrets_file),
        }
    )
    return env


@contextmanager
def dashboard(port: int, env: Mapping[str, str], folder: Path) -> Iterator[str]:
    """``streamlit run serve.py`` (as ``make run``) on ``port``; yield its address."""
    log_path = folder / "streamlit.log"
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", "serve.py",
                "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
                "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
            ],
            cwd=REPOSITORY,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{url}/_stcore/health", process, log_path, body=b"ok")
            yield url
        finally:
            stop(process)
            errors = [line for line in log_path.read_text().splitlines() if "Error" in line]
            if errors:
                print("Streamlit server log errors:", *errors[-20:], sep="\n")
