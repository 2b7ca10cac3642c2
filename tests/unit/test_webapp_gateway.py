"""The local JWT authorizer does what API Gateway's does: RS256 signature against the issuer's keys,
issuer, audience (client_id of access tokens, aud of ID tokens), expiry, not-before; and the gateway hands
the function only verified claims (arrays as "[a b]"), never the Authorization header."""

from __future__ import annotations

import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from genomics.webapp.gateway import Gateway, JwtAuthorizer, Unauthorized, event_for, gateway_claims

ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
CLIENT = "client-1"


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})


def _authorizer(key: RSAKey) -> JwtAuthorizer:
    auth = JwtAuthorizer(issuer=ISSUER, audiences=(CLIENT,), jwks_url="http://unused.invalid/jwks.json")
    auth._keys = KeySet.import_key_set({"keys": [key.as_dict(private=False)]})
    return auth


def _token(key: RSAKey, **over: object) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "s-1", "client_id": CLIENT, "token_use": "access", "username": "alice",
              "cognito:groups": ["researcher", "steward"], "iat": now, "exp": now + 3600, **over}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, {k: v for k, v in claims.items() if v is not None}, key)


def test_gateway_authorizer_accepts_a_valid_access_token(key) -> None:
    claims = _authorizer(key).verify("Bearer " + _token(key))
    assert claims["username"] == "alice" and claims["cognito:groups"] == ["researcher", "steward"]


@pytest.mark.parametrize("over", [
    {"iss": "https://cognito-idp.us-east-1.amazonaws.com/other_pool"},
    {"client_id": "another-client"},
    {"exp": -5},  # seconds from now, resolved when the test runs (not when it is collected)
    {"exp": None},
    {"nbf": 600},
    {"token_use": "id", "client_id": None},  # an ID token without aud
])
def test_gateway_authorizer_refuses(key, over) -> None:
    now = int(time.time())
    over = {k: now + v if k in ("exp", "nbf") and v is not None else v for k, v in over.items()}
    with pytest.raises(Unauthorized):
        _authorizer(key).verify("Bearer " + _token(key, **over))


def test_gateway_authorizer_accepts_an_id_token_for_the_client(key) -> None:
    token = _token(key, token_use="id", client_id=None, aud=CLIENT)
    assert _authorizer(key).verify("Bearer " + token)["aud"] == CLIENT


def test_gateway_authorizer_refuses_another_key_and_tampering(key) -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})
    with pytest.raises(Unauthorized):
        _authorizer(key).verify("Bearer " + _token(other))
    head, payload, sig = _token(key).split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["username"] = "mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(Unauthorized):
        _authorizer(key).verify(f"Bearer {head}.{forged}.{sig}")
    for header in (None, "", "Bearer ", "Bearer not.a.jwt"):
        with pytest.raises(Unauthorized):
            _authorizer(key).verify(header)


def test_gateway_answers_401_without_calling_the_function(key) -> None:
    calls: list[dict] = []
    gw = Gateway(_authorizer(key), lambda event: calls.append(event) or {"statusCode": 200, "body": "{}"})
    status, _, body = gw.handle("GET", "/api/me", {"Authorization": "Bearer " + _token(key, exp=1)}, b"")
    assert status == 401 and json.loads(body) == {"message": "Unauthorized"} and calls == []
    status, _, _ = gw.handle("GET", "/api/nothing", {}, b"")
    assert status == 404 and calls == []
    status, _, _ = gw.handle("GET", "/", {}, b"")  # the app itself needs no token
    assert status == 200 and calls[-1]["routeKey"] == "GET /"


def test_gateway_passes_verified_claims_not_the_token(key) -> None:
    calls: list[dict] = []
    gw = Gateway(_authorizer(key), lambda event: calls.append(event) or {"statusCode": 200, "body": "{}"})
    token = _token(key)
    status, _, _ = gw.handle("POST", "/api/projects/p1/uploads?x=1", {"Authorization": "Bearer " + token,
                                                                      "Content-Type": "application/json"}, b"{}")
    event = calls[0]
    assert status == 200 and event["routeKey"] == "POST /api/projects/{project}/uploads"
    assert event["pathParameters"] == {"project": "p1"} and event["queryStringParameters"] == {"x": "1"}
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] == "[researcher steward]"
    assert token not in json.dumps(event), "the token reached the function"


def test_gateway_claims_flatten_arrays_like_api_gateway() -> None:
    assert gateway_claims({"a": ["x", "y"], "n": 5}) == {"a": "[x y]", "n": "5"}
    event = event_for("GET", "/", "", {"Authorization": "x"}, b"", "GET /", {}, None, "r")
    assert "authorization" not in event["headers"] and "authorizer" not in event["requestContext"]
