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
from moto.core.models import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.dynamodbstreams.models import dynamodbstreams_backends

TABLE = "atomicity-test"


@pytest.fixture
def table(aws: None) -> Any:
    """A stream-enabled table (PK, SK) and a boto3 client that does not retry (to see each answer)."""
    client: Any = boto3.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
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


def test_given_a_poller_that_keeps_up_when_it_has_read_then_the_shard_keeps_a_tail_and_numbering_goes_on(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto kept every record and every iterator forever: the local server's memory grew with each write."""
    from local import dynamodb

    monkeypatch.setattr(dynamodb, "STREAM_TAIL", 3)
    streams = dynamodbstreams_backends[ACCOUNT_ID]["us-east-1"]
    shard_id = streams.describe_stream(table.stream_arn)["Shards"][0]["ShardId"]
    poller = streams.get_shard_iterator(table.stream_arn, shard_id, "TRIM_HORIZON").arn
    for n in range(10):
        table.put_item(TableName=TABLE, Item=key(f"k{n}"))

    page = streams.get_records(poller, 100)
    more = streams.get_records(page["NextShardIterator"], 100)

    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in page["Records"]] == [f"k{n}" for n in range(10)]
    assert more["Records"] == []
    shard = table_shard(table)
    assert len(shard.items) == 3  # what every open reader has read is forgotten, but for the tail
    table.put_item(TableName=TABLE, Item=key("k10"))
    after = streams.get_records(more["NextShardIterator"], 100)["Records"]
    assert [(r["dynamodb"]["Keys"]["PK"]["S"], int(r["dynamodb"]["SequenceNumber"])) for r in after] == [
        ("k10", int(page["Records"][0]["dynamodb"]["SequenceNumber"]) + 10)
    ]
    with pytest.raises(Exception, match="TrimmedDataAccess"):
        streams.get_records(poller, 100)  # reused after its records were trimmed


def test_given_a_reader_that_lags_when_another_has_read_everything_then_nothing_it_has_not_read_is_trimmed(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local import dynamodb

    monkeypatch.setattr(dynamodb, "STREAM_TAIL", 0)
    streams = dynamodbstreams_backends[ACCOUNT_ID]["us-east-1"]
    shard_id = streams.describe_stream(table.stream_arn)["Shards"][0]["ShardId"]
    fast = streams.get_shard_iterator(table.stream_arn, shard_id, "TRIM_HORIZON").arn
    slow = streams.get_shard_iterator(table.stream_arn, shard_id, "TRIM_HORIZON").arn
    for n in range(5):
        table.put_item(TableName=TABLE, Item=key(f"k{n}"))

    streams.get_records(fast, 100)
    late = streams.get_records(slow, 100)["Records"]

    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in late] == [f"k{n}" for n in range(5)]
    assert table_shard(table).items == []  # now both have read them


def table_shard(table: Any) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ACCOUNT_ID]["us-east-1"].tables[TABLE].stream_shard


def test_given_an_iterator_older_than_15_minutes_when_used_then_expired(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local import dynamodb

    streams = dynamodbstreams_backends[ACCOUNT_ID]["us-east-1"]
    shard_id = streams.describe_stream(table.stream_arn)["Shards"][0]["ShardId"]
    old = streams.get_shard_iterator(table.stream_arn, shard_id, "TRIM_HORIZON").arn
    streams.get_records(old, 10)
    monkeypatch.setattr(dynamodb, "ITERATOR_TTL_S", -1)

    with pytest.raises(Exception, match="ExpiredIterator"):
        streams.get_records(old, 10)
    assert streams.shard_iterators == {}  # moto kept every iterator it ever made


def test_given_moto_told_to_forget_when_items_are_written_and_read_then_no_copies_kept(table: Any) -> None:
    """moto tracked every model object it made (each Item, each copy a Query returns): memory only grew."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import StreamRecord

    from local.moto_memory import forget_instances

    forget_instances()
    tracked = (len(Item.instances_tracked), len(StreamRecord.instances_tracked))  # type: ignore[attr-defined]
    for n in range(20):
        table.put_item(TableName=TABLE, Item={**key(f"k{n}"), "n": {"N": str(n)}})
        table.update_item(
            TableName=TABLE,
            Key=key(f"k{n}"),
            UpdateExpression="SET n = :v",
            ExpressionAttributeValues={":v": {"N": "0"}},
        )
    assert table.scan(TableName=TABLE)["Count"] == 20

    after = (len(Item.instances_tracked), len(StreamRecord.instances_tracked))  # type: ignore[attr-defined]
    assert after == tracked
