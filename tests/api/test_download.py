#!/usr/bin/python3
"""Downloads through real clients: python-requests, curl (resume with -C -), unzip -t, Python's
zipfile, GDAL's /vsicurl/ on a node URL; offline products and orders; per-user limits.

    harness.py --server dataspace --env ... -- test_download.py BIN

Makes its own small archive (dataspace synth + ingest) in the running server's data directory,
since orders write into it.
"""
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import zipfile

import requests

URL = os.environ["DATASPACE_URL"]
DATA = os.path.join(os.environ["DATASPACE_DATA"], "var")
BIN = sys.argv[1] if len(sys.argv) > 1 else "dataspace"
ODATA = URL + "/odata/v1"
TOKEN_URL = URL + "/auth/realms/CDSE/protocol/openid-connect/token"


def run(*args):
    r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"dataspace {' '.join(args)} failed: {r.stdout}{r.stderr}")
    return r.stdout


def token(email, password, typology="general"):
    run("user", "add", "--data", DATA, "--email", email, "--password", password, "--typology", typology)
    r = requests.post(TOKEN_URL, data={"grant_type": "password", "username": email, "password": password,
                                       "client_id": "cdse-public"})
    r.raise_for_status()
    return r.json()["access_token"]


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def zipper_error(test, r, status, code):
    test.assertEqual(r.status_code, status, r.text)
    body = r.json()
    test.assertEqual(set(body), {"trace-id", "code", "message"}, body)
    test.assertEqual(body["code"], code, body)
    return body


