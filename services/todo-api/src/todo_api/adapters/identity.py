"""Who is calling: bearer JWTs from an OIDC issuer, verified against the issuer's JWKS (PyJWT).

PyJWT's `PyJWKClient` fetches the issuer's key set, caches it, and fetches it again only for a
key id it does not know (the issuer rotated its keys). Only asymmetric algorithms are accepted,
so neither `alg: none` nor an HMAC "signed" with the public key can pass.

The audience: ID tokens (and most issuers' access tokens) name the client in `aud`. Cognito's
access tokens have no `aud` and name it in `client_id` instead, so when `aud` is absent the
`client_id` claim must be the audience. Cognito also marks which kind a token is (`token_use`):
only ID and access tokens are accepted.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

# Asymmetric only: the verifier holds public keys, and HS256 with a public key as the secret
# would let anyone who has the JWKS mint tokens.
ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 30  # clock skew between the issuer and this host, on `exp`, `nbf` and `iat`
JWKS_CACHE_SECONDS = 300
# A token naming a key id the cached set lacks makes PyJWT fetch the set again (the issuer may
# have rotated its keys), but not within this many seconds of the last fetch: otherwise every
# request carrying a made-up `kid` would cost a round trip to the issuer.
JWKS_REFETCH_COOLDOWN_SECONDS = 30
ISSUER_TIMEOUT_SECONDS = 5
_TOKEN_USES = frozenset({"id", "access"})


class TokenRejected(Exception):
    """The token proves nothing: missing, malformed, badly signed, expired, or for someone else."""


class IssuerUnavailable(Exception):
    """The issuer's keys could not be fetched: the token may be fine, so try again later."""


@dataclass(frozen=True)
class Identity:
    """A verified caller: `subject` is the token's `sub`; `email` only when the issuer verified it."""

    subject: str
    email: str | None


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Identity:
        """The identity `token` proves; TokenRejected or IssuerUnavailable otherwise."""
        ...


class SigningKeys(Protocol):
    """Where a token's signing key comes from (PyJWT's PyJWKClient, or a fixed set in tests)."""

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK: ...


@dataclass
class JwksTokenVerifier:
    issuer: str
    audience: str
    keys: SigningKeys
    leeway_seconds: float = LEEWAY_SECONDS

    @classmethod
    def for_issuer(cls, jwks_url: str, issuer: str, audience: str) -> JwksTokenVerifier:
        keys = jwt.PyJWKClient(
            jwks_url,
            cache_jwk_set=True,
            lifespan=JWKS_CACHE_SECONDS,
            timeout=ISSUER_TIMEOUT_SECONDS,
            cooldown_duration=JWKS_REFETCH_COOLDOWN_SECONDS,
        )
        return cls(issuer, audience, keys)

    def verify(self, token: str) -> Identity:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError:
            raise TokenRejected("the token is not a JWT") from None
        if algorithm not in ALGORITHMS:
            raise TokenRejected(f"tokens must be signed with {' or '.join(ALGORITHMS)}")
        try:
            key = self.keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as unreachable:
            raise IssuerUnavailable(str(unreachable)) from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError):
            raise TokenRejected("no key of the issuer signed this token") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=list(ALGORITHMS),
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                # The audience is checked below: Cognito's access tokens carry it as `client_id`.
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("the token is not valid yet") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("the token is from another issuer") from None
        except jwt.InvalidTokenError as invalid:
            raise TokenRejected(f"invalid token: {invalid}") from None
        self._check_audience(claims)
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise TokenRejected("the token names no subject")
        return Identity(subject, verified_email(claims))

    def _check_audience(self, claims: dict[str, Any]) -> None:
        if "aud" in claims:
            audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
            intended = self.audience in audiences
        else:
            intended = claims.get("client_id") == self.audience
        if not intended:
            raise TokenRejected("the token is meant for another audience")
        if "token_use" in claims and claims["token_use"] not in _TOKEN_USES:
            raise TokenRejected("only ID and access tokens are accepted")


def verified_email(claims: dict[str, Any]) -> str | None:
    """The token's `email`, if the issuer says it verified it (some issuers write "true")."""
    email = claims.get("email")
    if isinstance(email, str) and email and claims.get("email_verified") in (True, "true"):
        return email
    return None


@dataclass
class IssuerEndpoints:
    """Where the web page signs users in, from the issuer's OIDC discovery document, read once.

    The API reads it (not the page) so the page needs nothing from the issuer but its sign-in
    and token endpoints.
    """

    issuer: str
    _document: dict[str, Any] | None = None

    def endpoints(self) -> dict[str, str]:
        """`authorization_endpoint` and `token_endpoint`; IssuerUnavailable if they cannot be read."""
        if self._document is None:
            url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            try:
                with urllib.request.urlopen(url, timeout=ISSUER_TIMEOUT_SECONDS) as response:
                    self._document = json.load(response)
            except (OSError, ValueError) as failure:
                raise IssuerUnavailable(f"{url}: {failure}") from None
        document = self._document
        return {name: str(document[name]) for name in ("authorization_endpoint", "token_endpoint") if name in document}
