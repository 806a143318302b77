"""Generated requests (schemathesis) against the local server's /openapi.json: every route.

Three bounded runs of the `st` CLI in a subprocess, each against the running local server:

1. every JWT and public route, signed in as a buyer, with generated parameters;
2. the same routes with the path parameters of a real purchase, seat and invitation link
   of that buyer, so generated bodies reach the domain instead of stopping at a 404;
3. the /admin routes, signed with the local support IAM key.

Checks: no 5xx, every response matches its documented schema, and every 4xx is the SPEC
error shape (tests/hardening/st_hooks.py; API Gateway's own authorizer refusals are the
one documented exception). The figures land in FINDINGS.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.local.conftest import ROOT, Server

pytestmark = pytest.mark.local

ST = Path(sys.executable).with_name("st")
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,spec_error_shape"
MAX_EXAMPLES = 12
RUN_TIMEOUT_S = 150
SUPPORT_SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIALOCALSUPPORT/20260301/us-east-1/execute-api/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


def run_schemathesis(
    server: Server, tmp_path: Path, label: str, *args: str, config: str | None = None
) -> int:
    """Run `st run` with our checks; fail with its report unless every case passed; return the cases sent."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(SCHEMATHESIS_HOOKS="tests.hardening.st_hooks", PYTHONPATH=str(ROOT), NO_COLOR="1")
    command = [str(ST)]
    if config is not None:
        config_path = tmp_path / "schemathesis.toml"
        config_path.write_text(config, encoding="utf-8")
        command += ["--config-file", str(config_path)]
    command += [
        "run",
        f"{server.url}/openapi.json",
        "--url",
        server.url,
        "--checks",
        CHECKS,
        "--phases",
        "coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "2",
        "--continue-on-failure",
        "--seed",
        "20260301",
        "--warnings",
        "off",
        *args,
    ]
    done = subprocess.run(
        command,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        f"schemathesis found failures:\n{output[-12000:]}\n--- server log ---\n{server.log()}"
    )
    sent = re.search(r"(\d+) generated", output)
    assert sent, output[-3000:]
    print(f"schemathesis ({label}): {sent.group(1)} cases sent, all passed")
    return int(sent.group(1))


def seeded_buyer(server: Server) -> tuple[str, str, str]:
    """A buyer with a paid 3-seat purchase and seat 0001 invited: (token, purchase_id, invitation token)."""
    token, _ = server.token("st-seeded-buyer", "st-seeded-buyer@example.com")
    created = server.post("/checkout/sessions", {"plan": "pro", "quantity": 3}, token)
    assert created.status_code == 201, created.text
    done = server.post(
        f"/_local/checkout/{created.json()['session_id']}/complete", {"payment_status": "paid"}
    )
    assert done.status_code == 200, done.text
    purchase_id = server.get("/purchases", token).json()["purchases"][0]["purchase_id"]
    invited = server.post(
        f"/purchases/{purchase_id}/invitations",
        {"invitations": [{"email": "st-recipient@example.com"}]},
        token,
    )
    assert invited.status_code == 201, invited.text
    assert server.post("/_local/stream/drain").status_code == 200
    mail = requests.get(f"{server.url}/_local/mail", params={"to": "st-recipient@example.com"}, timeout=10)
    link = re.search(r"token=([A-Za-z0-9_.\-]+)", mail.json()["messages"][-1]["text"])
    assert link, mail.text
    return token, purchase_id, link.group(1)


def test_given_buyer_token_when_every_public_and_jwt_route_is_fuzzed_then_no_5xx_and_every_answer_documented(
    server, tmp_path
):
    token, _ = server.token("st-buyer", "st-buyer@example.com")
    sent = run_schemathesis(
        server,
        tmp_path,
        "buyer, generated ids",
        "--header",
        f"Authorization: Bearer {token}",
        "--exclude-path-regex",
        "^/admin",
    )
    assert sent > 300


def test_given_real_purchase_seat_and_link_when_routes_are_fuzzed_then_no_5xx_and_every_answer_documented(
    server, tmp_path
):
    token, purchase_id, link = seeded_buyer(server)
    config = (
        f'[parameters]\n"path.purchase_id" = "{purchase_id}"\n"path.seat_id" = "0001"\n'
        f'"path.token" = "{link}"\n'
    )
    sent = run_schemathesis(
        server,
        tmp_path,
        "buyer, real ids",
        "--header",
        f"Authorization: Bearer {token}",
        "--include-path-regex",
        "^/(purchases|invitations|me)",
        config=config,
    )
    assert sent > 200
    assert purchase_id in server.log(), "the generated requests never named the real purchase"


def test_given_support_iam_signature_when_admin_routes_are_fuzzed_then_no_5xx_and_every_answer_documented(
    server, tmp_path
):
    sent = run_schemathesis(
        server,
        tmp_path,
        "support",
        "--header",
        f"Authorization: {SUPPORT_SIGV4}",
        "--include-path-regex",
        "^/admin",
    )
    assert sent > 100
