"""`make dev`: the whole service on 127.0.0.1, no Docker, no AWS account.

One process: moto's server (DynamoDB and its stream, SES, EventBridge, SNS, SSM) on a
free loopback port, the table created from template.yaml, and an HTTP server that
serves every route of template.yaml through the real handlers (local.adapter), with
stand-ins for the JWT and IAM authorizers (local.auth) and for Stripe (local.stripe_fake),
the stream poller that feeds the mail and events functions (local.streams), and the
local-only `/_local/...` routes of SPEC section 6.

    python -m local.server          # PORT=3000 by default
"""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from local import functions as fn
from local.adapter import Gateway, error_response, json_response
from local.auth import DEFAULT_SUPPORT_ACCESS_KEY, IamAuthorizer, JwtAuthorizer
from local.bus import EventLog
from local.mail import Outbox
from local.ses_simulator import Destination, MailboxSimulator
from local.sns import SnsToLambda, Subscriber
from local.streams import LOCAL_RETRY_CAP, Consumer, StreamDriver
from local.stripe_fake import Delivery, LocalStripe, StripeError, configured_price
from local.stripe_fake.pages import StripePages

log = logging.getLogger("local")

REGION = "us-east-1"
DEFAULT_PORT = 3000
LOCAL_STUB_KEY = "sk_test_local_stub"
SERVICES = ("dynamodb", "dynamodbstreams", "sesv2", "ses", "events", "sns", "ssm")


@dataclass
class Config:
    port: int
    base_url: str
    stripe_stub: bool


# ---- the emulated AWS ---------------------------------------------------------------------------------


class Aws:
    """moto's server in this process, and the resources template.yaml would have created."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = _free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from local import dynamodb, moto_memory

        dynamodb.apply()  # each DynamoDB request atomic and isolated; a refused one undone item by item
        moto_memory.forget_instances()  # moto would keep every object it ever made
        self._server.start()

    def stop(self) -> None:
        with contextlib.suppress(Exception):  # stopping a server that did not start: nothing to say
            self._server.stop()

    def provision(self, template: Any) -> None:
        import boto3

        table = os.environ["TABLE_NAME"]
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**template.table_definition(table_name=table))
        ttl = template.time_to_live(table_name=table)
        if ttl:
            dynamodb.update_time_to_live(**ttl)
        sender = os.environ.get("MAIL_FROM", "gifts@example.com")
        boto3.client("sesv2").create_email_identity(EmailIdentity=sender)
        boto3.client("ses").verify_email_identity(EmailAddress=sender)
        bus = os.environ.get("EVENT_BUS_NAME", "default")
        if bus and bus != "default":
            boto3.client("events").create_event_bus(Name=bus)
        names = template.resource_names()
        for destination in template.mail_event_destinations():
            boto3.client("sesv2").create_configuration_set(
                ConfigurationSetName=names[destination.configuration_set]
            )
            boto3.client("sns").create_topic(Name=names[destination.topic])
        for subscription in template.sns_subscriptions():
            boto3.client("sns").create_topic(Name=names[subscription.topic])  # idempotent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def configure_environment(config: Config, aws_endpoint: str, template: Any) -> None:
    """What the deployed functions would find in their environment, pointed at the local stand-ins.

    Explicit settings in the caller's environment win over the template's defaults; the AWS
    endpoint and credentials always point at the emulation (no real account is ever touched).
    """
    env = os.environ
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        env.pop(key, None)
    env["AWS_ENDPOINT_URL"] = aws_endpoint
    env["AWS_ACCESS_KEY_ID"] = "local"
    env["AWS_SECRET_ACCESS_KEY"] = "local"
    env["AWS_DEFAULT_REGION"] = env["AWS_REGION"] = REGION
    web = config.base_url
    local = {
        "TABLE_NAME": "gift-plans",
        "WEB_BASE_URL": web,
        "CHECKOUT_SUCCESS_URL": f"{web}/billing?session_id={{CHECKOUT_SESSION_ID}}",
        "CHECKOUT_CANCEL_URL": f"{web}/",
        "PLAN_SUCCESS_URL": f"{web}/plan?checkout=done&session_id={{CHECKOUT_SESSION_ID}}",
        "PLAN_CANCEL_URL": f"{web}/plan?checkout=cancelled",
        "STRIPE_WEBHOOK_SECRET": "whsec_local_dev",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "GIFTPLANS_CHECK_ANSWERS": "1",  # each answer checked against its declaration (giftplans.contract)
    }
    for key, value in local.items():
        env.setdefault(key, value)
    merged: dict[str, str] = {}
    names = template.resource_names()  # what !Ref gives for the topics and configuration sets locally
    for function in template.functions():
        for key, value in template.environment(function.job, overrides=names).items():
            if key in merged and merged[key] != value:
                log.warning("functions disagree on %s; local runs use one process-wide value", key)
            merged.setdefault(key, value)
    for key, value in merged.items():
        if key not in local:  # the local URLs above replace the template's
            env.setdefault(key, value)
    if config.stripe_stub:
        env["STRIPE_API_KEY"] = LOCAL_STUB_KEY
        env["STRIPE_API_BASE"] = f"{web}/_stripe"
    else:
        env.pop("STRIPE_API_BASE", None)


# ---- the local-only routes ----------------------------------------------------------------------------

SWAGGER_DIR = (
    Path(importlib.util.find_spec("aws_lambda_powertools").origin or ".").parent  # type: ignore[union-attr]
    / "event_handler/openapi/swagger_ui"
)

DOCS_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Gift plans API (local)</title>
<link rel="stylesheet" href="/_local/docs/swagger-ui.min.css"></head>
<body><div id="swagger-ui"></div>
<script src="/_local/docs/swagger-ui-bundle.min.js"></script>
<script>
// The document names the default local port; "Try it out" must go to this server, whatever PORT says.
fetch("/openapi.json").then((answer) => answer.json()).then((spec) => {
  const here = {url: window.location.origin, description: "this local server (make dev)"};
  spec.servers = [here, ...(spec.servers || []).filter((s) => !s.url.startsWith("http://127.0.0.1"))];
  window.ui = SwaggerUIBundle({spec, dom_id: "#swagger-ui", deepLinking: true, persistAuthorization: true});
});
</script></body></html>"""


