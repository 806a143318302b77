"""moto's UpdateExpression work, done once per expression instead of once per item.

moto 5 parses and checks an UpdateExpression again for every item it updates, and in a
TransactWriteItems twice (the handler parses each Update to list its placeholders, then the
backend parses it again): a 1000-row invitation list (2095 Updates) spent most of its
time there. Everything below that is cached is a pure function of its key:

- **the parse**: `UpdateExpressionParser.make(expression)` is a function of the string (it
  tokenises the string and builds an AST; no item, table or value is read). The cached AST
  is shared, and no reader changes it: the handler only walks it (`find_clauses`), and
  `UpdateExpressionValidator` deep-copies it before its processors rewrite the copy. An
  expression that does not parse raises as before, every time (a failure is not cached).
- **the structural checks**: the validator's first three processors (one ADD/REMOVE/SET
  clause each, no overlapping paths, no key attribute updated) read only the AST, the
  ExpressionAttributeNames and the table's key attribute names, and leave the tree as it
  was (each hands back the node it was given). Once they have passed for that
  (expression, names, key attributes), they pass again, so they are not run again for it.
  When they fail, nothing is remembered: the next request runs them and fails the same way.
  Every processor that reads the item or the values (value substitution, path resolution,
  functions, arithmetic, type and empty-key checks) runs for every item, as before.
- **the copy**: the validator's per-item copy of the AST is made from a pickle of the cached
  AST, taken once, instead of `copy.deepcopy` (same object graph: both rebuild plain
  objects through `__reduce_ex__`; pickle does it in C).

Results, errors and stream records are those moto gives without this module (see
tests/local/test_moto_expressions.py). moto is pinned (pyproject.toml); if its validator's
processors are not the expected ones, nothing is skipped.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from typing import Any

PARSED_EXPRESSIONS = 512  # distinct UpdateExpression strings kept parsed (least recently used go)
STRUCTURES_KEPT = 4096  # (expression, names, key attributes) known to pass the structural checks
_SOURCE = "_local_expression"  # the attribute a cached AST carries: the string it was parsed from

_structure_passed: set[tuple[Any, ...]] = set()


def _cached_make(make: Callable[[str], Any]) -> Callable[[str], Any]:
    """UpdateExpressionParser.make, memoised on the expression string."""

    @functools.lru_cache(maxsize=PARSED_EXPRESSIONS)
    def parsed(expression: str) -> tuple[Any, bytes | None]:
        ast = make(expression)
        setattr(ast, _SOURCE, expression)
        try:
            blob: bytes | None = pickle.dumps(ast, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # not picklable: the validator deep-copies it as moto does
            blob = None
        return ast, blob

    @functools.wraps(make)
    def cached(expression: str) -> Any:
        if not isinstance(expression, str):
            return make(expression)
        return parsed(expression)[0]

    cached.parsed = parsed  # type: ignore[attr-defined]
    return cached


def _structure_key(expression: Any, names: Any, table: Any) -> tuple[Any, ...] | None:
    """What the structural checks read: the expression, the names, the table's key attributes."""
    source = getattr(expression, _SOURCE, None)
    if source is None:
        return None
    try:
        named = None if names is None else tuple(sorted(names.items()))
        key = (source, named, tuple(table.table_key_attrs))
        hash(key)
    except Exception:  # malformed names: no memo, moto checks (and refuses) as before
        return None
    return key


def _validator(base: type[Any], parsed: Callable[[str], tuple[Any, bytes | None]]) -> type[Any]:
    from moto.dynamodb.parsing.validators import (
        ActionCountValidator,
        OverlappingPathsValidator,
        UpdateHashRangeKeyValidator,
    )

    structural = (ActionCountValidator, OverlappingPathsValidator, UpdateHashRangeKeyValidator)

    class UpdateExpressionValidator(base):  # type: ignore[misc]
        """moto's validator; its structural checks memoised, its copy made from a pickle."""

        def __init__(
            self,
            expression: Any,
            expression_attribute_names: Any,
            expression_attribute_values: Any,
            item: Any,
            table: Any,
        ) -> None:
            self._local_key = _structure_key(expression, expression_attribute_names, table)
            blob = None
            if self._local_key is not None:
                cached, blob = parsed(self._local_key[0])
                if cached is not expression:
                    self._local_key, blob = None, None
            if blob is None:
                super().__init__(
                    expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                    item=item,
                    table=table,
                )
                return
            # Validator.__init__ as moto 5.2.5 has it, the copy taken from the pickle
            self.expression_attribute_names = expression_attribute_names
            self.expression_attribute_values = expression_attribute_values
            self.item = item
            self.table = table
            self.processors = self.get_ast_processors()
            self.node_to_validate = pickle.loads(blob)  # noqa: S301  # nosec B301  # our own pickle, this process's

        def validate(self) -> Any:
            processors = list(self.processors)
            key = self._local_key
            if key is None or tuple(type(p) for p in processors[:3]) != structural:
                return super().validate()
            node = self.node_to_validate
            if key not in _structure_passed:
                for processor in processors[:3]:
                    node = processor.traverse(node)  # raises when the expression is refused
                if len(_structure_passed) >= STRUCTURES_KEPT:
                    _structure_passed.clear()
                _structure_passed.add(key)
            for processor in processors[3:]:
                node = processor.traverse(node)
            return node

    return UpdateExpressionValidator


def apply() -> None:
    """Patch moto's UpdateExpression parse and validation in this process. Idempotent."""
    from moto.dynamodb import models
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import (  # type: ignore[attr-defined]  # an untyped module
        UpdateExpressionParser,
    )

    if getattr(UpdateExpressionParser.make, "parsed", None) is not None:
        return
    make = _cached_make(UpdateExpressionParser.make)
    UpdateExpressionParser.make = staticmethod(make)
    validator = _validator(validators.UpdateExpressionValidator, make.parsed)  # type: ignore[attr-defined]
    models.UpdateExpressionValidator = validator  # type: ignore[attr-defined]  # the name update_item calls
