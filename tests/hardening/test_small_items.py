"""Issue 14 item 10: the smaller findings, each with the test that failed before its fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import gifts as g
from tests.support.apigw import call, http_event
from tests.support.factories import paid_purchase

pytestmark = pytest.mark.usefixtures("aws", "clock")


def _invite_with(pid: str, content_type: str, **headers: str) -> tuple[int, Any]:
    event = http_event(
        "POST",
        f"/purchases/{pid}/invitations",
        route="/purchases/{purchase_id}/invitations",
        body={"invitations": [{"email": "ann@example.com"}]},
        claims=g.who(),
        path_params={"purchase_id": pid},
        headers={"content-type": content_type, **headers},
    )
    return call("purchases_api", event)


@pytest.mark.parametrize(
    "content_type", ["APPLICATION/JSON", "Application/Json; Charset=UTF-8", "application/json;charset=utf-8"]
)
def test_given_json_in_any_case_and_with_a_charset_then_it_is_json_not_415(content_type: str) -> None:
    pid = paid_purchase(quantity=2)
    status, body = _invite_with(pid, content_type)
    assert status == 201, body


def test_given_a_body_that_is_not_json_then_still_415_in_the_spec_shape() -> None:
    pid = paid_purchase(quantity=2)
    status, body = _invite_with(pid, "TEXT/PLAIN")
    assert (status, body["error"]["code"]) == (415, "unsupported_media_type")


def test_given_less_than_a_day_of_term_left_when_accepting_then_410_too_late_and_decline_still_works(
    clock: Any,
) -> None:
    from giftplans import clock as real_clock

    from tests.support.apigw import claims

    pid = paid_purchase(quantity=3)
    assert g.invite(pid, "ann@example.com", "bob@example.com", "cat@example.com")[0] == 201
    ann, bob, cat = (g.link(pid, s) for s in ("0001", "0002", "0003"))
    end = real_clock.from_epoch(int(g.seat(pid, "0001").term_end_ts))

    clock.set(end - timedelta(hours=24, seconds=1))  # a day and a second left: still accepted
    assert g.accept(ann, claims("sub-ann", "ann@example.com"))[0] == 200
    clock.set(end - timedelta(hours=23, minutes=59))
    status, body = g.accept(bob, claims("sub-bob", "bob@example.com"))
    assert (status, body["error"]["code"]) == (410, "invitation_too_late")
    assert g.seat(pid, "0002").state == "invited"  # nothing changed
    assert g.decline(cat)[0] == 200  # a decline is still heard
    clock.set(end)
    assert g.accept(bob, claims("sub-bob", "bob@example.com"))[1]["error"]["code"] == "invitation_expired"


def test_given_a_non_ascii_local_part_when_invited_then_422_unsendable_email_and_nothing_sent() -> None:
    pid = paid_purchase(quantity=2)
    status, body = g.invite(pid, "ann@example.com", "josé@example.com")
    assert (status, body["error"]["code"]) == (422, "invalid_rows")
    assert [(r["index"], r["code"]) for r in body["error"]["rows"]] == [(1, "unsendable_email")]
    assert g.seat(pid, "0001").state == "available"


def test_given_purchases_bought_in_one_second_when_listed_then_newest_first(clock: Any) -> None:
    """GSI1's sort key had whole seconds then the (random) purchase id: one second listed in id order."""
    at = clock.now
    made = []
    for _ in range(6):
        made.append(paid_purchase("buyer-1", quantity=1, at=at))  # one Stripe second
        clock.advance(milliseconds=3)
    status, body = call("purchases_api", http_event("GET", "/purchases", claims=g.who()))
    assert status == 200
    assert [p["purchase_id"] for p in body["purchases"]] == list(reversed(made))


def test_given_five_verification_mails_today_when_a_sixth_is_asked_then_429_resets_at(clock: Any) -> None:
    from tests.integration.test_verification import ask

    clock.set(datetime(2026, 3, 1, 20, 0, tzinfo=UTC))
    assert ask()[0] == 202
    clock.advance(seconds=10)
    assert ask()[1]["error"]["code"] == "verification_too_soon"  # refused: counts nothing
    for _ in range(4):
        clock.advance(minutes=2)
        assert ask()[0] == 202
    clock.advance(minutes=2)
    status, body = ask()
    assert (status, body["error"]["code"]) == (429, "verification_limit_reached")
    assert body["error"]["resets_at"] == "2026-03-02T00:00:00Z"
    clock.set(datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC))  # a new UTC day
    assert ask()[0] == 202


@pytest.mark.parametrize(
    ("arn", "status"),
    [
        ("arn:aws:sts::000000000000:assumed-role/gift-plans-support/sam", 200),
        ("arn:aws:iam::123456789012:user/support", 403),  # any same-account user: no longer enough
        ("arn:aws:sts::000000000000:assumed-role/gift-plans-dev-mailer/x", 403),  # another role
        ("arn:aws:sts::999999999999:assumed-role/gift-plans-support/sam", 403),  # another account
        ("arn:aws:sts::000000000000:assumed-role/gift-plans-support-evil/x", 403),
        ("", 403),
    ],
)
def test_given_an_iam_principal_when_calling_admin_then_only_support_role_sessions_are_answered(
    arn: str, status: int
) -> None:
    event = http_event("GET", "/admin/purchases", query={"buyer_email": "buyer@example.com"}, iam_arn=arn)
    answer, body = call("admin_api", event)
    assert answer == status, body
    if status == 403:
        assert body["error"]["code"] == "support_only"


