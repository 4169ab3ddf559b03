#!/usr/bin/python3
"""Identity, tokens, S3 keys and quotas through real clients: curl with CDSE's documented password
grant, python-requests, requests-oauthlib's client-credentials flow (as sentinelhub-py does), PyJWT
verifying our tokens against our JWKS, the authorization-code flow with PKCE, and the `dataspace
user` CLI against the live server's database.

    harness.py --server dataspace_test_server --env ... -- test_auth.py BIN
"""
import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
import unittest
from urllib.parse import parse_qs, urlparse

import jwt
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

URL = os.environ["DATASPACE_URL"]
DATA = os.path.join(os.environ["DATASPACE_DATA"], "var")
BIN = sys.argv[1] if len(sys.argv) > 1 else "dataspace"
REALM = URL + "/auth/realms/CDSE"
TOKEN_URL = REALM + "/protocol/openid-connect/token"
# oauthlib refuses plain http unless told that the transport is trusted (loopback here).
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


def cli(*args, stdin=None):
    r = subprocess.run([BIN, "user", *args, "--data", DATA], capture_output=True, text=True, input=stdin, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"dataspace user {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def add_user(email, password, typology="general"):
    return cli("add", "--email", email, "--password", password, "--typology", typology).strip()


def password_grant(email, password):
    return requests.post(TOKEN_URL, data={"grant_type": "password", "username": email, "password": password,
                                          "client_id": "cdse-public"})


def bearer(token):
    return {"Authorization": "Bearer " + token}


class Identity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.alice_id = add_user("alice@example.org", "alice-password")
        cls.bob_id = add_user("bob@example.org", "bob-password", "services")

    def token(self, email="alice@example.org", password="alice-password"):
        r = password_grant(email, password)
        self.assertEqual(r.status_code, 200, r.text)
        return r.json()

    def test_cli_prints_the_user_id_and_lists_users(self):
        self.assertRegex(self.alice_id, r"^[0-9a-f-]{36}$")
        listing = cli("list")
        self.assertIn("alice@example.org", listing)
        self.assertIn("services", listing)

    def test_discovery_document_and_jwks(self):
        d = requests.get(REALM + "/.well-known/openid-configuration").json()
        self.assertEqual(d["issuer"], REALM)
        self.assertEqual(d["token_endpoint"], TOKEN_URL)
        self.assertIn("password", d["grant_types_supported"])
        self.assertIn("client_credentials", d["grant_types_supported"])
        self.assertEqual(d["code_challenge_methods_supported"], ["S256"])
        self.assertEqual(requests.get(URL + "/.well-known/openid-configuration").json()["issuer"], REALM)
        keys = requests.get(d["jwks_uri"]).json()["keys"]
        self.assertTrue(keys and all(k["kty"] == "EC" and "d" not in k for k in keys))
        r = requests.get(URL + "/auth/realms/NOPE/.well-known/openid-configuration")
        self.assertEqual(r.status_code, 404)
        self.assertEqual(r.json()["error"], "Realm does not exist")

    def test_curl_password_grant_as_cdse_documents_it(self):
        out = subprocess.run(
            ["curl", "-s", "--location", "--request", "POST", TOKEN_URL,
             "--header", "Content-Type: application/x-www-form-urlencoded",
             "--data-urlencode", "grant_type=password",
             "--data-urlencode", "username=alice@example.org",
             "--data-urlencode", "password=alice-password",
             "--data-urlencode", "client_id=cdse-public"], capture_output=True, text=True, check=True).stdout
        t = json.loads(out)
        self.assertEqual(t["token_type"], "Bearer")
        self.assertEqual(t["expires_in"], 600)
        self.assertEqual(t["refresh_expires_in"], 3600)
        me = subprocess.run(["curl", "-s", "-H", "Authorization: Bearer " + t["access_token"], URL + "/me"],
                            capture_output=True, text=True, check=True).stdout
        self.assertEqual(json.loads(me)["email"], "alice@example.org")

    def test_tokens_verify_with_pyjwt_against_our_jwks(self):
        t = self.token()
        jwks = requests.get(REALM + "/protocol/openid-connect/certs").json()
        kid = jwt.get_unverified_header(t["access_token"])["kid"]
        key = next(k for k in jwks["keys"] if k["kid"] == kid)
        claims = jwt.decode(t["access_token"], jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(key)),
                            algorithms=["ES256"], audience="CLOUDFERRO_PUBLIC", issuer=REALM)
        self.assertEqual(claims["sub"], self.alice_id)
        self.assertEqual(claims["azp"], "cdse-public")
        self.assertIn("copernicus-general", claims["realm_access"]["roles"])
        id_claims = jwt.decode(t["id_token"], jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(key)),
                               algorithms=["ES256"], audience="cdse-public")
        self.assertEqual(id_claims["email"], "alice@example.org")

    def test_wrong_password_is_401_invalid_grant(self):
        r = password_grant("alice@example.org", "wrong")
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.json()["error"], "invalid_grant")
        r = password_grant("nobody@example.org", "whatever")
        self.assertEqual(r.status_code, 401)
        r = requests.post(TOKEN_URL, data={"grant_type": "magic", "client_id": "cdse-public"})
        self.assertEqual((r.status_code, r.json()["error"]), (400, "unsupported_grant_type"))
        r = requests.post(TOKEN_URL, json={"grant_type": "password"})
        self.assertEqual((r.status_code, r.json()["error"]), (400, "invalid_request"))

    def test_disabled_user_cannot_log_in(self):
        add_user("carol@example.org", "carol-password")
        self.token("carol@example.org", "carol-password")
        cli("disable", "--email", "carol@example.org")
        r = password_grant("carol@example.org", "carol-password")
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json(), {"error": "invalid_grant", "error_description": "Account disabled"})
        cli("enable", "--email", "carol@example.org")
        self.token("carol@example.org", "carol-password")

    def test_refresh_and_logout(self):
        t = self.token()
        r = requests.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": t["refresh_token"],
                                           "client_id": "cdse-public"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertNotEqual(r.json()["access_token"], t["access_token"])
        self.assertEqual(requests.get(URL + "/me", headers=bearer(r.json()["access_token"])).status_code, 200)
        r = requests.post(REALM + "/protocol/openid-connect/logout",
                          data={"client_id": "cdse-public", "refresh_token": t["refresh_token"]})
        self.assertEqual(r.status_code, 204)
        r = requests.post(TOKEN_URL, data={"grant_type": "refresh_token", "refresh_token": t["refresh_token"],
                                           "client_id": "cdse-public"})
        self.assertEqual((r.status_code, r.json()["error"]), (400, "invalid_grant"))

    def test_protected_route_needs_a_valid_token_header_or_query(self):
        r = requests.get(URL + "/me")
        self.assertEqual(r.status_code, 401)
        self.assertTrue(r.headers["WWW-Authenticate"].startswith("Bearer"))
        t = self.token()["access_token"]
        self.assertEqual(requests.get(URL + "/me", params={"token": t}).json()["id"], self.alice_id)
        r = requests.get(REALM + "/protocol/openid-connect/userinfo", headers=bearer(t))
        self.assertEqual(r.json()["email"], "alice@example.org")
        self.assertEqual(requests.get(REALM + "/protocol/openid-connect/userinfo").status_code, 401)
        # Anonymous routes stay open, with or without a (bad) token.
        self.assertEqual(requests.get(URL + "/health", headers=bearer("garbage")).status_code, 200)

    def forge(self, claims, key_pem=None, kid=None, alg="ES256"):
        ring = json.load(open(os.path.join(DATA, "keys", "jwt-signing.json")))
        active = [k for k in ring["keys"] if not k["retired"]][-1]
        if alg == "none":
            head = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": active["kid"]}).encode()).rstrip(b"=")
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
            return (head + b"." + body + b".").decode()
        return jwt.encode(claims, key_pem or active["pem"], algorithm=alg, headers={"kid": kid or active["kid"]})

    def test_expired_tampered_wrong_key_and_alg_none_tokens_are_rejected(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        now = int(time.time())
        base = {"sub": self.alice_id, "typ": "Bearer", "azp": "cdse-public", "user_typology": "general",
                "iss": REALM, "exp": now + 300}
        good = self.forge(base)  # signed with the server's own key: accepted (sanity check of forge)
        self.assertEqual(requests.get(URL + "/me", headers=bearer(good)).status_code, 200)
        expired = self.forge(dict(base, exp=now - 5))
        r = requests.get(URL + "/me", headers=bearer(expired))
        self.assertEqual(r.status_code, 401)
        self.assertIn("expired", r.headers["WWW-Authenticate"])
        other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        self.assertEqual(requests.get(URL + "/me", headers=bearer(self.forge(base, key_pem=other))).status_code, 401)
        self.assertEqual(requests.get(URL + "/me", headers=bearer(self.forge(base, alg="none"))).status_code, 401)
        t = self.token()["access_token"]
        head, body, sig = t.split(".")
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        claims["user_typology"] = "admin"
        forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        r = requests.get(URL + "/me", headers=bearer(".".join([head, forged_body, sig])))
        self.assertEqual(r.status_code, 401)
        self.assertIn("invalid signature", r.headers["WWW-Authenticate"])

    def test_key_rotation_keeps_old_tokens_valid(self):
        # The server runs with auth.key_rotation=2s: the next token after 2 s is signed by a new key.
        old = self.token()["access_token"]
        time.sleep(2.2)
        new = self.token()["access_token"]
        old_kid, new_kid = (jwt.get_unverified_header(t)["kid"] for t in (old, new))
        self.assertNotEqual(old_kid, new_kid)
        kids = {k["kid"] for k in requests.get(REALM + "/protocol/openid-connect/certs").json()["keys"]}
        self.assertTrue({old_kid, new_kid} <= kids)
        for t in (old, new):
            self.assertEqual(requests.get(URL + "/me", headers=bearer(t)).status_code, 200)

    def test_client_credentials_as_sentinelhub_py_does(self):
        t = self.token()["access_token"]
        r = requests.post(URL + "/me/clients", json={"name": "sh script"}, headers=bearer(t))
        self.assertEqual(r.status_code, 201, r.text)
        client_id, client_secret = r.json()["client_id"], r.json()["client_secret"]
        self.assertTrue(client_id.startswith("sh-"))
        listed = requests.get(URL + "/me/clients", headers=bearer(t)).json()["clients"]
        self.assertIn(client_id, [c["client_id"] for c in listed])
        self.assertTrue(all("client_secret" not in c for c in listed))
        oauth = OAuth2Session(client=BackendApplicationClient(client_id=client_id))
        token = oauth.fetch_token(token_url=TOKEN_URL, client_secret=client_secret, include_client_id=True)
        self.assertGreater(token["expires_at"], time.time())
        r = oauth.post(URL + "/api/v1/_test/process", json={})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.json(), {"user": self.alice_id, "client_id": client_id})
        # client_secret_basic (requests-oauthlib's default) works too; a wrong secret does not.
        oauth2 = OAuth2Session(client=BackendApplicationClient(client_id=client_id))
        oauth2.fetch_token(token_url=TOKEN_URL, client_id=client_id, client_secret=client_secret)
        r = requests.post(TOKEN_URL, data={"grant_type": "client_credentials", "client_id": client_id,
                                           "client_secret": "wrong"})
        self.assertEqual((r.status_code, r.json()["error"]), (401, "invalid_client"))
        self.assertEqual(requests.post(URL + "/api/v1/_test/process", json={}).status_code, 401)

    def test_one_user_cannot_see_or_delete_anothers_clients_and_keys(self):
        ta = self.token()["access_token"]
        tb = self.token("bob@example.org", "bob-password")["access_token"]
        client = requests.post(URL + "/me/clients", json={"name": "a"}, headers=bearer(ta)).json()["client_id"]
        key = requests.post(URL + "/me/s3-keys", json={"description": "a"}, headers=bearer(ta)).json()["access_id"]
        self.assertNotIn(client, json.dumps(requests.get(URL + "/me/clients", headers=bearer(tb)).json()))
        self.assertNotIn(key, json.dumps(requests.get(URL + "/me/s3-keys", headers=bearer(tb)).json()))
        self.assertEqual(requests.delete(URL + "/me/clients/" + client, headers=bearer(tb)).status_code, 404)
        self.assertEqual(requests.delete(URL + "/api/user/credentials/access_id/" + key, headers=bearer(tb)).status_code,
                         404)
        self.assertEqual(requests.delete(URL + "/me/s3-keys/" + key, headers=bearer(ta)).status_code, 204)
        self.assertEqual(requests.delete(URL + "/me/clients/" + client, headers=bearer(ta)).status_code, 204)

    def test_s3_keys_cloudferro_paths_secret_once_and_limit(self):
        add_user("dave@example.org", "dave-password")
        t = self.token("dave@example.org", "dave-password")["access_token"]
        made = []
        for i in range(5):
            r = requests.post(URL + "/api/user/credentials", headers=bearer(t))
            self.assertEqual(r.status_code, 201, r.text)
            self.assertRegex(r.json()["access_id"], r"^[A-Z0-9]{20}$")
            self.assertGreaterEqual(len(r.json()["secret"]), 40)
            made.append(r.json())
        r = requests.post(URL + "/api/user/credentials", headers=bearer(t))
        self.assertEqual(r.status_code, 409)
        listed = requests.get(URL + "/api/user/credentials", headers=bearer(t)).json()["keys"]
        self.assertEqual(len(listed), 5)
        self.assertNotIn(made[0]["secret"], json.dumps(listed))
        r = requests.delete(URL + "/api/user/credentials/access_id/" + made[0]["access_id"], headers=bearer(t))
        self.assertEqual(r.status_code, 204)
        self.assertEqual(requests.post(URL + "/api/user/credentials", headers=bearer(t)).status_code, 201)
        out = cli("s3key", "add", "--email", "bob@example.org", "--days", "30")
        self.assertRegex(out, r"aws_access_key_id=[A-Z0-9]{20}\naws_secret_access_key=\S{40}")

    def test_secrets_never_reach_the_database_or_logs_in_clear(self):
        add_user("erin@example.org", "erin-UNIQUE-password-42")
        t = self.token("erin@example.org", "erin-UNIQUE-password-42")["access_token"]
        key = requests.post(URL + "/me/s3-keys", headers=bearer(t)).json()
        client = requests.post(URL + "/me/clients", headers=bearer(t)).json()
        time.sleep(1.2)  # the access log is written in batches within a second
        blobs = b""
        for name in os.listdir(DATA):
            if name.startswith("catalogue.db"):
                blobs += open(os.path.join(DATA, name), "rb").read()
        blobs += open(os.environ["DATASPACE_ACCESS_LOG"], "rb").read()
        for secret in ("erin-UNIQUE-password-42", key["secret"], client["client_secret"]):
            self.assertNotIn(secret.encode(), blobs)

    def test_registration(self):
        r = requests.post(URL + "/auth/register", json={"email": "Frank@Example.org", "password": "frank-password"})
        self.assertEqual(r.status_code, 201, r.text)
        self.assertEqual(r.json()["typology"], "general")
        self.token("frank@example.org", "frank-password")
        r = requests.post(URL + "/auth/register", json={"email": "frank@example.org", "password": "frank-password"})
        self.assertEqual(r.status_code, 409)
        r = requests.post(URL + "/auth/register", json={"email": "x", "password": "frank-password"})
        self.assertEqual((r.status_code, r.json()["parameter"]), (400, "email"))
        self.assertEqual(requests.post(URL + "/auth/register", data="{").status_code, 400)

    def test_authorization_code_flow_with_pkce(self):
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        redirect = "http://localhost:9999/callback"
        params = {"response_type": "code", "client_id": "cdse-public", "redirect_uri": redirect, "scope": "openid",
                  "state": "st-1", "nonce": "n-1", "code_challenge": challenge, "code_challenge_method": "S256"}
        auth = REALM + "/protocol/openid-connect/auth"
        page = requests.get(auth, params=params)
        self.assertEqual(page.status_code, 200)
        self.assertIn("<form", page.text)
        bad = requests.post(auth, data=dict(params, username="alice@example.org", password="nope"),
                            allow_redirects=False)
        self.assertEqual(bad.status_code, 401)
        r = requests.post(auth, data=dict(params, username="alice@example.org", password="alice-password"),
                          allow_redirects=False)
        self.assertEqual(r.status_code, 302, r.text)
        loc = urlparse(r.headers["Location"])
        self.assertEqual(f"{loc.scheme}://{loc.netloc}{loc.path}", redirect)
        q = parse_qs(loc.query)
        self.assertEqual(q["state"], ["st-1"])
        exchange = {"grant_type": "authorization_code", "code": q["code"][0], "redirect_uri": redirect,
                    "client_id": "cdse-public", "code_verifier": verifier}
        t = requests.post(TOKEN_URL, data=exchange)
        self.assertEqual(t.status_code, 200, t.text)
        self.assertEqual(requests.get(URL + "/me", headers=bearer(t.json()["access_token"])).status_code, 200)
        self.assertEqual(requests.post(TOKEN_URL, data=exchange).status_code, 400)  # single use
        evil = requests.get(auth, params=dict(params, redirect_uri="https://evil.example/cb"), allow_redirects=False)
        self.assertEqual(evil.status_code, 400)

    def test_sentinelhub_path_429_retry_after_in_ms_then_success(self):
        # processing_per_minute=60 for general users in this server: one token per second.
        add_user("gina@example.org", "gina-password")
        t = self.token("gina@example.org", "gina-password")["access_token"]
        s = requests.Session()
        s.headers.update(bearer(t))
        last = None
        for _ in range(80):
            last = s.post(URL + "/api/v1/_test/process", json={})
            if last.status_code == 429:
                break
            self.assertEqual(last.headers["X-RateLimit-Limit"], "60")
        self.assertEqual(last.status_code, 429)
        retry_ms = int(last.headers["Retry-After"])
        self.assertTrue(0 < retry_ms <= 1500, retry_ms)  # milliseconds, as sentinelhub-py expects
        self.assertEqual(last.headers["X-RateLimit-Remaining"], "0")
        time.sleep(retry_ms / 1000 + 0.05)
        self.assertEqual(s.post(URL + "/api/v1/_test/process", json={}).status_code, 200)

    def test_other_paths_429_retry_after_in_seconds_then_success_and_quotas_report(self):
        add_user("hank@example.org", "hank-password")
        t = self.token("hank@example.org", "hank-password")["access_token"]
        s = requests.Session()
        s.headers.update(bearer(t))
        last = None
        for _ in range(80):
            last = s.get(URL + "/me")
            if last.status_code == 429:
                break
        self.assertEqual(last.status_code, 429)
        self.assertEqual(last.headers["Content-Type"], "application/problem+json")
        self.assertEqual(last.json()["status"], 429)
        retry_s = int(last.headers["Retry-After"])
        self.assertEqual(retry_s, 1)
        time.sleep(retry_s + 0.05)
        q = s.get(URL + "/me/quotas")
        self.assertEqual(q.status_code, 200)
        body = q.json()
        self.assertEqual(body["typology"], "general")
        self.assertEqual(body["limits"]["pu_per_month"], 10000)
        self.assertGreaterEqual(body["usage"]["requests.account"], 60)
        self.assertRegex(body["period"], r"^\d{4}-\d{2}$")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
