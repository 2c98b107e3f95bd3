"""The bearer-token verifier, on a fixed key set (no issuer, no network)."""

from __future__ import annotations

import base64
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from todo_api.adapters.identity import Identity, JwksTokenVerifier, TokenRejected

ISSUER = "https://issuer.example"
AUDIENCE = "web-page-client"


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


RSA_KEY = _rsa_key()
OTHER_RSA_KEY = _rsa_key()
EC_KEY = ec.generate_private_key(ec.SECP256R1())


class FixedKeys:
    """The issuer's JWKS, by key id, as PyJWKClient would hand it out."""

    def __init__(self, **keys: object) -> None:
        self.keys = {}
        for kid, key in keys.items():
            algorithm = (
                jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
            )
            jwk = json.loads(algorithm.to_jwk(key.public_key()))
            self.keys[kid] = jwt.PyJWK({**jwk, "kid": kid})

    def get_signing_key_from_jwt(self, token: str) -> jwt.PyJWK:
        kid = jwt.get_unverified_header(token).get("kid")
        if kid not in self.keys:
            raise jwt.PyJWKClientError(f"unknown kid {kid}")
        return self.keys[kid]


@pytest.fixture
def verifier() -> JwksTokenVerifier:
    return JwksTokenVerifier(ISSUER, AUDIENCE, FixedKeys(rsa1=RSA_KEY, ec1=EC_KEY))


def token(key=RSA_KEY, kid="rsa1", algorithm="RS256", **claims) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300, **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


def test_a_valid_token_names_its_subject_and_its_verified_email(verifier):
    identity = verifier.verify(token(email="ann@example.com", email_verified=True))
    assert identity == Identity("user-1", "ann@example.com")


def test_an_unverified_email_is_not_the_users(verifier):
    assert verifier.verify(token(email="ann@example.com", email_verified=False)).email is None
    assert verifier.verify(token(email="ann@example.com")).email is None


def test_es256_tokens_are_accepted(verifier):
    assert verifier.verify(token(key=EC_KEY, kid="ec1", algorithm="ES256")).subject == "user-1"


def test_cognito_access_tokens_name_the_audience_in_client_id(verifier):
    access = token(aud=None, client_id=AUDIENCE, token_use="access")
    assert verifier.verify(access).subject == "user-1"
    with pytest.raises(TokenRejected, match="another audience"):
        verifier.verify(token(aud=None, client_id="someone-else", token_use="access"))


@pytest.mark.parametrize(
    ("bad_token", "reason"),
    [
        (lambda: token(key=OTHER_RSA_KEY), "invalid token"),
        (lambda: token(kid="unknown"), "no key of the issuer"),
        (lambda: token(iss="https://elsewhere.example"), "another issuer"),
        (lambda: token(aud="another-client"), "another audience"),
        (lambda: token(aud=None), "another audience"),
        (lambda: token(exp=int(time.time()) - 120), "expired"),
        (lambda: token(nbf=int(time.time()) + 120), "not valid yet"),
        (lambda: token(sub=None), "invalid token"),
        (lambda: token(exp=None), "invalid token"),
        (lambda: token(token_use="refresh"), "only ID and access"),
        (lambda: "not-a-jwt", "not a JWT"),
    ],
    ids=[
        "bad-signature",
        "unknown-key",
        "wrong-issuer",
        "wrong-audience",
        "no-audience",
        "expired",
        "not-yet-valid",
        "no-subject",
        "no-expiry",
        "refresh-token",
        "garbage",
    ],
)
def test_tokens_that_prove_nothing_are_rejected_with_the_reason(verifier, bad_token, reason):
    with pytest.raises(TokenRejected, match=reason):
        verifier.verify(bad_token())


def test_a_little_clock_skew_is_tolerated(verifier):
    assert verifier.verify(token(exp=int(time.time()) - 5)).subject == "user-1"


def test_unsigned_and_hmac_tokens_are_refused_before_any_key_is_looked_up(verifier):
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60}
    unsigned = jwt.encode(claims, None, "none")
    # HS256 keyed with the issuer's public key, which anyone may fetch: the classic confusion of a
    # verifier that trusts the header. PyJWT will not even make one, so it is made by hand here.
    public_pem = RSA_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = b".".join(
        _base64url(json.dumps(part).encode()) for part in ({"alg": "HS256", "kid": "rsa1"}, claims)
    )
    forged = b".".join([signing_input, _base64url(hmac.digest(public_pem, signing_input, "sha256"))]).decode()
    for bad in (unsigned, forged):
        with pytest.raises(TokenRejected, match="RS256 or ES256"):
            verifier.verify(bad)


def _base64url(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


@pytest.mark.parametrize(("algorithm", "kid"), [("ES256", "rsa1"), ("RS256", "ec1")])
def test_a_header_naming_another_algorithm_than_its_keys_is_rejected(verifier, algorithm, kid):
    header = _base64url(json.dumps({"alg": algorithm, "kid": kid, "typ": "JWT"}).encode())
    claims = _base64url(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory"}).encode())
    forged = b".".join([header, claims, _base64url(b"\x00" * 64)]).decode()
    with pytest.raises(TokenRejected, match=f"the key the token names is for .*, not {algorithm}"):
        verifier.verify(forged)


def test_a_real_es256_signature_under_an_rsa_keys_id_is_rejected(verifier):
    with pytest.raises(TokenRejected):
        verifier.verify(token(EC_KEY, kid="rsa1", algorithm="ES256"))
