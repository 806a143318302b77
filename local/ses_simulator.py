"""SES's mailbox simulator and configuration-set event publishing, on top of moto's SES v2.

moto accepts every message and tells nobody what became of it. SES, deployed, reports what
happened to each message through the configuration set it was sent with: the template's
`AWS::SES::ConfigurationSetEventDestination` publishes the matching events (here bounces
and complaints) to an SNS topic, which invokes `ses_feedback`. This module does the SES
part in the emulation: after moto's SES v2 accepted a `SendEmail` that names a
configuration set, it publishes a real-shaped event-publishing notification per event to
the destination's topic in moto's SNS (local.sns then invokes the subscribed function, as
SNS does). Which events, per recipient, as SES's mailbox simulator documents:

| recipient                            | events                                             |
|--------------------------------------|----------------------------------------------------|
| `bounce@simulator.amazonses.com`     | Send, Bounce (Permanent / General, 550 5.1.1)       |
| `complaint@simulator.amazonses.com`  | Send, Delivery, Complaint (abuse)                   |
| `suppressionlist@simulator.amazonses.com` | Send, Bounce (Permanent / Suppressed)          |
| `success@`, `ooto@simulator.amazonses.com`, anyone else | Send, Delivery                   |

(An address with a `+label` before the `@` is the same simulator address, as SES allows.)
Only the event types the destination matches are published. The message's tags come back
under `mail.tags`, with SES's own `ses:configuration-set`, `ses:from-domain`,
`ses:source-ip` and `ses:caller-identity`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("local.ses")

SIMULATOR_DOMAIN = "simulator.amazonses.com"


@dataclass(frozen=True)
class Destination:
    event_types: frozenset[str]  # lower-case: "send", "delivery", "bounce", "complaint", ...
    topic_arn: str


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def simulated(address: str) -> str | None:
    """The simulator mailbox `address` names ("bounce", "complaint", ...), or None for a real address."""
    local, _, domain = address.strip().lower().rpartition("@")
    if domain != SIMULATOR_DOMAIN:
        return None
    return local.split("+", 1)[0]


def outcomes(address: str) -> list[str]:
    """The SES events one recipient's message causes, in order (after `Send`)."""
    mailbox = simulated(address)
    if mailbox in ("bounce", "suppressionlist"):
        return ["Bounce"]
    if mailbox == "complaint":
        return ["Delivery", "Complaint"]
    return ["Delivery"]


class MailboxSimulator:
    """After moto's SES v2 accepts a message: SES's events for it, to each configuration set's SNS topic."""

    def __init__(
        self,
        destinations: dict[str, list[Destination]],  # configuration set name -> its SNS event destinations
        publish: Callable[[str, str], None],  # (topic ARN, message) -> published in the emulated SNS
        *,
        account: str = "123456789012",
        region: str = "us-east-1",
    ) -> None:
        self.destinations = destinations
        self.publish = publish
        self.account = account
        self.region = region

    def accepted(self, request: dict[str, Any], message_id: str) -> None:
        """SES accepted `request` (the SendEmail body) as `message_id`: publish what happens to it."""
        config = request.get("ConfigurationSetName")
        if not config or config not in self.destinations:
            return
        recipients = [
            *((request.get("Destination") or {}).get("ToAddresses") or []),
            *((request.get("Destination") or {}).get("CcAddresses") or []),
            *((request.get("Destination") or {}).get("BccAddresses") or []),
        ]
        mail = self._mail(request, message_id, recipients, str(config))
        events: list[dict[str, Any]] = [{"eventType": "Send", "mail": mail, "send": {}}]
        for address in recipients:
            events += [self._event(kind, mail, address) for kind in outcomes(address)]
        for event in events:
            for destination in self.destinations[str(config)]:
                if event["eventType"].lower() in destination.event_types:
                    self.publish(destination.topic_arn, json.dumps(event))

    def _mail(
        self, request: dict[str, Any], message_id: str, recipients: list[str], config: str
    ) -> dict[str, Any]:
        source = str(request.get("FromEmailAddress") or "")
        domain = source.rpartition("@")[2].rstrip(">")
        simple = (request.get("Content") or {}).get("Simple") or {}
        subject = (simple.get("Subject") or {}).get("Data")
        tags: dict[str, list[str]] = {
            "ses:configuration-set": [config],
            "ses:source-ip": ["127.0.0.1"],
            "ses:from-domain": [domain],
            "ses:caller-identity": ["local"],
        }
        for tag in request.get("EmailTags") or []:
            tags[str(tag.get("Name"))] = [str(tag.get("Value"))]
        return {
            "timestamp": _stamp(),
            "source": source,
            "sourceArn": f"arn:aws:ses:{self.region}:{self.account}:identity/{source}",
            "sendingAccountId": self.account,
            "messageId": message_id,
            "destination": recipients,
            "headersTruncated": False,
            "headers": [
                {"name": "From", "value": source},
                {"name": "To", "value": ", ".join(recipients)},
                {"name": "Subject", "value": subject or ""},
            ],
            "commonHeaders": {
                "from": [source],
                "to": recipients,
                "messageId": message_id,
                "subject": subject,
            },
            "tags": tags,
        }

    def _event(self, kind: str, mail: dict[str, Any], address: str) -> dict[str, Any]:
        now = _stamp()
        feedback = f"{uuid.uuid4().hex}-000000"
        if kind == "Bounce":
            suppressed = simulated(address) == "suppressionlist"
            return {
                "eventType": "Bounce",
                "bounce": {
                    "feedbackId": feedback,
                    "bounceType": "Permanent",
                    "bounceSubType": "Suppressed" if suppressed else "General",
                    "bouncedRecipients": [
                        {
                            "emailAddress": address,
                            "action": "failed",
                            "status": "5.1.1",
                            "diagnosticCode": "Amazon SES has suppressed sending to this address because it "
                            "has a recent history of bouncing as an invalid address."
                            if suppressed
                            else "smtp; 550 5.1.1 user unknown",
                        }
                    ],
                    "timestamp": now,
                    "reportingMTA": "dns; amazonses.com",
                },
                "mail": mail,
            }
        if kind == "Complaint":
            return {
                "eventType": "Complaint",
                "complaint": {
                    "feedbackId": feedback,
                    "complaintSubType": None,
                    "complainedRecipients": [{"emailAddress": address}],
                    "timestamp": now,
                    "userAgent": "Amazon SES Mailbox Simulator",
                    "complaintFeedbackType": "abuse",
                    "arrivalDate": now,
                },
                "mail": mail,
            }
        return {
            "eventType": "Delivery",
            "delivery": {
                "timestamp": now,
                "processingTimeMillis": 1,
                "recipients": [address],
                "smtpResponse": "250 2.6.0 Message received",
                "reportingMTA": "a8-1.smtp-out.amazonses.com",
            },
            "mail": mail,
        }

    def install(self) -> None:
        """Listen where moto's SES v2 answers SendEmail (after the local outbox, if it is installed)."""
        from moto.sesv2.responses import SESV2Response

        original = SESV2Response.send_email
        if getattr(original, "_local_ses_simulator", False):
            return
        simulator = self

        def send_email(response: SESV2Response) -> str:
            answer = original(response)
            with contextlib.suppress(ValueError, KeyError):  # what moto refused has no events
                simulator.accepted(json.loads(response.body), json.loads(answer)["MessageId"])
            return answer

        send_email._local_ses_simulator = True  # type: ignore[attr-defined]
        send_email._local_outbox = getattr(original, "_local_outbox", False)  # type: ignore[attr-defined]
        SESV2Response.send_email = send_email  # type: ignore[method-assign,assignment]
