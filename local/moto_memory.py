"""moto keeps every model object it ever made; the local server must not.

moto's `BaseModel.__new__` appends each instance of every model class to a class-level
list (`instances_tracked`, for moto's web dashboard), and never lets go. For DynamoDB that
is every Item ever built, including the copies moto takes for each UpdateItem and each
Query or Scan result, every stream record and every shard iterator: the local server's
memory grew with every request (about 60 MB per 1000-seat purchase fulfilled and
refunded, and more per read of a large purchase), although the data kept stayed the same.

`forget_instances()` makes the models of the services the local server emulates untracked:
an object lives as long as the emulation uses it, as in any program. moto's dashboard (not
used here) no longer lists them. S3's models, whose cleanup reads the list, keep it.
"""

from __future__ import annotations

from typing import Any

UNTRACKED = frozenset(
    {"dynamodb", "dynamodbstreams", "ses", "sesv2", "sns", "events", "ssm", "sqs", "cloudwatch"}
)


def forget_instances() -> None:
    """Stop moto tracking instances of the emulated services' models (idempotent)."""
    from moto.core.common_models import BaseModel

    if getattr(BaseModel.__new__, "_local_untracked", False):
        return
    tracked_new = BaseModel.__new__

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        parts = cls.__module__.split(".")
        if len(parts) > 1 and parts[0] == "moto" and parts[1] in UNTRACKED:
            return object.__new__(cls)
        return tracked_new(cls, *args, **kwargs)

    __new__._local_untracked = True  # type: ignore[attr-defined]
    BaseModel.__new__ = __new__  # type: ignore[method-assign]
    from moto.core.model_instances import model_data

    for service, models in model_data.items():
        if service in UNTRACKED:
            for model in models.values():
                model.instances_tracked = []  # type: ignore[attr-defined]  # what was tracked so far goes