class LocalRoutes:
    """`/_local/...`, `/_stripe/...` and `/docs`: what the deployed API does not have."""

    def __init__(
        self,
        *,
        config: Config,
        functions: fn.Functions,
        driver: StreamDriver | None,
        jwt: JwtAuthorizer,
        outbox: Outbox,
        stripe: LocalStripe,
        purchase_id_for: Callable[[str], str],
        event_log: EventLog | None = None,
        sns: SnsToLambda | None = None,
    ) -> None:
        self.config = config
        self.functions = functions
        self.driver = driver
        self.jwt = jwt
        self.outbox = outbox
        self.stripe = stripe
        self.pages = StripePages(stripe.stripe, stripe.act)
        self.purchase_id_for = purchase_id_for
        self.event_log = event_log
        self.sns = sns
        self.map = Map(
            [
                Rule("/_local/health", methods=["GET"], endpoint="health"),
                Rule("/_local/token", methods=["POST"], endpoint="token"),
                Rule("/_local/mail", methods=["GET"], endpoint="mail"),
                Rule("/_local/events", methods=["GET"], endpoint="published"),
                Rule("/_local/clock", methods=["GET", "POST", "DELETE"], endpoint="clock"),
                Rule("/_local/sweep", methods=["POST"], endpoint="sweep"),
                Rule("/_local/redrive", methods=["POST"], endpoint="redrive"),
                Rule("/_local/deliveries", methods=["POST"], endpoint="send_due"),
                Rule("/_local/stream/drain", methods=["POST"], endpoint="drain"),
                Rule("/_local/checkout/<session_id>/complete", methods=["POST"], endpoint="complete"),
                Rule("/_local/checkout/<session_id>/async", methods=["POST"], endpoint="settle"),
                Rule("/_local/refund/<purchase_id>", methods=["POST"], endpoint="refund"),
                Rule("/_local/pay/<session_id>", methods=["GET", "POST"], endpoint="pay"),
                Rule("/_local/portal/<portal_id>", methods=["GET", "POST"], endpoint="portal"),
                Rule("/_local/invoices/<invoice_id>", methods=["GET"], endpoint="invoice"),
                Rule("/_local/invoices/<invoice_id>/pdf", methods=["GET"], endpoint="invoice_pdf"),
                Rule("/_local/docs/<name>", methods=["GET"], endpoint="asset"),
                Rule("/docs", methods=["GET"], endpoint="docs"),
                Rule("/_stripe/<path:path>", endpoint="stripe"),
            ],
            strict_slashes=False,
        )

    def owns(self, path: str) -> bool:
        return path.startswith(("/_local/", "/_stripe/")) or path in ("/docs", "/docs/", "/_local")

    def __call__(self, request: Request) -> Response:
        adapter = self.map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except HTTPException as error:
            code = error.code or 404
            return error_response(
                code,
                "not_found" if code == 404 else "method_not_allowed",
                "There is nothing at this address."
                if code == 404
                else f"This address does not accept {request.method}.",
            )
        try:
            return getattr(self, f"_{endpoint}")(request, **args)  # type: ignore[no-any-return]
        except (
            StripeError
        ) as error:  # Stripe's shape ({type, code, param, message}) has the SPEC's code and message
            body = {**error.body["error"], "code": error.code or "stripe_error"}
            return json_response(error.status, {"error": body})
        except BadInput as error:
            return error_response(400, error.code, str(error))

    # ---- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _json_body(request: Request, *, required: bool = False) -> dict[str, Any]:
        data = request.get_data(as_text=True)
        if not data.strip():
            if required:
                raise BadInput("body_required", "This request needs a JSON body.")
            return {}
        try:
            body = json.loads(data)
        except ValueError:
            raise BadInput("malformed_json", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise BadInput("malformed_body", "The request body must be a JSON object.")
        return body

    def deliver_pending(self) -> int:
        """Deliver what is committed now: stream records (mail, events), then SNS messages they caused
        (SES feedback), until nothing is left; the number of deliveries."""
        delivered = 0
        for _ in range(20):
            done = (self.driver.drain() if self.driver else 0) + (self.sns.drain() if self.sns else 0)
            delivered += done
            if not done:
                break
        return delivered

    def _drain(self, request: Request | None = None) -> Response:
        return json_response(200, {"delivered": self.deliver_pending()})

    # ---- endpoints -----------------------------------------------------------------------------

    def _health(self, request: Request) -> Response:
        return json_response(
            200, {"status": "ok", "stripe": "stub" if self.config.stripe_stub else "test mode"}
        )

    def _token(self, request: Request) -> Response:
        body = self._json_body(request, required=True)
        sub = body.get("sub")
        if not isinstance(sub, str) or not sub.strip():
            raise BadInput("invalid_field", "The field 'sub' is required: the account id the token is for.")
        verified = body.get("email_verified", False)
        if isinstance(verified, str):
            verified = verified.lower() == "true"
        email = body.get("email")
        if email is not None and not isinstance(email, str):
            raise BadInput("invalid_field", "The field 'email' must be a string.")
        extra = {k: v for k, v in body.items() if k not in ("sub", "email", "email_verified")}
        token = self.jwt.mint(sub.strip(), email=email, email_verified=bool(verified), extra=extra)
        return json_response(200, {"token": token, "token_type": "Bearer", "expires_in": 12 * 3600})

    def _mail(self, request: Request) -> Response:
        self.deliver_pending()  # what is committed is mailed before the outbox is read: no race
        return json_response(200, {"messages": self.outbox.messages(request.args.get("to"), REGION)})

    def _published(self, request: Request) -> Response:
        self.deliver_pending()  # what is committed is published before the log is read, as for mail
        found = self.event_log.events(request.args.get("detail_type")) if self.event_log else []
        return json_response(200, {"events": found})

    def _clock(self, request: Request) -> Response:
        from giftplans import clock

        deliveries: list[Delivery] = []
        if request.method == "POST":
            now = self._json_body(request, required=True).get("now")
            try:
                target = clock.parse_iso(str(now))
            except (TypeError, ValueError):
                raise BadInput(
                    "invalid_field",
                    "The field 'now' must be an ISO-8601 instant with a time zone, "
                    "e.g. 2027-02-20T09:00:00Z.",
                ) from None
            if self.config.stripe_stub and target > clock.now():
                # Forward, as a Stripe test clock moves: what falls due on the way happens at its time.
                deliveries = self.stripe.move_clock(clock.epoch(target))
            clock.set_now(target)
        elif request.method == "DELETE":
            clock.reset()
        body: dict[str, Any] = {"now": clock.iso(clock.now())}
        if deliveries:
            body["stripe"] = [d.summary() for d in deliveries]
        return json_response(200, body)

    def _sweep(self, request: Request) -> Response:
        from giftplans import clock

        if not self.functions.exists("expiry_sweep"):
            return error_response(501, "not_built", "functions/expiry_sweep does not exist yet.")
        since = self._json_body(request).get("from")
        if since is not None:
            try:
                since = date.fromisoformat(str(since)).isoformat()
            except ValueError:
                raise BadInput("invalid_field", "The field 'from' must be a day, e.g. 2027-02-20.") from None
        now = clock.now()
        self.deliver_pending()  # what happened before the sweep is delivered before the sweep runs
        event = {"now": clock.iso(now), "from": since or first_due_day(os.environ["TABLE_NAME"], now.date())}
        result = self.functions.invoke("expiry_sweep", event)
        self.deliver_pending()
        return json_response(200, result)

    def _redrive(self, request: Request) -> Response:
        """The mailer's redrive of parked mail (giftplans.outbox.redrive), as its schedule runs it."""
        from giftplans.errors import DomainError

        body = self._json_body(request)
        window = {name: body[name] for name in ("from", "to") if body.get(name)}
        self.deliver_pending()
        try:
            result = self.functions.invoke("mailer", {"redrive": window})
        except DomainError as error:
            return json_response(error.status, error.body())
        return json_response(200, result)

    def _send_due(self, request: Request) -> Response:
        """SPEC 8.1: the deliveries function at the clock's now, then the mail it causes, before answering."""
        if not self.functions.exists("deliveries"):
            return error_response(501, "not_built", "functions/deliveries does not exist yet.")
        self.deliver_pending()
        result = self.functions.invoke("deliveries", {"source": "local"})
        self.deliver_pending()
        return json_response(200, result)

    def _complete(self, request: Request, session_id: str) -> Response:
        status = str(self._json_body(request).get("payment_status", "paid"))
        stripe = self._local_stripe()
        return self._deliveries(stripe.act(lambda: stripe.stripe.complete(session_id, status)))

    def _settle(self, request: Request, session_id: str) -> Response:
        succeeded = self._json_body(request, required=True).get("succeeded")
        if not isinstance(succeeded, bool):
            raise BadInput("invalid_field", "The field 'succeeded' must be true or false.")
        stripe = self._local_stripe()
        return self._deliveries(stripe.act(lambda: stripe.stripe.settle(session_id, succeeded)))

    def _refund(self, request: Request, purchase_id: str) -> Response:
        """As support refunding the purchase's payment in Stripe's dashboard: a refund, `charge.refunded`."""
        stripe = self._local_stripe()
        amount = self._json_body(request).get("amount")
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or amount < 1):
            raise BadInput(
                "invalid_field", "The field 'amount' must be a positive whole number of minor units."
            )
        with stripe.stripe.lock:
            sessions = [
                s
                for s in stripe.stripe.all("checkout.session")
                if self.purchase_id_for(s["id"]) == purchase_id
            ]
        if not sessions or not sessions[0].get("payment_intent"):
            return error_response(
                404, "not_found", "No paid checkout session of the local Stripe made this purchase."
            )
        params: dict[str, Any] = {"payment_intent": sessions[0]["payment_intent"]}
        if amount is not None:
            params["amount"] = str(amount)
        return self._deliveries(stripe.act(lambda: stripe.stripe.create_refund(params)[1]))

    def _deliveries(self, deliveries: list[Delivery]) -> Response:
        """The first delivery's answer (and the others under `also`); 504 when Stripe's 30 s ran out."""
        if not deliveries:
            return json_response(200, {"event": None, "webhook": None})
        first, *more = [d.summary() for d in deliveries]
        body = {**first, "also": more} if more else first
        status = deliveries[0].status
        return json_response(504 if status is None else int(status), body)

    def _local_stripe(self) -> LocalStripe:
        if not self.config.stripe_stub:
            raise BadInput(
                "stripe_test_mode", "Real Stripe test mode is on: Stripe itself completes and refunds."
            )
        return self.stripe

    def _pay(self, request: Request, session_id: str) -> Response:
        return self.pages.pay(request, session_id)

    def _portal(self, request: Request, portal_id: str) -> Response:
        return self.pages.portal(request, portal_id)

    def _invoice(self, request: Request, invoice_id: str) -> Response:
        return self.pages.invoice(request, invoice_id)

    def _invoice_pdf(self, request: Request, invoice_id: str) -> Response:
        return self.pages.invoice(request, invoice_id, pdf=True)

    def _docs(self, request: Request) -> Response:
        return Response(DOCS_HTML, content_type="text/html; charset=utf-8")

    def _asset(self, request: Request, name: str) -> Response:
        types = {"swagger-ui-bundle.min.js": "application/javascript", "swagger-ui.min.css": "text/css"}
        if name not in types or not (SWAGGER_DIR / name).is_file():
            return error_response(404, "not_found", "There is nothing at this address.")
        return Response((SWAGGER_DIR / name).read_bytes(), content_type=types[name])

    def _stripe(self, request: Request, path: str) -> Response:
        if not self.config.stripe_stub:
            return error_response(404, "not_found", "Real Stripe test mode is on: there is no local Stripe.")
        return self.stripe.api(request, path)


