"""The local server as a subprocess for black-box and browser tests: `python -m local.server` on a free port.

`run_server` starts it with its address space capped (`ulimit -v` for the server alone; common.md
asks it of every local server), waits until it answers, and stops it after. `Server` is the client
the tests drive it with. The fixtures are tests/local/conftest.py's and tests/e2e/conftest.py's.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from giftplans.purchases import purchase_id_for

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 30
SERVER_ADDRESS_SPACE = 4 * 1024**3  # bytes of virtual memory the local server may map


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "STRIPE_", "PYTEST_")) and k not in ("TABLE_NAME", "PORT")
    }
    env["PORT"] = str(port)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def token(
        self, sub: str | None = None, email: str | None = None, verified: bool = True
    ) -> tuple[str, str]:
        sub = sub or f"buyer-{uuid.uuid4().hex[:8]}"
        email = email or f"{sub}@example.com"
        answer = requests.post(
            f"{self.url}/_local/token",
            json={"sub": sub, "email": email, "email_verified": verified},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["token"], email

    def post(self, path: str, body: Any = None, token: str | None = None, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(kw.pop("headers", {}))
        return requests.post(f"{self.url}{path}", json=body, headers=headers, timeout=30, **kw)

    def get(self, path: str, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(f"{self.url}{path}", headers=headers, timeout=30)

    def ok(self, response: requests.Response, status: int = 200) -> Any:
        """The JSON body of a response that must have `status`; the server's log when it does not."""
        assert response.status_code == status, (
            f"{response.request.method} {response.url} -> {response.status_code} {response.text}\n"
            f"{self.log()}"
        )
        return response.json()

    def drain(self) -> None:
        """Deliver every stream record now (mail, events): no sleeping."""
        self.ok(self.post("/_local/stream/drain"))

    def mail(self, to: str) -> list[dict[str, Any]]:
        self.drain()
        messages: list[dict[str, Any]] = self.ok(self.get(f"/_local/mail?to={quote(to)}"))["messages"]
        return messages

    def set_clock(self, now: str) -> None:
        self.ok(self.post("/_local/clock", {"now": now}))

    def reset_clock(self) -> None:
        self.ok(requests.delete(f"{self.url}/_local/clock", timeout=10))

    def buy(self, token: str, plan: str = "pro", quantity: int = 3) -> str:
        """Check out and let the local Stripe complete it; the purchase id."""
        session = self.ok(self.post("/checkout/sessions", {"plan": plan, "quantity": quantity}, token), 201)
        self.ok(self.post(f"/_local/checkout/{session['session_id']}/complete", {"payment_status": "paid"}))
        return purchase_id_for(session["session_id"])


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def run_server(log_prefix: str = "local-server-") -> Iterator[Server]:
    """`python -m local.server` on a free port, its address space capped, once it answers; stopped after."""
    port = free_port()
    log_file = tempfile.NamedTemporaryFile(prefix=log_prefix, suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        # `ulimit -v` for the server alone (KiB), then the shell becomes the server.
        [
            "/bin/sh",
            "-c",
            f'ulimit -v {SERVER_ADDRESS_SPACE // 1024} && exec "$0" -m local.server',
            sys.executable,
        ],
        cwd=ROOT,
        env=server_env(port),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    running = Server(f"http://127.0.0.1:{port}", process, Path(log_file.name))
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"the local server exited with {process.returncode}:\n{running.log()}")
            try:
                if requests.get(f"{running.url}/_local/health", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # bound, not serving yet
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the local server was not ready in {STARTUP_TIMEOUT_S}s:\n{running.log()}")
            time.sleep(0.1)
        yield running
    finally:
        stop(process)
        log_file.close()
        Path(log_file.name).unlink()
