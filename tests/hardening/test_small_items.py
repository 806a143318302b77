"""Issue 14 item 10: the smaller findings, each with the test that failed before its fix."""

from __future__ import annotations

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