def first_due_day(table: str, today: date) -> str:
    """The first day on which something is still due, up to `today`: where a local sweep starts.

    The local clock moves by years and backwards. The sweep's cursor (the last day done)
    stays where the furthest jump left it, so a later sweep at an earlier date would skip
    everything; and with no cursor the first run looks back only SWEEP_BACKFILL_DAYS. So
    `/_local/sweep` passes `from`: the earliest due day in the sparse due index (GSI2PK
    `DUE#<day>#<shard>`), found with a Scan of that index, which is fine on a laptop and
    never done deployed. With nothing due by today, just today.
    """
    import boto3

    first = today.isoformat()
    pages = (
        boto3.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=table, IndexName="GSI2", ProjectionExpression="GSI2PK")
    )
    for page in pages:
        for item in page.get("Items", []):
            kind, _, rest = item["GSI2PK"]["S"].partition("#")
            if kind == "DUE":  # a purchase's milestone; SEND#<shard> keys are seats' (deliveries)
                first = min(first, rest.split("#")[0])
    return first


class BadInput(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# ---- assembling it ------------------------------------------------------------------------------------


class App:
    """The WSGI application: local routes first, then the API routes of template.yaml."""

    def __init__(self, local_routes: LocalRoutes, gateway: Gateway, functions: fn.Functions) -> None:
        from local.web import WebRoutes

        self.local = local_routes
        self.gateway = gateway
        self.functions = functions
        self.web = WebRoutes(local_routes.outbox, REGION)  # web/ at "/", the outbox as a page

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if self.web.owns(request):
            return self.web(request)(environ, start_response)
        handle = self.local if self.local.owns(request.path) else self.gateway
        return handle(request)(environ, start_response)


class _Handler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        if not path.startswith(("/_local/health", "/_local/docs/")):
            logging.getLogger("local.http").info("%s %s -> %s", self.command, path, code)


def build(config: Config, template: Any) -> tuple[App, StreamDriver]:
    """Everything but the servers: call after the environment points at the emulated AWS."""
    import boto3

    fn.put_layer_on_path()
    from giftplans import clock

    try:
        from giftplans.purchases import purchase_id_for
    except ImportError:  # the domain names it; this is the same derivation
        import base64
        import hashlib

        def purchase_id_for(session_id: str) -> str:
            digest = hashlib.sha256(session_id.encode()).digest()
            return "pur_" + base64.b32encode(digest).decode().lower()[:26]

    def epoch_now() -> int:
        return clock.epoch(clock.now())

    functions_info = {f.job: f for f in template.functions()}
    functions = fn.Functions(
        memory={j: f.memory for j, f in functions_info.items()},
        timeouts={j: float(f.timeout) for j, f in functions_info.items()},
        names={j: f.name for j, f in functions_info.items()},
    )

    def invoke_route(route: Any, event: dict[str, Any]) -> Any:
        if not functions.exists(route.job):
            return {
                "statusCode": 501,
                "headers": {"content-type": "application/json"},
                "body": json.dumps(
                    {"error": {"code": "not_built", "message": f"functions/{route.job} does not exist yet."}}
                ),
            }
        name = str(route.handler).rsplit(".", 1)[-1]
        return functions.invoke(route.job, event, handler_name=name)

    jwt = JwtAuthorizer(issuer=f"{config.base_url}/_local")
    iam = IamAuthorizer(os.environ.get("LOCAL_SUPPORT_ACCESS_KEY") or DEFAULT_SUPPORT_ACCESS_KEY)
    gateway = Gateway(template.routes(), invoke_route, authorizers={"jwt": jwt, "iam": iam}, now=clock.now)

    consumers = []
    for spec in template.stream_consumers():
        if not functions.exists(spec.job):
            continue
        retries = spec.maximum_retry_attempts if spec.maximum_retry_attempts >= 0 else LOCAL_RETRY_CAP
        name = str(spec.handler).rsplit(".", 1)[-1]

        def invoke(event: dict[str, Any], job: str = spec.job, handler_name: str = name) -> Any:
            return functions.invoke(job, event, handler_name=handler_name)

        consumers.append(
            Consumer(
                job=spec.job,
                invoke=invoke,
                batch_size=spec.batch_size,
                patterns=list(spec.filter_patterns),
                max_attempts=min(retries, LOCAL_RETRY_CAP) + 1,
                report_failures=spec.report_batch_item_failures,
            )
        )
    clients = {"dynamodb": boto3.client("dynamodb"), "dynamodbstreams": boto3.client("dynamodbstreams")}
    driver = StreamDriver(clients, os.environ["TABLE_NAME"], consumers, region=REGION)

    outbox = Outbox(clock.now, clock.iso)
    outbox.install()
    sns = sns_to_lambda(template, functions)
    sns.install()
    mailbox_simulator(template).install()  # after the outbox: SES's events for what SES accepted
    event_log = EventLog(clock.now, clock.iso)
    event_log.install()
    stripe = LocalStripe(
        base_url=config.base_url,
        webhook_url=f"{config.base_url}/webhooks/stripe",
        secret=lambda: os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_local_dev"),
        now=epoch_now,
        set_now=lambda ts: clock.set_now(clock.from_epoch(ts)),
        prices=configured_price,
    )
    local_routes = LocalRoutes(
        config=config,
        functions=functions,
        driver=driver,
        jwt=jwt,
        outbox=outbox,
        stripe=stripe,
        purchase_id_for=purchase_id_for,
        event_log=event_log,
        sns=sns,
    )
    return App(local_routes, gateway, functions), driver


def _topic_arn(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{fn.ACCOUNT_ID}:{name}"


def sns_to_lambda(template: Any, functions: fn.Functions) -> SnsToLambda:
    """The template's SNS -> function subscriptions, fed by moto's SNS (local.sns)."""
    names = template.resource_names()
    subscriptions: dict[str, list[Subscriber]] = {}
    for spec in template.sns_subscriptions():
        if not functions.exists(spec.job):
            continue
        handler_name = str(spec.handler).rsplit(".", 1)[-1]

        def invoke(event: dict[str, Any], job: str = spec.job, handler_name: str = handler_name) -> Any:
            return functions.invoke(job, event, handler_name=handler_name)

        subscriber = Subscriber(spec.job, invoke, max_attempts=spec.maximum_retry_attempts + 1)
        subscriptions.setdefault(_topic_arn(names[spec.topic]), []).append(subscriber)
    return SnsToLambda(subscriptions, REGION)


def mailbox_simulator(template: Any) -> MailboxSimulator:
    """SES's configuration-set events (the template's event destinations) and mailbox simulator."""
    from moto.sns.models import sns_backends

    names = template.resource_names()
    destinations: dict[str, list[Destination]] = {}
    for spec in template.mail_event_destinations():
        destination = Destination(frozenset(spec.event_types), _topic_arn(names[spec.topic]))
        destinations.setdefault(names[spec.configuration_set], []).append(destination)

    def publish(topic_arn: str, message: str) -> None:
        sns_backends[fn.ACCOUNT_ID][REGION].publish(message=message, arn=topic_arn)

    return MailboxSimulator(destinations, publish, account=fn.ACCOUNT_ID, region=REGION)


def banner(config: Config, started_s: float) -> str:
    url = config.base_url
    stripe = (
        "Stripe: local stand-in (checkout pages at /_local/pay/<session>)"
        if config.stripe_stub
        else f"Stripe: test mode; run `stripe listen --forward-to {url}/webhooks/stripe`"
    )
    field = "| python3 -c 'import sys,json;print(json.load(sys.stdin)[\"{}\"])'"
    json_type = "-H 'content-type: application/json'"
    walkthrough = [
        f"TOKEN=$(curl -s -X POST {url}/_local/token "
        f'-d \'{{"sub":"buyer-1","email":"buyer@example.com","email_verified":true}}\' '
        f"{field.format('token')})",
        f'SESSION=$(curl -s -X POST {url}/checkout/sessions -H "Authorization: Bearer $TOKEN" {json_type} '
        f'-d \'{{"plan":"pro","quantity":3}}\' {field.format("session_id")})',
        f"curl -s -X POST {url}/_local/checkout/$SESSION/complete {json_type} "
        f'-d \'{{"payment_status":"paid"}}\'',
        f'curl -s {url}/purchases -H "Authorization: Bearer $TOKEN"',
        f'curl -s "{url}/_local/mail?to=buyer@example.com"',
    ]
    steps = "\n".join(f"  {line}" for line in walkthrough)
    return (
        f"\nGift plans is running at {url}  (ready in {started_s:.1f}s; Ctrl-C stops it)\n"
        f"Web client: {url}/   Mail: {url}/_local/mail/view\n"
        f"API docs: {url}/docs   {stripe}\n\nTry it (bash):\n{steps}\n"
    )


def _port_is_free(port: int) -> bool:
    """Probe the port as the server will bind it (werkzeug would print its own message and exit)."""
    if port == 0:
        return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _bind(port: int) -> BaseWSGIServer:
    placeholder: Any = lambda environ, start_response: []  # noqa: E731 - replaced once built
    return make_server("127.0.0.1", port, placeholder, threaded=True, request_handler=_Handler)


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's own request log
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("pynamodb").setLevel(logging.WARNING)
    raw_port = os.environ.get("PORT", str(DEFAULT_PORT))
    try:
        port = int(raw_port)
    except ValueError:
        print(f"PORT must be a number, not {raw_port!r}", file=sys.stderr)
        return 2
    if not _port_is_free(port):
        print(
            f"port {port} is busy: set PORT=... to another port (e.g. PORT={port + 1} make dev)",
            file=sys.stderr,
        )
        return 1
    server = _bind(port)
    port = server.server_port
    key = os.environ.get("STRIPE_API_KEY", "")
    config = Config(
        port=port,
        base_url=f"http://127.0.0.1:{port}",
        stripe_stub=not (key.startswith("sk_test_") and key != LOCAL_STUB_KEY),
    )
    if key.startswith("sk_live_"):
        print("STRIPE_API_KEY is a live key: the local server only runs with test keys.", file=sys.stderr)
        return 2

    aws = Aws()
    driver: StreamDriver | None = None
    stripe: LocalStripe | None = None
    sns: SnsToLambda | None = None
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # also when started from a shell that ignores SIGINT in the background
    try:
        aws.start()
        from local import template

        configure_environment(config, aws.endpoint, template)
        aws.provision(template)
        app, driver = build(config, template)
        server.app = app
        driver.start()
        sns = app.local.sns
        if sns:
            sns.start()
        if config.stripe_stub:
            stripe = app.local.stripe
            stripe.start()
        warm = [f.job for f in template.functions()]
        threading.Thread(target=app.functions.warm, args=(warm,), daemon=True, name="warm").start()
        print(banner(config, time.monotonic() - started), flush=True)
        server.serve_forever()  # returns on Ctrl-C or SIGTERM
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping...", flush=True)
        if driver:
            driver.stop()
        if stripe:
            stripe.stop()
        if sns:
            sns.stop()
        server.server_close()
        aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
