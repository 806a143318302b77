"""The local API Gateway stand-in: request -> payload-2.0 event -> handler -> response; the authorizers."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import jwt as pyjwt
import pytest
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request, Response

from local.adapter import Gateway, NoRoute, Router, to_response
from local.auth import IamAuthorizer, JwtAuthorizer
from local.streams import Consumer, StreamDriver, matches


@dataclass(frozen=True)
class FakeRoute:
    method: str
    path: str
    auth: str = "none"


ROUTES = [
    FakeRoute("GET", "/purchases", "jwt"),
    FakeRoute("GET", "/purchases/{purchase_id}", "jwt"),
    FakeRoute("POST", "/purchases/{purchase_id}/seats/{seat_id}/revoke", "jwt"),
    FakeRoute("GET", "/invitations/{token}"),
    FakeRoute("POST", "/invitations/accept", "jwt"),
    FakeRoute("POST", "/upload"),
    FakeRoute("GET", "/admin/purchases", "iam"),
]

ISSUER = "http://127.0.0.1:3000/_local"


class Recorder:
    """A fake handler: remembers the event, answers with `result`."""

    def __init__(self, result: Any = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.result = result if result is not None else {"statusCode": 200, "body": "{}"}

    def __call__(self, route: Any, event: dict[str, Any]) -> Any:
        self.events.append(event)
        return self.result

    @property
    def event(self) -> dict[str, Any]:
        assert len(self.events) == 1
        return self.events[0]


@pytest.fixture(scope="module")
def authorizer() -> JwtAuthorizer:
    return JwtAuthorizer(issuer=ISSUER)


def client_for(recorder: Recorder, authorizer: JwtAuthorizer | None = None) -> Client:
    gateway = Gateway(
        ROUTES,
        recorder,
        authorizers={"jwt": authorizer or JwtAuthorizer(issuer=ISSUER), "iam": IamAuthorizer()},
    )

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        return gateway(Request(environ))(environ, start_response)

    return Client(app, use_cookies=False)


def bearer(authorizer: JwtAuthorizer, **kw: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + authorizer.mint("user-1", email="buyer@example.com", **kw)}


# ---- routing ------------------------------------------------------------------------------------------


def test_given_path_template_when_request_matches_then_path_parameters_and_route_key_are_set(
    authorizer: JwtAuthorizer,
) -> None:
    recorder = Recorder()
    client_for(recorder, authorizer).post("/purchases/pur_abc/seats/0003/revoke", headers=bearer(authorizer))
    event = recorder.event
    assert event["pathParameters"] == {"purchase_id": "pur_abc", "seat_id": "0003"}
    assert event["routeKey"] == "POST /purchases/{purchase_id}/seats/{seat_id}/revoke"
    assert event["requestContext"]["routeKey"] == event["routeKey"]
    assert event["rawPath"] == "/purchases/pur_abc/seats/0003/revoke"
    assert event["version"] == "2.0"
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"]["method"] == "POST"


def test_given_literal_and_template_routes_when_literal_path_then_literal_route_wins(
    authorizer: JwtAuthorizer,
) -> None:
    recorder = Recorder()
    client_for(recorder, authorizer).post("/invitations/accept", headers=bearer(authorizer))
    assert recorder.event["routeKey"] == "POST /invitations/accept"
    assert "pathParameters" not in recorder.event


def test_given_unknown_path_when_requested_then_404_in_spec_error_shape() -> None:
    recorder = Recorder()
    response = client_for(recorder).get("/nothing/here")
    assert response.status_code == 404
    assert response.json == {"error": {"code": "not_found", "message": "There is nothing at this address."}}
    assert recorder.events == []


def test_given_known_path_when_wrong_method_then_405_with_allow_header() -> None:
    recorder = Recorder()
    response = client_for(recorder).delete("/invitations/abc")
    assert response.status_code == 405
    assert response.json is not None and response.json["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET"
    assert recorder.events == []


def test_given_router_when_trailing_segment_differs_then_no_match() -> None:
    router = Router(ROUTES)
    with pytest.raises(NoRoute):
        router.match("GET", "/purchases/x/y")


# ---- query strings, headers, cookies, bodies ----------------------------------------------------------


def test_given_repeated_query_keys_when_requested_then_joined_with_commas_and_raw_kept() -> None:
    recorder = Recorder()
    client_for(recorder).get("/invitations/tok?state=a&state=b&q=hello%20world&empty=")
    event = recorder.event
    assert event["rawQueryString"] == "state=a&state=b&q=hello%20world&empty="
    assert event["queryStringParameters"] == {"state": "a,b", "q": "hello world", "empty": ""}


def test_given_no_query_when_requested_then_no_query_parameters_key() -> None:
    recorder = Recorder()
    client_for(recorder).get("/invitations/tok")
    assert recorder.event["rawQueryString"] == ""
    assert "queryStringParameters" not in recorder.event


def test_given_headers_when_requested_then_lower_cased_and_repeated_joined() -> None:
    recorder = Recorder()
    builder = EnvironBuilder(
        path="/invitations/tok",
        method="GET",
        headers=[("X-Trace", "one"), ("X-Trace", "two"), ("User-Agent", "curl/8")],
    )
    client_for(recorder).open(builder)
    headers = recorder.event["headers"]
    # WSGI has already joined the repeated header (werkzeug's test client with ", ", its server with ",").
    assert headers["x-trace"].replace(" ", "") == "one,two"
    assert headers["user-agent"] == "curl/8"
    assert all(name == name.lower() for name in headers)
    assert recorder.event["requestContext"]["http"]["userAgent"] == "curl/8"


def test_given_cookies_when_requested_then_cookie_list_and_no_cookie_header() -> None:
    recorder = Recorder()
    client_for(recorder).get("/invitations/tok", headers={"Cookie": "a=1; b=two"})
    assert recorder.event["cookies"] == ["a=1", "b=two"]
    assert "cookie" not in recorder.event["headers"]


def test_given_json_body_when_posted_then_text_body_not_base64() -> None:
    recorder = Recorder()
    client_for(recorder).post("/upload", data=json.dumps({"a": 1}), content_type="application/json")
    assert recorder.event["isBase64Encoded"] is False
    assert json.loads(recorder.event["body"]) == {"a": 1}


def test_given_binary_body_when_posted_then_base64_encoded() -> None:
    recorder = Recorder()
    payload = bytes(range(256))
    client_for(recorder).post("/upload", data=payload, content_type="application/octet-stream")
    assert recorder.event["isBase64Encoded"] is True
    assert base64.b64decode(recorder.event["body"]) == payload


def test_given_non_json_text_body_when_posted_then_passed_as_is() -> None:
    recorder = Recorder()
    client_for(recorder).post("/upload", data="not json {", content_type="text/plain")
    assert recorder.event["body"] == "not json {"
    assert recorder.event["isBase64Encoded"] is False


def test_given_no_body_when_requested_then_no_body_key() -> None:
    recorder = Recorder()
    client_for(recorder).get("/invitations/tok")
    assert "body" not in recorder.event


# ---- responses ----------------------------------------------------------------------------------------


def test_given_handler_result_when_converted_then_status_headers_cookies_and_body_kept() -> None:
    response = to_response(
        {
            "statusCode": 201,
            "headers": {"content-type": "application/json", "x-a": "b"},
            "cookies": ["s=1; HttpOnly", "t=2"],
            "body": '{"ok": true}',
        }
    )
    assert response.status_code == 201
    assert response.headers["x-a"] == "b"
    assert response.headers.getlist("Set-Cookie") == ["s=1; HttpOnly", "t=2"]
    assert json.loads(response.get_data()) == {"ok": True}


def test_given_base64_result_when_converted_then_body_decoded() -> None:
    response = to_response(
        {
            "statusCode": 200,
            "isBase64Encoded": True,
            "body": base64.b64encode(b"\x00\x01").decode(),
            "headers": {"content-type": "application/octet-stream"},
        }
    )
    assert response.get_data() == b"\x00\x01"


def test_given_bare_dict_result_when_converted_then_200_json() -> None:
    response = to_response({"hello": "world"})
    assert response.status_code == 200
    assert json.loads(response.get_data()) == {"hello": "world"}


def test_given_handler_raises_when_invoked_then_500_like_api_gateway() -> None:
    def boom(route: Any, event: dict[str, Any]) -> Any:
        raise RuntimeError("bug")

    gateway = Gateway(ROUTES, boom)
    builder = EnvironBuilder(path="/invitations/tok")
    response: Response = gateway(Request(builder.get_environ()))
    assert response.status_code == 500
    assert json.loads(response.get_data()) == {"message": "Internal Server Error"}


def aws_error(status: int, code: str) -> Exception:
    from botocore.exceptions import ClientError

    response: Any = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Op")


def failing_with(error: Exception) -> Response:
    def handler(route: Any, event: dict[str, Any]) -> Any:
        raise error

    gateway = Gateway(ROUTES, handler)
    return gateway(Request(EnvironBuilder(path="/invitations/tok").get_environ()))


@pytest.mark.parametrize(
    "error",
    [
        aws_error(500, "InternalServerError"),
        aws_error(400, "ThrottlingException"),
        aws_error(400, "ProvisionedThroughputExceededException"),
    ],
    ids=["moto-500", "throttled", "throughput"],
)
def test_given_emulated_aws_fails_under_a_handler_when_invoked_then_503_in_spec_error_shape(
    error: Exception,
) -> None:
    response = failing_with(error)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    body = json.loads(response.get_data())
    assert set(body) == {"error"} and body["error"]["code"] == "service_unavailable"
    assert body["error"]["message"].endswith(".")


def test_given_pynamodb_error_caused_by_an_unreachable_emulation_when_invoked_then_503() -> None:
    from botocore.exceptions import EndpointConnectionError
    from pynamodb.exceptions import PutError

    assert (
        failing_with(PutError("put failed", cause=EndpointConnectionError(endpoint_url="x"))).status_code
        == 503
    )


def test_given_aws_refusal_that_is_the_callers_when_unhandled_then_still_500_like_api_gateway() -> None:
    """A ConditionalCheckFailed the handler did not catch is a handler bug, not the emulation failing."""
    response = failing_with(aws_error(400, "ConditionalCheckFailedException"))

    assert response.status_code == 500


# ---- JWT authorizer stand-in --------------------------------------------------------------------------


def test_given_valid_token_when_jwt_route_then_claims_as_strings_reach_the_handler(
    authorizer: JwtAuthorizer,
) -> None:
    recorder = Recorder()
    client_for(recorder, authorizer).get("/purchases", headers=bearer(authorizer, email_verified=True))
    jwt_ctx = recorder.event["requestContext"]["authorizer"]["jwt"]
    assert jwt_ctx["claims"]["sub"] == "user-1"
    assert jwt_ctx["claims"]["email"] == "buyer@example.com"
    assert jwt_ctx["claims"]["email_verified"] == "true"
    assert jwt_ctx["claims"]["exp"].isdigit()


def test_given_no_token_when_jwt_route_then_401_and_handler_not_called() -> None:
    recorder = Recorder()
    response = client_for(recorder).get("/purchases")
    assert response.status_code == 401
    assert response.json == {"message": "Unauthorized"}
    assert recorder.events == []


@pytest.mark.parametrize("case", ["wrong_aud", "wrong_iss", "expired", "other_key", "garbage", "alg_none"])
def test_given_bad_token_when_verified_then_401(authorizer: JwtAuthorizer, case: str) -> None:
    now = 1_800_000_000
    claims = {"sub": "u", "iss": ISSUER, "aud": authorizer.audience, "iat": now, "exp": now + 3600}
    if case == "wrong_aud":
        token = JwtAuthorizer(issuer=ISSUER, audience="someone-else").mint("u")
    elif case == "wrong_iss":
        token = JwtAuthorizer(issuer="http://evil/_local").mint("u")
    elif case == "expired":
        token = authorizer.mint("u", lifetime_s=-10)
    elif case == "other_key":
        token = JwtAuthorizer(issuer=ISSUER).mint("u")
    elif case == "alg_none":
        token = pyjwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]  # an unsigned token
    else:
        token = "not.a.token"
    recorder = Recorder()
    response = client_for(recorder, authorizer).get(
        "/purchases", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert recorder.events == []


def test_given_token_without_bearer_scheme_when_jwt_route_then_401(authorizer: JwtAuthorizer) -> None:
    token = authorizer.mint("u")
    response = client_for(Recorder(), authorizer).get("/purchases", headers={"Authorization": token})
    assert response.status_code == 401


# ---- IAM stand-in -------------------------------------------------------------------------------------


def sigv4(access_key: str) -> dict[str, str]:
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key}/20260301/us-east-1/execute-api/"
        "aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    }


def test_given_support_key_when_iam_route_then_iam_identity_reaches_the_handler() -> None:
    recorder = Recorder()
    response = client_for(recorder).get("/admin/purchases", headers=sigv4("AKIALOCALSUPPORT"))
    assert response.status_code == 200
    iam = recorder.event["requestContext"]["authorizer"]["iam"]
    assert iam["userArn"] == "arn:aws:sts::000000000000:assumed-role/gift-plans-support/support-local"
    assert iam["accessKey"] == "AKIALOCALSUPPORT"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer x"}])
def test_given_no_sigv4_when_iam_route_then_403(headers: dict[str, str]) -> None:
    recorder = Recorder()
    response = client_for(recorder).get("/admin/purchases", headers=headers)
    assert response.status_code == 403
    assert response.json == {"message": "Forbidden"}
    assert recorder.events == []


def test_given_other_access_key_when_iam_route_then_403() -> None:
    response = client_for(Recorder()).get("/admin/purchases", headers=sigv4("AKIASOMEONEELSE"))
    assert response.status_code == 403


# ---- stream driver ------------------------------------------------------------------------------------

PATTERN = {"dynamodb": {"NewImage": {"type": {"S": ["seat", "purchase"]}}}}


def record(seq: int, kind: str) -> dict[str, Any]:
    return {
        "eventID": str(seq),
        "eventName": "INSERT",
        "dynamodb": {"SequenceNumber": str(seq), "NewImage": {"type": {"S": kind}}},
    }


def test_given_filter_pattern_when_matching_then_only_listed_values_pass() -> None:
    assert matches(PATTERN, record(1, "seat"))
    assert not matches(PATTERN, record(2, "profile"))
    assert not matches(PATTERN, {"dynamodb": {"OldImage": {"type": {"S": "seat"}}}})
    assert matches(
        {"dynamodb": {"NewImage": {"email": {"S": [{"exists": True}]}}}},
        {"dynamodb": {"NewImage": {"email": {"S": "a@b"}}}},
    )


class FakeStreamDriver(StreamDriver):
    def __init__(self, records: list[dict[str, Any]], consumers: list[Consumer]) -> None:
        super().__init__(client=None, table_name="t", consumers=consumers)
        self._pending = records

    def _fetch(self) -> None:
        self._log.extend(self._pending)
        self._pending = []


def test_given_batch_item_failure_when_drained_then_redelivered_from_first_failed_record() -> None:
    calls: list[list[str]] = []

    def handler(event: dict[str, Any]) -> Any:
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        calls.append(seqs)
        if len(calls) == 1:
            return {"batchItemFailures": [{"itemIdentifier": "3"}]}
        return {"batchItemFailures": []}

    consumer = Consumer(job="mailer", invoke=handler, batch_size=3, patterns=[PATTERN])
    driver = FakeStreamDriver(
        [
            record(1, "seat"),
            record(2, "profile"),
            record(3, "seat"),
            record(4, "purchase"),
            record(5, "seat"),
        ],
        [consumer],
    )
    driver.drain()
    assert calls == [["1", "3", "4"], ["3", "4", "5"]]


def test_given_always_failing_consumer_when_drained_then_dropped_after_max_attempts() -> None:
    calls: list[int] = []

    def handler(event: dict[str, Any]) -> Any:
        calls.append(len(event["Records"]))
        raise RuntimeError("SES is down")

    consumer = Consumer(job="mailer", invoke=handler, batch_size=10, max_attempts=3)
    driver = FakeStreamDriver([record(1, "seat"), record(2, "seat")], [consumer])
    driver.drain()
    assert calls == [2, 2, 2]
    assert [r["eventID"] for r in driver.dropped] == ["1", "2"]
    assert driver.drain() == 0


# ---- outbox -------------------------------------------------------------------------------------------


def test_given_sesv2_simple_messages_when_listed_by_recipient_then_text_and_html_oldest_first() -> None:
    from datetime import UTC, datetime

    from local.mail import Outbox

    outbox = Outbox(lambda: datetime(2026, 3, 1, 12, tzinfo=UTC), lambda d: d.isoformat(), read_moto=False)

    def simple(to: str, subject: str) -> dict[str, Any]:
        return {
            "Destination": {"ToAddresses": [to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": subject},
                    "Body": {"Text": {"Data": "t"}, "Html": {"Data": "<p>h</p>"}},
                }
            },
        }

    outbox._from_sesv2(simple("a@example.com", "first"), "m1")
    outbox._from_sesv2(simple("b@example.com", "other"), "m2")
    outbox._from_sesv2(simple("A@example.com", "second"), "m3")
    messages = outbox.messages("a@example.com")
    assert [m["subject"] for m in messages] == ["first", "second"]
    assert messages[0] == {
        "to": ["a@example.com"],
        "subject": "first",
        "text": "t",
        "html": "<p>h</p>",
        "sent_at": "2026-03-01T12:00:00+00:00",
    }
    assert len(outbox.messages()) == 3
