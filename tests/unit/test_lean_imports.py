# mypy: disable-error-code="import-not-found"
"""giftplans.lean_imports: a package registered lean runs its `__init__` only when it must."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from giftplans.lean_imports import LEAN_PACKAGES, lean_package

INIT = """
from .heavy import Heavy as Renamed
from lean_pkg.light import light
import lean_pkg.light
RAN.append("init")
CONSTANT = 7
"""


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    root = tmp_path / "lean_pkg"
    root.mkdir()
    (root / "__init__.py").write_text("import builtins\nRAN = builtins.LEAN_RAN\n" + INIT)
    (root / "heavy.py").write_text("import builtins\nbuiltins.LEAN_RAN.append('heavy')\nclass Heavy: ...\n")
    (root / "light.py").write_text("import builtins\nbuiltins.LEAN_RAN.append('light')\ndef light(): ...\n")
    ran: list[str] = []
    monkeypatch.setattr("builtins.LEAN_RAN", ran, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield ran
    for name in [m for m in sys.modules if m == "lean_pkg" or m.startswith("lean_pkg.")]:
        del sys.modules[name]


def test_given_a_lean_package_when_one_reexported_name_is_used_then_only_its_module_runs(package):
    lean_package("lean_pkg")
    assert package == []

    from lean_pkg import light

    assert package == ["light"]
    assert light is sys.modules["lean_pkg.light"].light


def test_given_a_lean_package_when_an_aliased_name_is_used_then_it_is_the_submodules_object(package):
    lean_package("lean_pkg")

    from lean_pkg import Renamed

    assert Renamed is sys.modules["lean_pkg.heavy"].Heavy
    assert package == ["heavy"]


def test_given_a_lean_package_when_a_submodule_is_imported_from_it_then_init_does_not_run(package):
    lean_package("lean_pkg")

    from lean_pkg import heavy

    assert heavy is sys.modules["lean_pkg.heavy"] and package == ["heavy"]


def test_given_a_lean_package_when_a_name_init_defines_itself_is_used_then_init_runs_once(package):
    lean_package("lean_pkg")

    from lean_pkg import CONSTANT

    assert CONSTANT == 7 and package.count("init") == 1
    import lean_pkg

    assert lean_pkg.CONSTANT == 7 and lean_pkg.Renamed is sys.modules["lean_pkg.heavy"].Heavy
    assert package.count("init") == 1
    with pytest.raises(AttributeError):
        lean_pkg.missing  # noqa: B018


def test_given_a_package_already_imported_whole_when_made_lean_then_it_is_left_as_it_is(package):
    import lean_pkg

    assert lean_package("lean_pkg") is lean_pkg and package.count("init") == 1


def test_given_powertools_packages_when_giftplans_http_is_imported_then_names_are_powertools_own():
    import giftplans.http  # noqa: F401
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver as Real
    from aws_lambda_powertools.event_handler.api_gateway import Response as RealResponse
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
    from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import (
        APIGatewayProxyEventV2 as RealEvent,
    )

    assert (APIGatewayHttpResolver, Response, APIGatewayProxyEventV2) == (Real, RealResponse, RealEvent)
    assert all(name in sys.modules for name in LEAN_PACKAGES)