class Download(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        run("synth", "--data", DATA, "--from", "2022-06-17", "--to", "2022-06-17", "--missions", "s2,s1",
            "--scale", "10")
        run("ingest", "--data", DATA)
        cls.alice = token("alice@example.org", "alice-password")
        cls.bob = token("bob@example.org", "bob-password")
        # Services users get one connection at 200 kB/s (DATASPACE_QUOTA_LIMITS in tests/CMakeLists.txt).
        cls.slow = token("slow@example.org", "slow-password", "services")
        products = requests.get(ODATA + "/Products", params={"$top": 100}).json()["value"]
        by_name = {p["Name"]: p for p in products}
        cls.l2a = next(p for n, p in by_name.items() if "MSIL2A" in n and n.endswith(".SAFE") and "_COG" not in n)
        cls.l1c = next(p for n, p in by_name.items() if "MSIL1C" in n)
        cls.cog = next(p for n, p in by_name.items() if n.endswith("_COG.SAFE"))
        cls.url = f"{ODATA}/Products({cls.l2a['Id']})/$value"
        r = requests.get(cls.url, headers=bearer(cls.alice))
        assert r.status_code == 200, r.text
        cls.zip_bytes = r.content
        cls.zip_headers = r.headers

    # ---- the whole product ----------------------------------------------------------------------

    def test_zip_is_valid_and_matches_checksums(self):
        h = self.zip_headers
        self.assertEqual(int(h["Content-Length"]), len(self.zip_bytes))
        self.assertEqual(h["Content-Type"], "application/zip")
        self.assertEqual(h["Content-Disposition"], f'attachment; filename="{self.l2a["Name"]}.zip"')
        self.assertTrue(h["ETag"].startswith('"'), h["ETag"])  # strong
        self.assertEqual(h["Accept-Ranges"], "bytes")
        z = zipfile.ZipFile(io.BytesIO(self.zip_bytes))
        self.assertIsNone(z.testzip())
        names = z.namelist()
        self.assertEqual(names, sorted(names))
        top = self.l2a["S3Path"].rsplit("/", 1)[1]
        self.assertTrue(all(n.startswith(top + "/") for n in names))
        self.assertTrue(all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist()))
        sidecar = os.path.join(DATA, "objects", self.l2a["S3Path"].lstrip("/") + ".checksums.json")
        with open(sidecar) as f:
            files = json.load(f)["files"]
        self.assertEqual(len(files), len(names))
        for entry in files:
            data = z.read(top + "/" + entry["path"])
            self.assertEqual(len(data), entry["size"], entry["path"])
            self.assertEqual(hashlib.md5(data).hexdigest(), entry["md5"], entry["path"])
        with tempfile.NamedTemporaryFile(suffix=".zip") as f:
            f.write(self.zip_bytes)
            f.flush()
            out = subprocess.run(["unzip", "-t", f.name], capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertIn("No errors detected", out.stdout)

    def test_zip_is_deterministic_and_zip_alias(self):
        again = requests.get(f"{ODATA}/Products({self.l2a['Id']})/$zip", headers=bearer(self.alice))
        self.assertEqual(again.status_code, 200)
        self.assertEqual(hashlib.sha256(again.content).digest(), hashlib.sha256(self.zip_bytes).digest())
        self.assertEqual(again.headers["ETag"], self.zip_headers["ETag"])

    def test_curl_resumes_an_interrupted_download(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "p.zip")
            cut = len(self.zip_bytes) // 3 + 12345
            with open(out, "wb") as f:  # an interrupted download: the first part only
                f.write(self.zip_bytes[:cut])
            r = subprocess.run(["curl", "-sS", "-f", "-C", "-", "-o", out, self.url + "?token=" + self.alice],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), self.zip_bytes)
            self.assertEqual(subprocess.run(["unzip", "-tq", out], capture_output=True).returncode, 0)

    def test_ranges_multipart_416_and_conditional(self):
        n = len(self.zip_bytes)
        r = requests.get(self.url, headers={**bearer(self.alice), "Range": f"bytes={n - 100}-"})
        self.assertEqual(r.status_code, 206)
        self.assertEqual(r.content, self.zip_bytes[-100:])
        self.assertEqual(r.headers["Content-Range"], f"bytes {n - 100}-{n - 1}/{n}")
        r = requests.get(self.url, headers={**bearer(self.alice), "Range": "bytes=0-9,5000-5999"})
        self.assertEqual(r.status_code, 206)
        m = re.match(r"multipart/byteranges; boundary=(\S+)", r.headers["Content-Type"])
        self.assertIsNotNone(m, r.headers["Content-Type"])
        parts = [p for p in r.content.split(b"--" + m.group(1).encode()) if b"Content-Range" in p]
        self.assertEqual(len(parts), 2)
        self.assertTrue(parts[0].split(b"\r\n\r\n", 1)[1].startswith(self.zip_bytes[0:10]))
        self.assertTrue(parts[1].split(b"\r\n\r\n", 1)[1].startswith(self.zip_bytes[5000:6000]))
        r = requests.get(self.url, headers={**bearer(self.alice), "Range": f"bytes={n + 10}-"})
        self.assertEqual(r.status_code, 416)
        self.assertEqual(r.headers["Content-Range"], f"bytes */{n}")
        r = requests.get(self.url, headers={**bearer(self.alice), "If-None-Match": self.zip_headers["ETag"]})
        self.assertEqual(r.status_code, 304)
        r = requests.get(self.url, headers={**bearer(self.alice), "Range": "bytes=0-9", "If-Range": '"other"'})
        self.assertEqual(r.status_code, 200)

    # ---- authentication and bad input -----------------------------------------------------------

    def test_token_required_and_query_token(self):
        zipper_error(self, requests.get(self.url), 401, "DAT-ZIP-604")
        zipper_error(self, requests.get(self.url, headers=bearer("not-a-jwt")), 401, "DAT-ZIP-604")
        r = requests.get(self.url, params={"token": self.alice}, headers={"Range": "bytes=0-3"})
        self.assertEqual(r.status_code, 206)
        self.assertEqual(r.content, b"PK\x03\x04")

    def test_bad_input(self):
        zipper_error(self, requests.get(ODATA + "/Products(not-a-uuid)/$value", headers=bearer(self.alice)), 422,
                     "DAT-ZIP-111")
        zipper_error(self, requests.get(ODATA + "/Products(00000000-0000-0000-0000-000000000000)/$value",
                                        headers=bearer(self.alice)), 404, "DAT-ZIP-404")
        base = f"{ODATA}/Products({self.l2a['Id']})"
        name = self.l2a["Name"]
        zipper_error(self, requests.get(f"{base}/Nodes('{name}')/Nodes"), 400, "DAT-ZIP-104")
        zipper_error(self, requests.get(f"{base}/Nodes({name})/Nodes(..)/Nodes(..)/$value",
                                        headers=bearer(self.alice)), 400, "DAT-ZIP-104")
        zipper_error(self, requests.get(f"{base}/Nodes({name})/Nodes(%2E%2E)/Nodes", headers=bearer(self.alice)),
                     400, "DAT-ZIP-104")
        zipper_error(self, requests.get(f"{base}/Nodes({name})/Nodes(GRANULE%2F..%2F..)/Nodes"), 400, "DAT-ZIP-104")
        zipper_error(self, requests.get(f"{base}/Nodes(other.SAFE)/Nodes"), 404, "DAT-ZIP-404")
        zipper_error(self, requests.get(f"{base}/Nodes({name})/Nodes(nothing-here)/Nodes"), 404, "DAT-ZIP-404")
        self.assertEqual(requests.get(URL + "/health").status_code, 200)

    # ---- nodes ----------------------------------------------------------------------------------

    def test_nodes_listing_and_file_value(self):
        base = f"{ODATA}/Products({self.l2a['Id']})"
        root = requests.get(base + "/Nodes")  # anonymous
        self.assertEqual(root.status_code, 200)
        result = root.json()["result"]
        self.assertEqual(len(result), 1)
        node = result[0]
        self.assertEqual(set(node), {"Id", "Name", "ContentLength", "ChildrenNumber", "Nodes"})
        self.assertEqual(node["Name"], self.l2a["Name"])
        self.assertEqual(node["ContentLength"], 0)
        self.assertGreater(node["ChildrenNumber"], 0)
        # Walk down to the first file, following the uris.
        z = zipfile.ZipFile(io.BytesIO(self.zip_bytes))
        uri = node["Nodes"]["uri"]
        path = []
        while True:
            children = requests.get(uri).json()["result"]
            self.assertGreater(len(children), 0)
            names = [c["Name"] for c in children]
            self.assertEqual(names, sorted(names))
            child = children[0]
            path.append(child["Name"])
            if child["ChildrenNumber"] == 0 and child["ContentLength"] > 0:
                break
            uri = child["Nodes"]["uri"]
        top = self.l2a["S3Path"].rsplit("/", 1)[1]
        data = z.read(top + "/" + "/".join(path))
        self.assertEqual(child["ContentLength"], len(data))
        # Listing a file gives an empty list.
        self.assertEqual(requests.get(child["Nodes"]["uri"]).json(), {"result": []})
        value = child["Nodes"]["uri"][: -len("/Nodes")] + "/$value"
        zipper_error(self, requests.get(value), 401, "DAT-ZIP-604")
        r = requests.get(value, headers=bearer(self.alice))
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, data)
        r = requests.get(value, headers={**bearer(self.alice), "Range": "bytes=10-29"})
        self.assertEqual(r.status_code, 206)
        self.assertEqual(r.content, data[10:30])
        r = requests.get(value, headers={**bearer(self.alice), "If-None-Match": r.headers["ETag"]})
        self.assertEqual(r.status_code, 304)

    def test_gdal_vsicurl_on_a_node_url(self):
        base = f"{ODATA}/Products({self.cog['Id']})"
        uri = requests.get(base + "/Nodes").json()["result"][0]["Nodes"]["uri"]
        tif = None
        stack = [uri]
        while stack and not tif:
            for c in requests.get(stack.pop()).json()["result"]:
                if c["ChildrenNumber"] > 0:
                    stack.append(c["Nodes"]["uri"])
                elif c["Name"].endswith(".tif"):
                    tif = c
                    break
        self.assertIsNotNone(tif, "no GeoTIFF in the COG product")
        url = tif["Nodes"]["uri"][: -len("/Nodes")] + "/$value?token=" + self.alice
        env = dict(os.environ, GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR")
        r = subprocess.run(["gdalinfo", "/vsicurl/" + url], capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Driver: GTiff", r.stdout)
        self.assertIn("Size is", r.stdout)
        # The same with the token in a header instead of the URL.
        env["GDAL_HTTP_HEADERS"] = "Authorization: Bearer " + self.alice
        r = subprocess.run(["gdalinfo", "-stats", "/vsicurl/" + url.split("?")[0]], capture_output=True, text=True,
                           timeout=60, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("STATISTICS_MEAN", r.stdout)

    def test_many_concurrent_downloads(self):
        import concurrent.futures
        import random
        admin = token("admin@example.org", "admin-password", "admin")  # no connection limit
        n = len(self.zip_bytes)
        rng = random.Random(7)
        spans = [(o, min(n, o + (1 << 20)) - 1) for o in (rng.randrange(0, n) for _ in range(64))]

        def fetch(span):
            with requests.get(self.url, headers={**bearer(admin), "Range": f"bytes={span[0]}-{span[1]}"}) as r:
                return r.status_code, r.content

        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            results = list(pool.map(fetch, spans))
        for (first, last), (status, body) in zip(spans, results):
            self.assertEqual(status, 206)
            self.assertEqual(body, self.zip_bytes[first:last + 1])

    # ---- limits ---------------------------------------------------------------------------------

    def test_limits_headers_throttle_and_concurrency(self):
        h = self.zip_headers
        self.assertEqual(h["X-Download-Connections-Limit"], "4")
        self.assertEqual(h["X-Download-Bandwidth"], str(20 * 1000 * 1000))
        self.assertIn("X-Download-Volume-Limit", h)
        # Throttled: 400 kB at 200 kB/s takes about 2 s.
        started = time.time()
        r = requests.get(self.url, headers={**bearer(self.slow), "Range": "bytes=0-399999"})
        elapsed = time.time() - started
        self.assertEqual(r.status_code, 206)
        self.assertEqual(r.content, self.zip_bytes[:400000])
        self.assertEqual(r.headers["X-Download-Bandwidth"], "200000")
        self.assertGreater(elapsed, 1.5)
        # One connection: a second concurrent download is refused.
        first = requests.get(self.url, headers=bearer(self.slow), stream=True)
        self.assertEqual(first.status_code, 200)
        try:
            second = requests.get(self.url, headers=bearer(self.slow))
            body = zipper_error(self, second, 429, "DAT-ZIP-100")
            self.assertIn("Max session number exceeded", body["message"])
            self.assertIn("Retry-After", second.headers)
        finally:
            first.close()
        for _ in range(50):  # the slot is released once the server notices the closed connection
            r = requests.get(self.url, headers={**bearer(self.slow), "Range": "bytes=0-9"})
            if r.status_code == 206:
                break
            time.sleep(0.1)
        self.assertEqual(r.status_code, 206)

    def test_spent_monthly_volume_degrades_to_one_slow_connection(self):
        # Collaborative users have a 5000-byte month here (DATASPACE_QUOTA_LIMITS in tests/CMakeLists.txt).
        tiny = token("tiny@example.org", "tiny-password", "collaborative")
        r = requests.get(self.url, headers={**bearer(tiny), "Range": "bytes=0-5999"})
        self.assertEqual(r.status_code, 206)
        self.assertEqual(r.headers["X-Download-Bandwidth"], str(20 * 1000 * 1000))
        self.assertNotIn("X-Download-Degraded", r.headers)
        # 6000 bytes > 5000: the volume is spent. Downloads go on, at 1 MiB/s on one connection.
        n = min(len(self.zip_bytes), 2_200_000)
        started = time.time()
        first = requests.get(self.url, headers={**bearer(tiny), "Range": f"bytes=0-{n - 1}"}, stream=True)
        try:
            self.assertEqual(first.status_code, 206)
            self.assertEqual(first.headers["X-Download-Bandwidth"], "1048576")
            self.assertEqual(first.headers["X-Download-Connections-Limit"], "1")
            self.assertIn("X-Download-Degraded", first.headers)
            quotas = requests.get(URL + "/me/quotas", headers=bearer(tiny)).json()
            self.assertEqual(quotas["downloads"], {"degraded": True, "bandwidth": 1048576, "connections": 1, "open": 1})
            second = requests.get(self.url, headers={**bearer(tiny), "Range": "bytes=0-9"})
            body = zipper_error(self, second, 429, "DAT-ZIP-100")
            self.assertIn("Max session number exceeded (1 concurrent downloads)", body["message"])
            self.assertIn("Retry-After", second.headers)
            data = first.content
        finally:
            first.close()
        elapsed = time.time() - started
        self.assertEqual(data, self.zip_bytes[:n])
        self.assertGreater(elapsed, 0.8 * n / 1048576)
        # The slot is free again once the body is sent.
        for _ in range(50):
            r = requests.get(self.url, headers={**bearer(tiny), "Range": "bytes=0-9"})
            if r.status_code == 206:
                break
            time.sleep(0.1)
        self.assertEqual(r.status_code, 206)
        self.assertEqual(r.headers["X-Download-Bandwidth"], "1048576")

    def test_downloads_are_counted(self):
        requests.get(self.url, headers={**bearer(self.bob), "Range": "bytes=0-999"})
        deadline = time.time() + 10
        used = 0
        while time.time() < deadline:
            used = requests.get(URL + "/me/quotas", headers=bearer(self.bob)).json()["usage"].get("download_bytes", 0)
            if used >= 1000:
                break
            time.sleep(0.3)
        self.assertGreaterEqual(used, 1000)
        quotas = requests.get(URL + "/me/quotas", headers=bearer(self.bob)).json()
        self.assertEqual(quotas["downloads"], {"degraded": False, "bandwidth": 20 * 1000 * 1000, "connections": 4,
                                               "open": 0})
        found = False
        while not found and time.time() < deadline + 5:  # the access log is flushed every second
            with open(os.environ["DATASPACE_ACCESS_LOG"]) as f:
                lines = [json.loads(line) for line in f if '"download_bytes"' in line]
            found = any(x.get("product") == self.l2a["Id"] and x["download_bytes"] == 1000 for x in lines)
            time.sleep(0.3)
        self.assertTrue(found)
        # Tokens given as ?token= (test_curl_resumes_… ran before) never reach the access log.
        with open(os.environ["DATASPACE_ACCESS_LOG"]) as f:
            text = f.read()
        self.assertIn("token=REDACTED", text)
        self.assertNotIn(self.alice, text)

    # ---- offline products and orders ------------------------------------------------------------

    def test_offline_product_order(self):
        p = self.l1c
        url = f"{ODATA}/Products({p['Id']})/$value"
        run("offline", "--data", DATA, p["Name"])
        self.assertFalse(requests.get(f"{ODATA}/Products({p['Id']})").json()["Online"])
        root = requests.get(f"{ODATA}/Products({p['Id']})/Nodes").json()["result"]  # still browsable
        self.assertGreater(root[0]["ChildrenNumber"], 0)
        self.assertGreater(len(requests.get(root[0]["Nodes"]["uri"]).json()["result"]), 0)
        body = zipper_error(self, requests.get(url, headers=bearer(self.alice)), 409, "DAT-ZIP-409")
        self.assertIn("OData.CSC.Order", body["message"])
        # Ordering needs a token.
        self.assertEqual(requests.post(f"{ODATA}/Products({p['Id']})/OData.CSC.Order").status_code, 401)
        r = requests.post(f"{ODATA}/Products({p['Id']})/OData.CSC.Order", headers=bearer(self.alice))
        self.assertEqual(r.status_code, 201, r.text)
        order = r.json()
        self.assertEqual(order["@odata.context"], "$metadata#OData.CSC.Order/$entity")
        self.assertEqual(order["Status"], "queued")
        self.assertEqual(order["ProductId"], p["Id"])
        for k in ("Id", "StatusMessage", "SubmissionDate", "EstimatedDate"):
            self.assertIn(k, order)
        # Another user sees nothing of it.
        self.assertEqual(requests.get(f"{ODATA}/Orders({order['Id']})", headers=bearer(self.bob)).status_code, 404)
        self.assertEqual(requests.get(f"{ODATA}/Orders", headers=bearer(self.bob)).json()["value"], [])
        mine = requests.get(f"{ODATA}/Orders", headers=bearer(self.alice)).json()["value"]
        self.assertEqual([o["Id"] for o in mine], [order["Id"]])
        deadline = time.time() + 15
        status = order["Status"]
        while time.time() < deadline and status != "completed":
            time.sleep(0.3)
            status = requests.get(f"{ODATA}/Orders({order['Id']})", headers=bearer(self.alice)).json()["Status"]
        self.assertEqual(status, "completed")
        self.assertTrue(requests.get(f"{ODATA}/Products({p['Id']})").json()["Online"])
        r = requests.get(url, headers=bearer(self.alice))
        self.assertEqual(r.status_code, 200)
        self.assertIsNone(zipfile.ZipFile(io.BytesIO(r.content)).testzip())


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[2:], verbosity=2)
