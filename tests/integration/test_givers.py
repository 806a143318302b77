"""Who gave a gift reaches My plan from the stream (giftplans.givers), so accept is one transaction."""

from __future__ import annotations

from typing import Any

import pytest
from giftplans import givers
from giftplans.errors import UpstreamUnavailable
from giftplans.identity import Caller
from giftplans.invitations import link
from giftplans.outbox import publishing
from giftplans.store import get_store
from giftplans.store import keys as k
from giftplans.store import models as m

from tests.support import factories, streams
from tests.support import gifts as g
from tests.support.apigw import FakeContext, load_handler

ANN = Caller("ann-sub", "ann@example.com", True)


class _Bus:
    def put_events(self, **request: Any) -> dict[str, Any]:
        return {"Entries": [{"EventId": "e"} for _ in request["Entries"]]}


def _accepted(pid: str, seat_id: str = "0001", caller: Caller = ANN) -> dict[str, Any]:
    """Accept the seat and hand back the stream record the accept wrote."""
    before = g.seat(pid, seat_id)
    link.accept(g.link(pid, seat_id), caller)
    return streams.record(before, g.seat(pid, seat_id))


def _stored(sub: str = "ann-sub") -> str | None:
    entitlement = m.Entitlement.get(k.account_pk(sub), k.ENTITLEMENT_SK)
    return entitlement.gift_from


@pytest.fixture
def pid(aws: None, clock: Any) -> str:
    purchase_id = factories.paid_purchase(quantity=3)
    g.invite(purchase_id, "ann@example.com", "bob@example.com")
    return purchase_id


def test_given_an_accept_when_the_publisher_reads_its_record_then_the_entitlement_names_the_sender(
    pid: str,
) -> None:
    record = _accepted(pid)
    assert _stored() is None  # the accept wrote none: it read nothing first

    handler = load_handler("events_publisher").build(_Bus())
    assert handler(streams.stream_event(record), FakeContext()) == {"batchItemFailures": []}

    assert _stored() == "b***@e***.com"
    assert g.entitlement(g.who("ann-sub", "ann@example.com"))[1]["gift_from"] == "b***@e***.com"


def test_given_a_chosen_name_when_filled_then_that_name(pid: str) -> None:
    g.seat(pid, "0001").update(actions=[m.Seat.from_name.set("Bea from Acme")])
    assert givers.fill([_accepted(pid)]) == []
    assert _stored() == "Bea from Acme"


def test_given_a_redelivered_record_when_filled_again_then_nothing_changes(pid: str) -> None:
    record = _accepted(pid)
    givers.fill([record])
    g.seat(pid, "0001").update(actions=[m.Seat.from_name.set("Someone else")])
    assert givers.fill([record, streams.record(g.seat(pid, "0001"), g.seat(pid, "0001"))]) == []
    assert _stored() == "b***@e***.com"


def test_given_an_entitlement_from_another_seat_when_an_old_record_arrives_then_it_is_left_alone(
    pid: str,
) -> None:
    record = _accepted(pid)  # then the entitlement comes from another seat
    m.Entitlement(k.account_pk("ann-sub"), k.ENTITLEMENT_SK).update(
        actions=[m.Entitlement.seat_id.set("0009"), m.Entitlement.gift_from.remove()]
    )
    assert givers.fill([record]) == []
    assert _stored() is None


def test_given_records_that_accept_nothing_then_no_write(pid: str) -> None:
    invited = g.seat(pid, "0002")
    revoked = streams.change(invited, state="available")
    assert givers.accepted(streams.record(invited, revoked)) is None
    assert givers.accepted(streams.record(None, invited)) is None
    credited = streams.change(invited, state="accepted", recipient_sub="bob-sub", credited=500)
    assert givers.accepted(streams.record(invited, credited)) is None  # the entitlement keeps its source
    accepted = streams.change(invited, state="accepted", recipient_sub="bob-sub")
    assert givers.accepted(streams.record(accepted, accepted)) is None  # already accepted before


def test_given_dynamodb_throttles_when_filling_then_the_record_is_retried(
    pid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = _accepted(pid)

    def throttled(build: Any) -> Any:
        raise UpstreamUnavailable("throttled")

    monkeypatch.setattr(type(get_store()), "write", lambda self, build: throttled(build))
    assert givers.fill([record]) == [record["dynamodb"]["SequenceNumber"]]
    assert publishing.batch_response(givers.fill([record]))["batchItemFailures"]


def test_given_the_sender_written_when_its_own_stream_record_arrives_then_nothing_is_announced(
    pid: str,
) -> None:
    from giftplans.outbox.notices import notices_for

    givers.fill([_accepted(pid)])
    after = m.Entitlement.get(k.account_pk("ann-sub"), k.ENTITLEMENT_SK)
    before = m.Entitlement.from_raw_data(after.serialize())
    before.gift_from = None
    assert notices_for(streams.record(before, after)) == []
    assert givers.fill([streams.record(before, after)]) == []  # not a seat: nothing written
