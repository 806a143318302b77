"""Secrets: SSM SecureString when deployed, the environment only for local runs and tests.

Deployed, the environment holds the *name* of a parameter (`STRIPE_API_KEY_PARAM`,
`STRIPE_WEBHOOK_SECRET_PARAM`, `TOKEN_KEY_PARAM`), never the value; the value is
fetched with decryption on first use and cached for five minutes.
Locally (`make dev`, tests) `STRIPE_API_KEY`, `STRIPE_WEBHOOK_SECRET` and `TOKEN_KEY`
may be set directly, with local-only defaults. Inside Lambda (`AWS_LAMBDA_FUNCTION_NAME`
is set) neither a plain value nor a default is ever used: a deployment that forgot the
parameter name fails loudly instead of signing links with a key published in this file.
"""

from __future__ import annotations

import os

UNAVAILABLE = "A setting the service needs could not be read just now; nothing was changed. Please retry."
LOCAL_DEFAULTS = {
    "STRIPE_WEBHOOK_SECRET": "whsec_local_dev",
    "TOKEN_KEY": "local-dev-token-key-not-for-production",
    "STRIPE_API_KEY": "sk_test_local_stub",
}


def get(name: str) -> str:
    param = os.environ.get(f"{name}_PARAM")
    if param:
        from aws_lambda_powertools.utilities import parameters  # lazy: only deployed paths pay for it

        try:
            return str(parameters.get_parameter(param, decrypt=True, max_age=300))
        except parameters.exceptions.GetParameterError as error:  # SSM throttled, down or refusing
            from giftplans.errors import UpstreamUnavailable

            raise UpstreamUnavailable(UNAVAILABLE) from error
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise RuntimeError(f"secret {name} must come from SSM: set {name}_PARAM to the parameter's name")
    value = os.environ.get(name) or LOCAL_DEFAULTS.get(name)
    if not value:
        raise RuntimeError(f"secret {name} is not configured")
    return value