def test_given_admin_deployed_without_the_role_then_nobody_is_support(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SUPPORT_ROLE_ARN")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "gift-plans-dev-admin-api")
    event = http_event(
        "GET",
        "/admin/purchases",
        query={"buyer_email": "buyer@example.com"},
        iam_arn="arn:aws:sts::000000000000:assumed-role/gift-plans-support/sam",
    )
    assert call("admin_api", event)[1]["error"]["code"] == "support_only"


def test_given_the_template_then_a_support_role_and_own_throttles_for_unauthenticated_routes() -> None:
    from local import template as tpl

    t = tpl.load()
    resources, params = t["Resources"], t["Parameters"]
    assert params["SupportPrincipalArns"]["Type"] == "CommaDelimitedList"
    role = resources["SupportRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    [statement] = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert all("/admin" in str(r) for r in statement["Resource"])
    env = resources["AdminApiFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SUPPORT_ROLE_ARN"] == {"Fn::GetAtt": ["SupportRole", "Arn"]}
    api = resources["HttpApi"]["Properties"]
    default = api["DefaultRouteSettings"]
    unauthenticated = {
        f"{e['Properties']['Method']} {e['Properties']['Path']}"
        for r in resources.values()
        if r.get("Type") == "AWS::Serverless::Function"
        for e in (r["Properties"].get("Events") or {}).values()
        if e.get("Type") == "HttpApi"
        and (e["Properties"].get("Auth") or {}).get("Authorizer") == "NONE"
        and e["Properties"]["Path"] != "/openapi.json"  # a static document, cached
    }
    assert unauthenticated == set(api["RouteSettings"])
    for settings in api["RouteSettings"].values():
        assert settings["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
        assert settings["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]


HUGE_NUMBER = '{"token": ' + "9" * 5000 + "}"  # valid JSON; Python refuses ints over 4300 digits
DEEP_ARRAYS = "[" * 100_000 + "]" * 100_000  # valid JSON; deeper than Python's recursion limit
JSON_ROUTES = [  # one route with a JSON body in each function that has one (the third: no sign-in)
    ("purchases_api", "/purchases/{purchase_id}/invitations", "/purchases/pur_x/invitations"),
    ("checkout", "/checkout/sessions", "/checkout/sessions"),
    ("invitations_api", "/invitations/decline", "/invitations/decline"),
    ("me_api", "/me/email-verification/confirm", "/me/email-verification/confirm"),
    ("upgrades_api", "/me/upgrade/quote", "/me/upgrade/quote"),
]


@pytest.mark.parametrize("body", [HUGE_NUMBER, DEEP_ARRAYS], ids=["4300-digit-int", "nested-100000"])
@pytest.mark.parametrize(("job", "route", "path"), JSON_ROUTES, ids=[r[0] for r in JSON_ROUTES])
def test_given_json_python_cannot_read_then_400_malformed_json_not_500(
    job: str, route: str, path: str, body: str
) -> None:
    event = http_event(
        "POST",
        path,
        route=route,
        raw_body=body,
        claims=g.who(),
        path_params={"purchase_id": "pur_x"} if "{purchase_id}" in route else None,
        headers={"content-type": "application/json"},
    )
    status, answer = call(job, event)

    assert (status, answer["error"]["code"]) == (400, "malformed_json"), answer
    assert answer["error"]["fields"][0]["field"] == "body"


def test_given_the_function_writing_1000_row_lists_then_its_timeout_fits_the_http_api() -> None:
    # ~44 round trips of up to 100 items (bench invite_list_1000): not within the Globals' 10 s at 512 MB
    # for sure; under the HTTP API's 30 s integration limit, and under the list's lease, so a run that is
    # cut off leaves a lease that ends and a list its Idempotency-Key finishes.
    from giftplans.invitations.buyer import LEASE_S

    from local import template

    [purchases] = [f for f in template.functions() if f.job == "purchases_api"]
    assert 20 <= purchases.timeout < 30 and purchases.timeout < LEASE_S


@pytest.mark.parametrize(
    "raw",
    ['{"token": "x"}'.encode("utf-16"), b'{"token": "\xed\xa0\x80"}'],
    ids=["utf-16", "encoded-surrogate"],
)
def test_given_a_base64_body_that_is_not_utf8_then_400_malformed_json_not_500(raw: bytes) -> None:
    # API Gateway (and the local adapter) base64-encodes a body that is not UTF-8 text; json.loads
    # would guess UTF-16 and read it, but Powertools decodes strict UTF-8 and raised a bare 500.
    import base64

    event = http_event("POST", "/invitations/decline", route="/invitations/decline")
    event.update(body=base64.b64encode(raw).decode(), isBase64Encoded=True)
    status, answer = call("invitations_api", event)

    assert (status, answer["error"]["code"]) == (400, "malformed_json"), answer
