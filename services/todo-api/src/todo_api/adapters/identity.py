"""Who is calling: bearer JWTs from an OIDC issuer, verified against the issuer's JWKS (PyJWT).

The issuer's key set and discovery document are fetched on demand and kept (issuer_documents.py:
failures remembered, one fetch at a time, never a request waiting on a hung issuer); the key set
is fetched again early only for a key id it does not hold (the issuer rotated its keys). Only
asymmetric algorithms are accepted, so neither `alg: none` nor an HMAC "signed" with the public
key can pass, and a key is used only with its own algorithm.

The audience: ID tokens (and most issuers' access tokens) name the client in `aud`. Cognito's
access tokens have no `aud` and name it in `client_id` instead, so when `aud` is absent the
`client_id` claim must be the audience. Cognito also marks which kind a token is (`token_use`):
only ID and access tokens are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt

from todo_api.adapters.issuer_documents import CachedIssuerDocument, IssuerUnavailable

# Asymmetric only: the verifier holds public keys, and HS256 with a public key as the secret
# would let anyone who has the JWKS mint tokens.
ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 30  # clock skew between the issuer and this host, on `exp`, `nbf` and `iat`
JWKS_CACHE_SECONDS = 300
# A token naming a key id the kept set lacks makes the set be fetched again (the issuer may have
# rotated its keys), but not within this many seconds of the last fetch: otherwise every request
# carrying a made-up `kid` would cost a round trip to the issuer.
JWKS_REFETCH_COOLDOWN_SECONDS = 30
# Sign-in endpoints hardly ever move.
DISCOVERY_CACHE_SECONDS = 3600
_TOKEN_USES = frozenset({"id", "access"})


class TokenRejected(Exception):
    """The token proves nothing: missing, malformed, badly signed, expired, or for someone else."""


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
    """Where a token's signing key comes from (the issuer's JWKS, or a fixed set in tests)."""

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        """The key the token's `kid` names; PyJWKClientError if there is none, IssuerUnavailable
        if the key set cannot be had."""
        ...


@dataclass
class IssuerKeys:
    """The issuer's signing keys, by key id, from its JWKS document."""

    jwks: CachedIssuerDocument
    refetch_cooldown_seconds: float = JWKS_REFETCH_COOLDOWN_SECONDS
    _parsed_from: dict[str, Any] | None = field(default=None, init=False)
    _parsed: dict[str, jwt.PyJWK] = field(default_factory=dict, init=False)

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str):
            raise jwt.PyJWKClientError("the token names no key id")
        keys = self._keys(self.jwks.get())
        if kid not in keys:
            keys = self._keys(self.jwks.get(max_age_seconds=self.refetch_cooldown_seconds))
        if kid not in keys:
            raise jwt.PyJWKClientError(f"the issuer has no key {kid!r}")
        return keys[kid]

    def _keys(self, document: dict[str, Any]) -> dict[str, jwt.PyJWK]:
        if document is not self._parsed_from:
            listed = document.get("keys")
            self._parsed = dict(_signing_keys(listed if isinstance(listed, list) else []))
            self._parsed_from = document
        return self._parsed


def _signing_keys(listed: list[Any]) -> list[tuple[str, jwt.PyJWK]]:
    keys = []
    for data in listed:
        if not isinstance(data, dict) or data.get("use", "sig") != "sig" or not isinstance(data.get("kid"), str):
            continue
        try:
            keys.append((data["kid"], jwt.PyJWK(data)))
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue  # a key of a kind PyJWT cannot use signs nothing we accept
    return keys


@dataclass
class JwksTokenVerifier:
    issuer: str
    audience: str
    keys: SigningKeys
    leeway_seconds: float = LEEWAY_SECONDS

    @classmethod
    def for_issuer(cls, jwks_url: str, issuer: str, audience: str) -> JwksTokenVerifier:
        return cls(issuer, audience, IssuerKeys(CachedIssuerDocument(jwks_url, fresh_seconds=JWKS_CACHE_SECONDS)))

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
        # The header's algorithm is the sender's word: a key is only ever used with its own
        # algorithm (an RSA key handed to the ES256 check makes PyJWT raise TypeError).
        if getattr(key, "algorithm_name", algorithm) != algorithm:
            raise TokenRejected(f"the key the token names is for {key.algorithm_name}, not {algorithm}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
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
        except (TypeError, ValueError):
            # A key and a signature that do not fit each other, in a way PyJWT does not name.
            raise TokenRejected("the token cannot be checked with the issuer's key") from None
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


class IssuerEndpoints:
    """Where the web page signs users in, from the issuer's OIDC discovery document.

    The API reads it (not the page) so the page needs nothing from the issuer but its sign-in
    and token endpoints.
    """

    def __init__(self, issuer: str, document: CachedIssuerDocument | None = None) -> None:
        self.issuer = issuer
        self._document = document or CachedIssuerDocument(
            f"{issuer.rstrip('/')}/.well-known/openid-configuration", fresh_seconds=DISCOVERY_CACHE_SECONDS
        )

    def endpoints(self) -> dict[str, str]:
        """`authorization_endpoint` and `token_endpoint`; IssuerUnavailable if they cannot be read."""
        document = self._document.get()
        return {name: str(document[name]) for name in ("authorization_endpoint", "token_endpoint") if name in document}
