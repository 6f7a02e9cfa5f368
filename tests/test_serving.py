"""The server as ``make run`` starts it: loopback only, XSRF on, no metrics endpoint.

One server for the module, started with the command in the Makefile's ``run`` recipe (so
the test follows ``make run`` if it changes), with only the port chosen here: the address,
XSRF protection and error details must come from the repository's ``.streamlit/config.toml``
and the entry ``serve.py``. No browser is needed: every check is an HTTP request, a
websocket handshake or a TCP connection.
"""

from __future__ import annotations

import http.client
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import tomllib
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPOSITORY


def _make_run_command() -> list[str]:
    """The ``run`` recipe of the Makefile, with ``$(BIN)/python`` as this interpreter."""
    makefile = (REPOSITORY / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^run:[^\n]*\n\t([^\n]+)", makefile, flags=re.MULTILINE)
    assert recipe, "the Makefile has no run target with a recipe"
    words = shlex.split(recipe.group(1))
    assert words[0] == "$(BIN)/python", f"make run no longer starts $(BIN)/python: {words}"
    return [sys.executable, *words[1:]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _other_addresses() -> list[str]:
    """This machine's addresses other than loopback, as ``hostname -I`` lists them."""
    try:
        out = subprocess.run(
            ["hostname", "-I"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [a for a in out.split() if not a.startswith("127.") and a != "::1"]


def _get(url: str, method: str = "GET", headers: dict[str, str] | None = None):
    """(status, headers, body) of one request, without following redirects."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        connection.close()


#: The log of each server :func:`served` started, by port.
_SERVER_LOGS: dict[int, Path] = {}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    port = _free_port()
    command = [*_make_run_command(), "--server.headless=true", f"--server.port={port}"]
    home = tmp_path_factory.mktemp("home")
    env = {
        **os.environ,
        "EQUALITY_MONITOR_DATA": str(REPOSITORY / "data"),
        # No secrets from the developer's machine: only the repository's configuration.
        "HOME": str(home),
        "STREAMLIT_SECRETS_FILES": str(home / "no-secrets.toml"),
    }
    log_path = tmp_path_factory.mktemp("serving") / "streamlit.log"
    _SERVER_LOGS[port] = log_path
    log = log_path.open("w", encoding="utf-8")
    process = subprocess.Popen(
        command, cwd=REPOSITORY, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}: {log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read().decode() == "ok":
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"the server did not answer within 60 s: {log_path.read_text()}")
        yield url, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_make_run_serves_the_hardened_entry() -> None:
    command = _make_run_command()
    assert command[1:4] == ["-m", "streamlit", "run"]
    assert command[4] == "serve.py"
    # Nothing on the command line overrides the configuration file's address.
    assert not any(word.startswith("--server.address") for word in command)


def test_health_answers_ok(served: tuple[str, int]) -> None:
    url, _ = served
    status, _, body = _get(f"{url}/_stcore/health")
    assert (status, body) == (200, b"ok")


def test_the_server_reads_the_published_extracts_as_it_starts(served: tuple[str, int]) -> None:
    """Before anyone opens a page, the extracts the pages open with are read (serve.py)."""
    _, port = served
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = _SERVER_LOGS[port].read_text(encoding="utf-8").splitlines()
        warmed = [line for line in lines if "warmed up in" in line]
        if warmed:
            break
        time.sleep(0.3)
    else:
        pytest.fail("the server did not warm up within 60 s of answering")
    assert "prisoner_periods" in warmed[0] and "staff_periods" in warmed[0]
    assert not [line for line in lines if "warming up:" in line]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_stcore/metrics"),
        ("GET", "/_stcore/metrics?families=session_events"),
        ("OPTIONS", "/_stcore/metrics"),
        ("GET", "/_stcore/metrics/"),
        ("GET", "/_stcore/metrics/anything/below"),
        ("GET", "//_stcore//metrics"),
        ("GET", "/_STCORE/Metrics"),
        ("GET", "/_stcore/%6Detrics"),
        ("GET", "/dashboard/_stcore/metrics"),
    ],
)
def test_metrics_endpoint_is_not_served(served: tuple[str, int], method: str, path: str) -> None:
    url, _ = served
    status, _, body = _get(f"{url}{path}", method=method, headers={"Accept": "text/plain"})
    assert status == 404, f"{method} {path} answered {status}"
    assert b"session" not in body and b"cache" not in body


def test_other_core_endpoints_still_answer(served: tuple[str, int]) -> None:
    """The block is narrow: Streamlit's other endpoints and the sign-in routes answer."""
    url, _ = served
    assert _get(f"{url}/_stcore/host-config")[0] == 200
    assert _get(f"{url}/")[0] == 200
    assert _get(f"{url}/offenders")[0] == 200
    # Without [auth] in the secrets both routes redirect to the app: they exist.
    for route in ("/auth/login", "/oauth2callback"):
        status, headers, _ = _get(f"{url}{route}")
        assert status == 302 and headers["Location"] == "/", route


def test_websocket_is_served_same_origin_only(served: tuple[str, int]) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    url, port = served
    stream = f"ws://127.0.0.1:{port}/_stcore/stream"
    with connect(stream, origin=url, subprotocols=["streamlit"], open_timeout=10) as ws:
        assert ws.subprotocol == "streamlit"
    with (
        pytest.raises(InvalidStatus),
        connect(stream, origin="https://elsewhere.example", open_timeout=10),
    ):
        pass


def test_bound_to_loopback_only(served: tuple[str, int]) -> None:
    _, port = served
    addresses = _other_addresses()
    if not addresses:
        pytest.skip("this machine has no address other than loopback")
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            assert s.connect_ex((address, port)) != 0, f"the server answers on {address}"


def test_xsrf_protection_is_on(served: tuple[str, int]) -> None:
    url, _ = served
    # The health check (which the browser polls) hands out the XSRF cookie only while the
    # protection is on...
    _, headers, _ = _get(f"{url}/_stcore/health")
    assert "_streamlit_xsrf=" in " ".join(headers.get_all("Set-Cookie") or [])
    # ...and a state-changing request without the matching token is refused (403), before
    # the session is even looked up (which would answer 400).
    status, _, _ = _get(f"{url}/_stcore/upload_file/no-session/no-file", method="PUT")
    assert status == 403


def test_configuration_file_spells_out_the_safe_settings() -> None:
    config = tomllib.loads((REPOSITORY / ".streamlit" / "config.toml").read_text("utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["disableDataExport"] is True


def test_streamlit_reads_back_the_safe_settings(tmp_path: Path) -> None:
    """What Streamlit itself resolves from the repository's configuration."""
    env = {**os.environ, "HOME": str(tmp_path)}
    shown = subprocess.run(
        [sys.executable, "-m", "streamlit", "config", "show"],
        cwd=REPOSITORY,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    active: dict[str, str] = {}
    section = ""
    for line in shown.splitlines():
        if line.startswith("["):
            section = line.strip("[] ")
        elif "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            active[f"{section}.{key.strip()}"] = value.strip()
    assert active["server.address"] == '"127.0.0.1"'
    assert active["server.enableXsrfProtection"] == "true"
    assert active["client.showErrorDetails"] == '"none"'
