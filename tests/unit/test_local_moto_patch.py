"""local.moto_speedups: a refused transaction leaves the stream as DynamoDB would, for readers too."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID
from moto.dynamodbstreams.models import dynamodbstreams_backends

TABLE = "stream-patch-test"


def put(pk: str, condition: str | None = None) -> dict:
    action = {"TableName": TABLE, "Item": {"PK": {"S": pk}}}
    if condition:
        action["ConditionExpression"] = condition
    return {"Put": action}


def test_given_reader_holding_iterator_when_transaction_refused_then_it_sees_later_writes_and_nothing_refused(
    aws,
):
    from local.moto_speedups import apply

    apply()
    client = boto3.client("dynamodb")
    arn = client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    # moto's in-process mock does not route the dynamodbstreams API: hold an iterator on its backend.
    streams = dynamodbstreams_backends[ACCOUNT_ID]["us-east-1"]
    shard = streams.describe_stream(arn)["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(arn, shard, "TRIM_HORIZON").arn
    client.transact_write_items(TransactItems=[put("a")])

    with pytest.raises(ClientError, match="TransactionCanceled"):  # "b" is applied by moto, then rolled back
        client.transact_write_items(TransactItems=[put("b"), put("a", "attribute_not_exists(PK)")])
    client.transact_write_items(TransactItems=[put("c")])

    page = streams.get_records(iterator, 100)
    keys = [r["dynamodb"]["Keys"]["PK"]["S"] for r in page["Records"]]
    assert keys == ["a", "c"]
    assert "Item" not in client.get_item(TableName=TABLE, Key={"PK": {"S": "b"}})
