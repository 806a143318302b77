"""local.dynamodb: each DynamoDB request of the emulation is atomic and isolated, as DynamoDB's are.

In-process moto (the `aws` fixture applies the patch): a refused or failed request changes
nothing, including the stream readers hold; concurrent writers never lose each other's
confirmed writes; an emulator failure is answered as DynamoDB's InternalServerError.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.dynamodbstreams.models import dynamodbstreams_backends

TABLE = "atomicity-test"


@pytest.fixture
def table(aws: None) -> Any:
    """A stream-enabled table (PK, SK) and a boto3 client that does not retry (to see each answer)."""
    client = boto3.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
    arn = client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    client.stream_arn = arn
    return client


def key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def put(pk: str, condition: str | None = None, **attrs: Any) -> dict[str, Any]:
    action: dict[str, Any] = {"TableName": TABLE, "Item": {**key(pk), **attrs}}
    if condition:
        action["ConditionExpression"] = condition
    return {"Put": action}


def add_one(pk: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": key(pk),
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def stream_keys(client: Any) -> list[str]:
    """Every record in the table's stream, oldest first, read with one iterator from the start."""
    streams = dynamodbstreams_backends[ACCOUNT_ID]["us-east-1"]
    shard = streams.describe_stream(client.stream_arn)["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(client.stream_arn, shard, "TRIM_HORIZON").arn
    return [r["dynamodb"]["Keys"]["PK"]["S"] for r in streams.get_records(iterator, 10_000)["Records"]]


def item(client: Any, pk: str) -> dict[str, Any] | None:
    return client.get_item(TableName=TABLE, Key=key(pk), ConsistentRead=True).get("Item")  # type: ignore[no-any-return]


def test_given_reader_holding_iterator_when_transaction_refused_then_it_sees_later_writes_and_nothing_refused(
    table: Any,
) -> None:
    # moto's in-process mock does not route the dynamodbstreams API: hold an iterator on its backend.
    streams = dynamodbstreams_backends[ACCOUNT_ID]["us-east-1"]
    shard = streams.describe_stream(table.stream_arn)["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(table.stream_arn, shard, "TRIM_HORIZON").arn
    table.transact_write_items(TransactItems=[put("a")])

    with pytest.raises(ClientError, match="TransactionCanceled"):  # moto applies "b", then it is undone
        table.transact_write_items(TransactItems=[put("b"), put("a", "attribute_not_exists(PK)")])
    table.transact_write_items(TransactItems=[put("c")])

    page = streams.get_records(iterator, 100)
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in page["Records"]] == ["a", "c"]
    assert item(table, "b") is None


def test_given_refused_transaction_when_it_touched_existing_items_then_each_is_back_as_it_was(
    table: Any,
) -> None:
    table.put_item(TableName=TABLE, Item={**key("x"), "n": {"N": "5"}, "tag": {"S": "before"}})
    table.put_item(TableName=TABLE, Item={**key("gone"), "n": {"N": "1"}})

    with pytest.raises(ClientError, match="TransactionCanceled"):
        table.transact_write_items(
            TransactItems=[
                add_one("x"),
                {"Delete": {"TableName": TABLE, "Key": key("gone")}},
                put("new"),
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": key("other"),
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )

    assert item(table, "x") == {**key("x"), "n": {"N": "5"}, "tag": {"S": "before"}}
    assert item(table, "gone") == {**key("gone"), "n": {"N": "1"}}
    assert item(table, "new") is None
    assert stream_keys(table) == ["x", "gone"]  # the two puts; nothing of the refused transaction


def test_given_many_writers_and_refused_transactions_racing_when_done_then_every_confirmed_write_is_kept(
    table: Any,
) -> None:
    """moto alone restores a whole-table snapshot on refusal, erasing the other threads' confirmed writes."""
    table.put_item(TableName=TABLE, Item=key("taken"))
    confirmed: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait(timeout=10)
        for i in range(25):
            pk = f"w{n}-{i}"
            try:
                if i % 2:
                    table.transact_write_items(
                        TransactItems=[put(pk), put("taken", "attribute_not_exists(PK)")]
                    )
                else:
                    table.transact_write_items(TransactItems=[put(pk), add_one("counter")])
            except ClientError as error:
                assert error.response["Error"]["Code"] == "TransactionCanceledException", error.response
                with lock:
                    refused.append(pk)
                continue
            with lock:
                confirmed.append(pk)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert (len(confirmed), len(refused)) == (8 * 13, 8 * 12)  # i even: confirmed; i odd: refused
    for pk in confirmed:
        assert item(table, pk) is not None, pk
    for pk in refused:
        assert item(table, pk) is None, pk
    counter = item(table, "counter")
    assert counter is not None and counter["n"] == {"N": str(len(confirmed))}
    records = stream_keys(table)
    assert sorted(k for k in records if k.startswith("w")) == sorted(confirmed)
    assert records.count("counter") == len(confirmed)


@pytest.fixture
def busy_threads() -> Iterator[None]:
    """Threads switch as often as they can: what a busy server does to moto's shared tables."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_given_scans_racing_writers_when_done_then_no_request_failed(table: Any, busy_threads: None) -> None:
    """Before: `RuntimeError: dictionary changed size during iteration` inside moto, a bare 500."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def scan() -> None:
        while not stop.is_set():
            try:
                table.scan(TableName=TABLE)
            except BaseException as error:
                errors.append(error)
                return

    def write(n: int) -> None:
        try:
            for i in range(40):
                table.transact_write_items(TransactItems=[put(f"s{n}-{i}"), add_one(f"c{n}")])
        except BaseException as error:
            errors.append(error)

    scanners = [threading.Thread(target=scan) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in scanners + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=120)
    stop.set()
    for thread in scanners:
        thread.join(timeout=30)

    assert errors == []
    assert table.scan(TableName=TABLE, Select="COUNT")["Count"] == 4 * 40 + 4


def test_given_emulator_crash_mid_update_when_called_then_internal_server_error_and_item_unchanged(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.parsing.executors import UpdateExpressionExecutor

    from local import dynamodb

    table.put_item(TableName=TABLE, Item={**key("x"), "n": {"N": "5"}})
    execute = UpdateExpressionExecutor.execute

    def half_done_then_crash(self: Any, node: Any = None) -> None:
        if node is not None:  # execute() walks the expression's nodes recursively
            return execute(self, node)
        execute(self)  # the item is changed in place...
        raise RuntimeError("dictionary changed size during iteration")  # ...then moto fails

    monkeypatch.setattr(UpdateExpressionExecutor, "execute", half_done_then_crash)
    failures = dynamodb.emulator_failures()

    with pytest.raises(ClientError) as raised:
        table.update_item(
            TableName=TABLE,
            Key=key("x"),
            UpdateExpression="SET n = :v",
            ExpressionAttributeValues={":v": {"N": "6"}},
        )

    assert raised.value.response["Error"]["Code"] == "InternalServerError"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert dynamodb.emulator_failures() == failures + 1
    monkeypatch.setattr(UpdateExpressionExecutor, "execute", execute)
    assert item(table, "x") == {**key("x"), "n": {"N": "5"}}
    assert stream_keys(table) == ["x"]


def test_given_transaction_retried_with_its_token_when_sent_again_then_applied_once_and_other_items_refused(
    table: Any,
) -> None:
    table.transact_write_items(TransactItems=[add_one("counter")], ClientRequestToken="token-1")
    table.transact_write_items(TransactItems=[add_one("counter")], ClientRequestToken="token-1")

    counter = item(table, "counter")
    assert counter is not None and counter["n"] == {"N": "1"}
    with pytest.raises(ClientError) as raised:
        table.transact_write_items(TransactItems=[add_one("other")], ClientRequestToken="token-1")
    assert raised.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert item(table, "other") is None
    table.transact_write_items(TransactItems=[add_one("counter")], ClientRequestToken="token-2")
    counter = item(table, "counter")
    assert counter is not None and counter["n"] == {"N": "2"}
