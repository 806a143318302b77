"""Powertools' event handler without the resolvers an HTTP API function never uses, at INIT.

`aws_lambda_powertools.event_handler/__init__.py` imports every resolver Powertools has
(AppSync, AppSync Events, Bedrock agents, VPC Lattice, Function URLs...) and, through
them, asyncio; `aws_lambda_powertools.utilities.data_classes/__init__.py` imports the data
class of every event source. An HTTP API function needs one resolver and one event class:
the rest was about a tenth of its cold start (issue 15 item 5, `make bench`).

Importing this module (giftplans.http does, before anything of Powertools' event handler)
puts those two packages in `sys.modules` without running their `__init__`: each is a
module object with the package's real `__path__`, so its submodules import as usual, and
each name its `__init__` re-exports (`from .api_gateway import Response`, ...) is looked
up in the submodule it comes from the first time it is asked for (PEP 562's module
`__getattr__`); a submodule asked for by name (`from ... import content_types`) is imported
alone. The names are read from the `__init__`'s own import statements, so a new
Powertools version that re-exports something else still works; a name the `__init__`
defines any other way is found by running the real `__init__` then. Code that imports
`Response` or `content_types` from the package gets exactly the objects it always did.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any

LEAN_PACKAGES = (
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.data_classes",
)


def _reexports(name: str, source: str) -> dict[str, tuple[str, str]]:
    """`{exported name: (module, name in it)}` from the top-level `from ... import` lines of `source`."""
    found: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level <= 1:
            module = node.module if node.level == 0 else f"{name}.{node.module}"
            for alias in node.names:
                found[alias.asname or alias.name] = (module, alias.name)
    return found


def lean_package(name: str) -> ModuleType:
    """Register package `name` without running its `__init__`; its names resolve on first use."""
    if name in sys.modules:
        return sys.modules[name]  # already imported whole (or lean): nothing to save
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not a package on sys.path")
    loader, origin = spec.loader, spec.origin
    module = importlib.util.module_from_spec(spec)
    with open(origin, encoding="utf-8") as init:
        names = _reexports(name, init.read())

    def __getattr__(attr: str) -> Any:
        if attr in names:
            source, real = names[attr]
            value = getattr(importlib.import_module(source), real)
        elif attr.startswith("__"):
            raise AttributeError(attr)  # dunders the import system probes for: not the package's names
        elif importlib.util.find_spec(f"{name}.{attr}") is not None:
            value = importlib.import_module(f"{name}.{attr}")  # `from package import submodule`
        else:
            loader.exec_module(module)  # a name defined some other way: the whole `__init__`, once
            del module.__dict__["__getattr__"]
            value = module.__dict__.get(attr)
            if value is None:
                raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        setattr(module, attr, value)
        return value

    module.__dict__["__getattr__"] = __getattr__
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(importlib.import_module(parent), child, module)
    return module


for _package in LEAN_PACKAGES:
    lean_package(_package)
