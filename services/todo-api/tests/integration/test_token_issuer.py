"""The verifier against a real issuer over HTTP (the test issuer of tests/support): what a
stream of hostile tokens costs the issuer."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.support.oidc_issuer import IssuerUser, OidcIssuer, new_signing_key
from todo_api.adapters.identity import JwksTokenVerifier, TokenRejected

USER = IssuerUser("user-a", "a@example.com")


@pytest.fixture
def issuer():
    issuer = OidcIssuer().start()
    yield issuer
    issuer.stop()


def test_tokens_naming_made_up_keys_do_not_make_the_api_fetch_the_issuers_keys_again(issuer):
    verifier = JwksTokenVerifier.for_issuer(issuer.jwks_url, issuer.url, issuer.audience)
    assert verifier.verify(issuer.token(USER)).subject == "user-a"
    assert issuer.jwks_fetches == 1

    stranger = new_signing_key()
    now = int(time.time())
    for n in range(50):
        claims = {"iss": issuer.url, "aud": issuer.audience, "sub": "mallory", "iat": now, "exp": now + 60}
        forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": f"made-up-{n}"})
        with pytest.raises(TokenRejected):
            verifier.verify(forged)

    assert issuer.jwks_fetches == 1
    assert verifier.verify(issuer.token(USER)).subject == "user-a"
