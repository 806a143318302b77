"""GET /openapi.json: one document for the whole API, generated from the handlers, never stale."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local import template
from tests.support.apigw import FakeContext, http_event, load_handler
from tools import openapi_gen

ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return openapi_gen.build()


def test_given_the_handlers_when_document_regenerated_then_committed_file_is_identical(
    generated: dict[str, Any],
) -> None:
    committed = openapi_gen.OUTPUT.read_text(encoding="utf-8")
    assert committed == openapi_gen.render(generated), (
        "functions/openapi/openapi.json is stale: run `make openapi` (.venv/bin/python -m tools.openapi_gen) "
        "and commit the result"
    )


def test_given_template_routes_when_their_function_exists_then_each_is_documented_with_its_auth(
    generated: dict[str, Any],
) -> None:
    expected_security: dict[str, list[dict[str, list[str]]]] = {
        "jwt": [{"jwt": []}],
        "iam": [{"sigv4": []}],
        "none": [],
    }
    for route in template.routes():
        if not (openapi_gen.FUNCTIONS / route.job / "app.py").is_file():
            continue
        operation = generated["paths"].get(route.path, {}).get(route.method.lower())
        assert operation is not None, f"{route.method} {route.path} is not in the OpenAPI document"
        assert operation["security"] == expected_security[route.auth], route.path


def test_given_document_when_read_then_every_error_response_is_the_spec_error_shape(
    generated: dict[str, Any],
) -> None:
    assert generated["components"]["schemas"]["Error"]["required"] == ["error"]
    for path, operations in generated["paths"].items():
        for method, operation in operations.items():
            statuses = operation["responses"]
            assert any(s.startswith("2") for s in statuses), f"{method} {path} documents no success"
            for status, response in statuses.items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    allowed = schema.get("anyOf", [schema])  # API Gateway may refuse in its own shape
                    assert ERROR_REF in allowed, f"{method} {path} {status}"


def test_given_checkout_route_when_documented_then_request_and_response_models_are_typed(
    generated: dict[str, Any],
) -> None:
    operation = generated["paths"]["/checkout/sessions"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CheckoutRequest"
    }
    assert set(operation["responses"]) >= {"201", "400", "401", "422"}
    request = generated["components"]["schemas"]["CheckoutRequest"]
    assert request["properties"]["quantity"]["minimum"] == 1
    assert request["properties"]["quantity"]["maximum"] == 1000
    purchase = generated["components"]["schemas"]["PurchaseOut"]
    assert set(purchase["required"]) >= {
        "purchase_id",
        "plan",
        "quantity",
        "status",
        "currency",
        "amount_total",
        "term_start",
        "term_end",
        "days_left",
        "seat_counts",
    }


def test_given_openapi_function_when_called_then_serves_the_committed_document() -> None:
    response = load_handler("openapi").handler(http_event("GET", "/openapi.json"), FakeContext())
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    document = json.loads(response["body"])
    assert document["info"]["title"] == "Gift plans API"
    assert "/purchases/{purchase_id}" in document["paths"]


def test_given_the_invite_body_then_the_document_states_the_limits_the_domain_applies(
    generated: dict[str, Any],
) -> None:
    # the request check uses looser bounds so the domain can refuse with its own codes and a reason
    # per row; a client built from the document must still see the real limits (SPEC 8.3, 8.4).
    from giftplans.invitations.addresses import MAX_FROM_NAME, MAX_MESSAGE, MAX_ROWS

    schemas = generated["components"]["schemas"]
    invitations = schemas["InviteRequest"]["properties"]["invitations"]
    row = schemas["InvitationIn"]["properties"]

    def string_branch(field: dict[str, Any]) -> dict[str, Any]:  # `str | None`, in either way of writing it
        if "anyOf" in field:
            return next(b for b in field["anyOf"] if b.get("type") == "string")
        assert "string" in field["type"]
        return field

    assert (invitations["minItems"], invitations["maxItems"]) == (1, MAX_ROWS)
    assert string_branch(row["message"])["maxLength"] == MAX_MESSAGE
    assert (string_branch(row["from_name"])["minLength"], string_branch(row["from_name"])["maxLength"]) == (
        1,
        MAX_FROM_NAME,
    )
