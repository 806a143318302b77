"""Black-box: `python -m local.server` in a subprocess, walked over HTTP as a developer (or Stripe) would."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests

from tests.local.conftest import ROOT, Server, assert_error_shape, server_env

pytestmark = pytest.mark.local


# ---- the walkthrough ----------------------------------------------------------------------------------


def test_given_running_server_when_buyer_checks_out_and_stripe_completes_twice_then_one_paid_purchase(
    server: Server,
) -> None:
    token, email = server.token()

    created = server.post("/checkout/sessions", {"plan": "pro", "quantity": 3}, token)
    assert created.status_code == 201, f"{created.text}\n{server.log()}"
    session_id, url = created.json()["session_id"], created.json()["url"]
    assert session_id.startswith("cs_test_")
    assert url == f"{server.url}/_local/pay/{session_id}"

    first = server.post(f"/_local/checkout/{session_id}/complete", {"payment_status": "paid"})
    assert first.status_code == 200, f"{first.text}\n{server.log()}"
    assert first.json()["webhook"]["status"] == 200
    again = server.post(f"/_local/checkout/{session_id}/complete", {"payment_status": "paid"})
    assert again.status_code == 200, again.text

    listed = server.get("/purchases", token)
    assert listed.status_code == 200, listed.text
    purchases = listed.json()["purchases"]
    assert len(purchases) == 1, purchases
    purchase = purchases[0]
    assert purchase["status"] == "paid"
    assert purchase["plan"] == "pro"
    assert purchase["quantity"] == 3
    assert purchase["seat_counts"]["available"] == 3
    assert sum(purchase["seat_counts"].values()) == 3
    assert purchase["amount_total"] == 3 * 24000

    assert server.post("/_local/stream/drain").status_code == 200
    mail = server.get(f"/_local/mail?to={email}").json()["messages"]
    assert len(mail) == 1, mail  # one receipt, though Stripe delivered twice
    assert mail[0]["to"] == [email]
    assert mail[0]["text"] and mail[0]["html"]


def test_given_no_token_when_listing_purchases_then_401(server: Server) -> None:
    answer = server.get("/purchases")
    assert answer.status_code == 401
    bad = server.get("/purchases", token="not-a-jwt")
    assert bad.status_code == 401


def test_given_bad_signature_when_webhook_posted_then_400_and_nothing_fulfilled(server: Server) -> None:
    event = {
        "id": "evt_forged",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_test_forged", "object": "checkout.session"}},
    }
    answer = requests.post(
        f"{server.url}/webhooks/stripe",
        data=json.dumps(event),
        timeout=10,
        headers={"Content-Type": "application/json", "Stripe-Signature": f"t={int(time.time())},v1=00"},
    )
    assert answer.status_code == 400
    assert_error_shape(answer)


def test_given_malformed_body_when_checkout_posted_then_4xx_in_spec_error_shape(server: Server) -> None:
    token, _ = server.token()
    answer = requests.post(
        f"{server.url}/checkout/sessions",
        data="{not json",
        timeout=10,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert 400 <= answer.status_code < 500
    assert_error_shape(answer)


def test_given_unknown_path_and_wrong_method_then_404_and_405_in_spec_error_shape(server: Server) -> None:
    missing = server.get("/no/such/thing")
    assert missing.status_code == 404
    assert assert_error_shape(missing)["code"] == "not_found"
    wrong = requests.delete(f"{server.url}/purchases", timeout=10)
    assert wrong.status_code == 405
    assert_error_shape(wrong)


def test_given_local_clock_when_set_and_reset_then_now_follows(server: Server) -> None:
    moved = server.post("/_local/clock", {"now": "2030-01-02T03:04:05Z"})
    try:
        assert moved.status_code == 200
        assert moved.json()["now"].startswith("2030-01-02T03:04")
        bad = server.post("/_local/clock", {"now": "yesterday"})
        assert bad.status_code == 400
        assert_error_shape(bad)
    finally:
        reset = requests.delete(f"{server.url}/_local/clock", timeout=10)
    assert reset.status_code == 200
    assert not reset.json()["now"].startswith("2030")


def test_given_running_server_when_redrive_tool_runs_then_the_mailer_reports_the_window(
    server: Server,
) -> None:
    from tools import redrive

    report = redrive.local(server.url, {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"})
    assert (report["start"], report["end"], report["stopped"]) == (
        "2026-03-01T00:00:00Z",
        "2026-03-02T00:00:00Z",
        None,
    )
    bad = redrive.local(server.url, {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"})
    assert bad["error"]["code"] == "invalid"


def test_given_running_server_when_docs_opened_then_swagger_ui_served_locally(server: Server) -> None:
    page = server.get("/docs")
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    script = server.get("/_local/docs/swagger-ui-bundle.min.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000


def test_given_busy_port_when_second_server_starts_then_it_says_so_and_exits_1(server: Server) -> None:
    port = server.url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "local.server"],
        cwd=ROOT,
        env=server_env(int(port)),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert f"port {port} is busy" in result.stderr
