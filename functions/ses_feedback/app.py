"""SNS (SES bounce and complaint notifications) -> the invitation's seat marked bounced (rule 12).

Messages that are not tagged bounces or complaints of a current invitation are logged
and ignored: SNS must not retry them.
"""

from __future__ import annotations

from typing import Any

from giftplans.observability import entry
from giftplans.outbox import feedback


@entry()
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    marked = 0
    for record in event.get("Records") or []:
        message = (record.get("Sns") or {}).get("Message")
        if isinstance(message, str) and feedback.record_feedback(message):
            marked += 1
    return {"marked": marked}
