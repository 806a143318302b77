"""Stand-ins for API Gateway's authorizers: a JWT issuer/verifier and an IAM (SigV4) gate.

The JWT authorizer mints RS256 tokens with a key made at start and checks them as API
Gateway's JWT authorizer would (signature, `iss`, `aud`, `exp`); what it puts in the
event is what API Gateway puts there: every claim as a string, under
`requestContext.authorizer.jwt`. The IAM stand-in accepts a SigV4 `Authorization`
header whose access key is the local support key (the signature itself is not checked).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.wrappers import Request

from local.adapter import AuthFailure

AUDIENCE = "gift-plans-local"
TOKEN_LIFETIME_S = 12 * 3600
DEFAULT_SUPPORT_ACCESS_KEY = "AKIALOCALSUPPORT"
SUPPORT_USER_ARN = "arn:aws:sts::000000000000:assumed-role/gift-plans-support/support-local"
_SIGV4 = re.compile(r"^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/")


def _claim_string(value: Any) -> str:
    """API Gateway hands claims to the function as strings: true -> "true", [a, b] -> "[a b]"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_claim_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


class JwtAuthorizer:
    """Issue and verify the local bearer tokens."""

    def __init__(
        self,
        issuer: str,
        audience: str = AUDIENCE,
        *,
        key: rsa.RSAPrivateKey | None = None,
        clock: Any = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._public = self._key.public_key()
        self._clock = clock

    def mint(
        self,
        sub: str,
        *,
        email: str | None = None,
        email_verified: bool = False,
        lifetime_s: int = TOKEN_LIFETIME_S,
        extra: dict[str, Any] | None = None,
    ) -> str:
        issued = int(self._clock())
        claims: dict[str, Any] = {
            "sub": sub,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued,
            "exp": issued + lifetime_s,
            "email_verified": email_verified,
            "token_use": "id",
        }
        if email:
            claims["email"] = email
        claims.update(extra or {})
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": "local"})

    def verify(self, token: str) -> dict[str, Any]:
        try:
            return dict(
                jwt.decode(
                    token,
                    self._public,
                    algorithms=["RS256"],
                    audience=self.audience,
                    issuer=self.issuer,
                    options={"require": ["exp", "iss", "aud", "sub"]},
                    leeway=0,
                )
            )
        except jwt.PyJWTError as error:
            raise AuthFailure(401, "Unauthorized") from error

    def __call__(self, request: Request) -> dict[str, Any]:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthFailure(401, "Unauthorized")
        claims = self.verify(token.strip())
        scopes = str(claims.get("scope", "")).split() or None
        return {"jwt": {"claims": {k: _claim_string(v) for k, v in claims.items()}, "scopes": scopes}}


class IamAuthorizer:
    """AWS_IAM routes: a SigV4 header made with the local support access key."""

    def __init__(
        self,
        access_key: str = DEFAULT_SUPPORT_ACCESS_KEY,
        account_id: str = "000000000000",
        user_arn: str = SUPPORT_USER_ARN,
    ) -> None:
        self.access_key = access_key
        self.account_id = account_id
        self.user_arn = user_arn

    def __call__(self, request: Request) -> dict[str, Any]:
        found = _SIGV4.match(request.headers.get("Authorization", ""))
        if not found or found.group(1) != self.access_key:
            raise AuthFailure(403, "Forbidden")
        return {
            "iam": {
                "accessKey": self.access_key,
                "accountId": self.account_id,
                "callerId": "AIDALOCALSUPPORT",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": self.user_arn,
                "userId": "AIDALOCALSUPPORT",
            }
        }
