"""local.moto_expressions: an UpdateExpression parsed and checked once answers every item as moto does.

In-process moto (the `aws` fixture applies the patch). The same expression string, used on
different items with different values, gives each item its own result; an expression moto
refuses is refused every time it is sent (a refusal is never remembered as a pass); the
cached parse is never changed by use; and the patched validator builds exactly the tree
moto's own validator builds.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local.test_dynamodb_atomicity import TABLE, key, table

__all__ = ["table"]  # the fixture: a (PK, SK) table and a client that does not retry

COUNT = "SET n = if_not_exists(n, :zero) + :inc, #s = :s"  # one string for every call below


def count(client: Any, pk: str, inc: int, state: str, **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = client.update_item(
        TableName=TABLE,
        Key=key(pk),
        UpdateExpression=COUNT,
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":zero": {"N": "0"}, ":inc": {"N": str(inc)}, ":s": {"S": state}},
        ReturnValues="ALL_NEW",
        **extra,
    )
    return answer


def test_the_same_expression_gives_each_item_its_own_result(table: Any) -> None:
    assert count(table, "a", 5, "new")["Attributes"]["n"] == {"N": "5"}
    assert count(table, "b", 7, "other")["Attributes"]["n"] == {"N": "7"}
    assert count(table, "a", 1, "again")["Attributes"] == {
        **key("a"),
        "n": {"N": "6"},
        "state": {"S": "again"},
    }
    b = table.get_item(TableName=TABLE, Key=key("b"))["Item"]
    assert b == {**key("b"), "n": {"N": "7"}, "state": {"S": "other"}}


def test_a_condition_still_refuses_after_the_expression_passed(table: Any) -> None:
    count(table, "a", 1, "new")
    for _ in range(2):
        with pytest.raises(ClientError) as refused:
            count(table, "a", 1, "late", ConditionExpression="attribute_not_exists(PK)")
        assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert table.get_item(TableName=TABLE, Key=key("a"))["Item"]["n"] == {"N": "1"}


def test_a_refused_expression_is_refused_every_time(table: Any) -> None:
    duplicate = {"UpdateExpression": "SET a = :x, a = :x", "ExpressionAttributeValues": {":x": {"N": "1"}}}
    key_update = {"UpdateExpression": "SET SK = :x", "ExpressionAttributeValues": {":x": {"S": "B"}}}
    for _ in range(3):
        for refused_update in (duplicate, key_update):
            with pytest.raises(ClientError) as refused:
                table.update_item(TableName=TABLE, Key=key("a"), **refused_update)
            assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Item" not in table.get_item(TableName=TABLE, Key=key("a"))


def test_a_passed_expression_with_other_names_is_checked_again(table: Any) -> None:
    """The structural checks read the names: `SET #k = :x` passes for `#k: a`, not for `#k: PK`."""
    update = {"UpdateExpression": "SET #k = :x", "ExpressionAttributeValues": {":x": {"S": "v"}}}
    table.update_item(TableName=TABLE, Key=key("a"), ExpressionAttributeNames={"#k": "a"}, **update)
    with pytest.raises(ClientError) as refused:
        table.update_item(TableName=TABLE, Key=key("a"), ExpressionAttributeNames={"#k": "PK"}, **update)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Cannot update attribute PK" in refused.value.response["Error"]["Message"]
    assert table.get_item(TableName=TABLE, Key=key("a"))["Item"] == {**key("a"), "a": {"S": "v"}}


def test_use_never_changes_the_cached_parse(table: Any) -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    make: Any = UpdateExpressionParser.make
    count(table, "a", 1, "new")
    count(table, "a", 2, "again")
    cached = make(COUNT)
    assert cached is make(COUNT)
    fresh = make.__wrapped__(COUNT)
    fresh._local_expression = COUNT  # the one attribute the cache adds
    assert shape(cached) == shape(fresh)


def test_the_patched_validator_builds_moto_s_tree(table: Any) -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    patched: Any = models.UpdateExpressionValidator  # type: ignore[attr-defined]
    assert patched is not validators.UpdateExpressionValidator
    backend = models.dynamodb_backends["123456789012"]["us-east-1"]
    moto_table = backend.get_table(TABLE)
    make: Any = UpdateExpressionParser.make
    item = Item(DynamoType({"S": "a"}), DynamoType({"S": "A"}), attrs={"n": {"N": "4"}})
    arguments: dict[str, Any] = {
        "expression_attribute_names": {"#s": "state"},
        "expression_attribute_values": {":zero": {"N": "0"}, ":inc": {"N": "3"}, ":s": {"S": "x"}},
        "item": item,
        "table": moto_table,
    }
    for _ in range(2):  # the second time, the structural checks are remembered
        ours = patched(make(COUNT), **arguments).validate()
        theirs = validators.UpdateExpressionValidator(make.__wrapped__(COUNT), **arguments).validate()
        ours.normalize()
        theirs.normalize()
        ours.__dict__.pop("_local_expression")
        assert shape(ours) == shape(theirs)
        assert "DDBTypedValue" in repr(shape(ours))  # the values and the item were read into the tree


def shape(node: Any) -> Any:
    """A tree as plain data: each object's class and attributes (its parent as the parent's class)."""
    if isinstance(node, list):
        return [shape(child) for child in node]
    if isinstance(node, dict):
        return {name: shape(value) for name, value in node.items()}
    if hasattr(node, "__dict__"):
        attributes = {name: shape(value) for name, value in vars(node).items() if name != "parent"}
        attributes["parent"] = type(getattr(node, "parent", None)).__name__
        return type(node).__name__, attributes
    return node
