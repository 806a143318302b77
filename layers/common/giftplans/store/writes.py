"""The one way the domain writes: a named write of one or more steps, and what a refusal says.

    def build(steps: Steps) -> None:
        steps.update("seat", seat, [...], condition=...)
        steps.put("audit", audit_event)

    store.write(build)          # Refused when a condition failed; nothing was written

Each step carries a name, so a refusal is read by name (`refused.failed("seat")`,
`refused.old("seat")`) without index arithmetic. Every conditioned step asks for the
item as it stood (ALL_OLD), so one round trip both tries the change and explains a
refusal. How DynamoDB spells it is decided here: one step is one UpdateItem, PutItem or
DeleteItem; several are one TransactWriteItems, sent in the order they were added.
Throttling, timeouts and a busy service become `UpstreamUnavailable` (503): nothing
was written, the caller may retry.

`stamp(...)` is what every write of a seat, purchase or profile sets (version + 1,
`last_action`, `actor`: the contract with the stream readers, docs/design.md), and
`retry_on_conflict(attempt)` runs an attempt once more when a write lost a bare race.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from giftplans.errors import Conflict, UpstreamUnavailable
from giftplans.store import models as m

ALL_OLD = "ALL_OLD"
RETRYABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
        "TransactionConflictException",  # a lone write met a transaction on its item: busy, retry
    }
)
UNAVAILABLE = "The service is busy right now; nothing was changed. Please try again in a moment."
BUSY = "Another change to this purchase happened at the same moment; nothing was changed. Please try again."
CONDITION_FAILED = "ConditionalCheckFailed"
CONFLICT = "TransactionConflict"


# ---- the stamp ------------------------------------------------------------------------------------------


def stamp(model: type[m.Seat] | type[m.Purchase] | type[m.Profile], action: str, actor: str) -> list[Action]:
    """What every write of a seat, purchase or profile sets: version + 1, last_action, actor."""
    return [model.version.add(1), model.last_action.set(action), model.actor.set(actor)]


# ---- steps ----------------------------------------------------------------------------------------------


class _Step(NamedTuple):
    name: str
    operation: str  # ConditionCheck | Put | Update | Delete
    kwargs: dict[str, Any]
    returning_old: bool = False


class Steps:
    """The steps of one write, in order."""

    def __init__(self) -> None:
        self.steps: list[_Step] = []

    def check(
        self, name: str, model_cls: type[m.Item], hash_key: str, range_key: str, condition: Condition
    ) -> None:
        kwargs = model_cls.get_operation_kwargs_from_class(hash_key, range_key, condition=condition)
        kwargs["ReturnValuesOnConditionCheckFailure"] = ALL_OLD
        self.steps.append(_Step(name, "ConditionCheck", kwargs))

    def put(self, name: str, item: m.Item, condition: Condition | None = None) -> None:
        old = ALL_OLD if condition is not None else None
        kwargs = item.get_save_kwargs_from_instance(
            condition=condition, return_values_on_condition_failure=old
        )
        self.steps.append(_Step(name, "Put", kwargs))

    def update(
        self,
        name: str,
        item: m.Item,
        actions: list[Any],
        condition: Condition | None = None,
        *,
        returning_old: bool = False,
    ) -> None:
        """`returning_old`: a write of this one step also hands back the item as it stood when it succeeds."""
        old = ALL_OLD if condition is not None else None
        kwargs = item.get_update_kwargs_from_instance(
            actions=actions, condition=condition, return_values_on_condition_failure=old
        )
        self.steps.append(_Step(name, "Update", kwargs, returning_old))

    def delete(self, name: str, item: m.Item, condition: Condition | None = None) -> None:
        old = ALL_OLD if condition is not None else None
        kwargs = item.get_delete_kwargs_from_instance(
            condition=condition, return_values_on_condition_failure=old
        )
        self.steps.append(_Step(name, "Delete", kwargs))

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]


# ---- refusals -------------------------------------------------------------------------------------------


class Reason(NamedTuple):
    code: str  # None, ConditionalCheckFailed, TransactionConflict, ...
    old: m.Item | None  # the item as it stood, when a condition failed (ALL_OLD)


class Refused(Exception):
    """The write was refused as a whole (nothing was written); ask by name what failed and how it stood."""

    def __init__(self, names: list[str], reasons: list[Reason]) -> None:
        super().__init__(", ".join(f"{n}: {r.code}" for n, r in zip(names, reasons, strict=False)))
        self.reasons = dict(zip(names, reasons, strict=False))

    def failed(self, name: str) -> bool:
        reason = self.reasons.get(name)
        return reason is not None and reason.code == CONDITION_FAILED

    def old(self, name: str) -> Any:
        reason = self.reasons.get(name)
        return reason.old if reason is not None else None

    @property
    def conflict(self) -> bool:
        """Another write touched one of the items at the same moment: no condition failed, try again."""
        codes = {r.code for r in self.reasons.values()}
        return CONFLICT in codes and CONDITION_FAILED not in codes


class Written:
    """What a successful write hands back: the item as it stood before, for a step that asked."""

    def __init__(self, olds: dict[str, m.Item | None] | None = None) -> None:
        self.olds = olds or {}

    def old(self, name: str) -> m.Item | None:
        return self.olds.get(name)


# ---- running a write ------------------------------------------------------------------------------------


def run(connection: Connection, build: Callable[[Steps], None]) -> Written:
    """Build the steps and send them: one step alone, several as one transaction."""
    steps = Steps()
    build(steps)
    if not steps.steps:
        return Written()
    if len(steps.steps) == 1:
        return _single(connection, steps.steps[0])
    if any(step.returning_old for step in steps.steps):
        # TransactWriteItems hands nothing back: read first and condition on the version instead.
        raise ValueError("only a write of one step can hand back the item as it stood")
    _transaction(connection, steps)
    return Written()


def _single(connection: Connection, step: _Step) -> Written:
    client: Any = connection.client
    send = {"Put": client.put_item, "Update": client.update_item, "Delete": client.delete_item}.get(
        step.operation
    )
    if send is None:  # a lone condition check writes nothing
        raise ValueError(f"a write of step {step.name!r} alone must change something")
    kwargs = dict(step.kwargs)
    if step.returning_old:
        kwargs["ReturnValues"] = ALL_OLD
    try:
        answer = send(**kwargs)
    except ClientError as error:
        code = _code(error)
        if code == "ConditionalCheckFailedException":
            old: Any = error.response.get("Item")
            raise Refused([step.name], [Reason(CONDITION_FAILED, _item(old))]) from None
        raise _unavailable_or(error) from error
    except BotoCoreError as error:
        raise _unavailable_or(error) from error
    return Written({step.name: _item(answer.get("Attributes"))} if step.returning_old else {})


def _transaction(connection: Connection, steps: Steps) -> None:
    items = [{step.operation: step.kwargs} for step in steps.steps]
    client: Any = connection.client
    try:
        client.transact_write_items(TransactItems=items)
    except ClientError as error:
        if _code(error) != "TransactionCanceledException":
            raise _unavailable_or(error) from error
        found: Any = error.response.get("CancellationReasons") or []
        reasons = [Reason(str(r.get("Code") or "None"), _item(r.get("Item"))) for r in found]
        codes = {r.code for r in reasons}
        if CONDITION_FAILED not in codes and codes - {"None", CONFLICT}:
            raise UpstreamUnavailable(UNAVAILABLE) from error  # throttled inside the transaction
        if not reasons:
            raise
        raise Refused(steps.names, reasons) from None
    except BotoCoreError as error:
        raise _unavailable_or(error) from error


def _item(raw: dict[str, Any] | None) -> m.Item | None:
    if not raw or "type" not in raw:
        return None
    return m.Item.from_raw_data(raw)


def _code(error: ClientError) -> str:
    return str((error.response.get("Error") or {}).get("Code") or "")


def _unavailable_or(error: Exception) -> Exception:
    """Throttling and timeouts as a clean 503; anything else as it is (a bug or a broken table)."""
    if isinstance(error, ClientError) and _code(error) in RETRYABLE:
        return UpstreamUnavailable(UNAVAILABLE)
    if isinstance(error, BotoCoreError) and "timeout" in type(error).__name__.lower():
        return UpstreamUnavailable(UNAVAILABLE)
    return error


# ---- reads' errors --------------------------------------------------------------------------------------


@contextmanager
def read_errors() -> Iterator[None]:
    """Throttling and timeouts on reads as a clean 503."""
    try:
        yield
    except PynamoDBException as error:
        code = error_code(error)
        if code in RETRYABLE or (code is None and _is_timeout(error)):
            raise UpstreamUnavailable(UNAVAILABLE) from error
        raise


def error_code(error: PynamoDBException) -> str | None:
    """DynamoDB's error code behind a PynamoDB error; None for a timeout or a connection failure.

    (PynamoDB's own `cause_response_code` raises AttributeError when the cause is a botocore
    timeout, whose `response` is None.)
    """
    response = getattr(error.cause, "response", None)
    code = ((response or {}).get("Error") or {}).get("Code") if isinstance(response, dict) else None
    return str(code) if code else None


def _is_timeout(error: Exception) -> bool:
    cause: Any = error.__cause__ or getattr(error, "cause", None)
    return cause is not None and "timeout" in type(cause).__name__.lower()


def written(build: Callable[..., Any]) -> int:
    """Write `build` once: 1 when it went through, 0 when refused (its condition found the work done).

    For idempotent clean-up writes (erasure, parked mail) that count what they changed.
    """
    from giftplans.store import get_store  # the data layer imports this module

    try:
        get_store().write(build)
        return 1
    except Refused:
        return 0


# ---- retry on conflict ----------------------------------------------------------------------------------


def retry_on_conflict[T](attempt: Callable[[], T], *, times: int = 2) -> T:
    """Run `attempt` up to `times`; a refusal it let through (a bare race) runs it again, then 409.

    The attempt explains the refusals it can (a seat in the wrong state, a limit reached) as
    domain errors; whatever `Refused` escapes it lost a race with another write.
    """
    for _ in range(times):
        try:
            return attempt()
        except Refused:
            continue
    raise Conflict(BUSY, code="concurrent_change")
