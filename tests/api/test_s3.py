#!/usr/bin/python3
"""The S3 API at /s3 through real clients: boto3, awscli, s3cmd and GDAL's /vsis3/.

Run by harness.py (its own server and data directory): users and S3 keys are made with the CLI,
`eodata` gets a few files written straight into the object store.
"""
import datetime
import hashlib
import hmac
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import boto3
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

URL = os.environ["DATASPACE_URL"]
DATA = os.path.join(os.environ["DATASPACE_DATA"], "var")
BIN = sys.argv[1] if len(sys.argv) > 1 else "dataspace"
ENDPOINT = URL + "/s3"
HOSTPORT = urllib.parse.urlparse(URL).netloc
EODATA = os.path.join(DATA, "objects", "eodata")
TIF_KEY = "Sentinel-2/MSI/L2A/2022/06/17/S2A_TEST.SAFE/GRANULE/IMG_DATA/B04.tif"


def cli(*args):
    r = subprocess.run([BIN, "user", *args, "--data", DATA], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"dataspace user {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def make_user(email, typology="general"):
    cli("add", "--email", email, "--password", "a-long-password", "--typology", typology)
    out = cli("s3key", "add", "--email", email, "--days", "30")
    pairs = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return pairs["aws_access_key_id"], pairs["aws_secret_access_key"]


def client(key, secret):
    return boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id=key, aws_secret_access_key=secret,
                        region_name="default",
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def code_of(ctx):
    return ctx.exception.response["Error"]["Code"]


def signed_headers(key, secret, method, path, headers=None, payload="UNSIGNED-PAYLOAD", when=None, query=""):
    """SigV4 headers for a raw request of `path` exactly as given (no normalisation of '..')."""
    amz_date = (when or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/default/s3/aws4_request"
    h = {"Host": HOSTPORT, "x-amz-date": amz_date, "x-amz-content-sha256": payload, **(headers or {})}
    names = sorted(k.lower() for k in h)
    lowered = {k.lower(): v for k, v in h.items()}
    canonical = "\n".join([method, urllib.parse.quote(urllib.parse.unquote(path), safe="/~"), query,
                           "".join(f"{n}:{lowered[n]}\n" for n in names), ";".join(names), payload])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])

    def hm(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()

    k = hm(hm(hm(hm(("AWS4" + secret).encode(), amz_date[:8]), "default"), "s3"), "aws4_request")
    h["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={';'.join(names)}, "
                          f"Signature={hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()}")
    return h


class S3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.key, cls.secret = make_user("ana@example.org")
        cls.bob_key, cls.bob_secret = make_user("bob@example.org")
        cls.s3 = client(cls.key, cls.secret)
        cls.bob = client(cls.bob_key, cls.bob_secret)
        product = os.path.join(EODATA, "Sentinel-2/MSI/L2A/2022/06/17/S2A_TEST.SAFE")
        os.makedirs(os.path.join(product, "GRANULE/IMG_DATA"), exist_ok=True)
        with open(os.path.join(product, "manifest.safe"), "w") as f:
            f.write("<manifest/>\n")
        cls.blob = bytes(range(256)) * 40
        with open(os.path.join(product, "GRANULE/IMG_DATA/blob.bin"), "wb") as f:
            f.write(cls.blob)
        subprocess.run(["gdal_create", "-q", "-of", "COG", "-outsize", "256", "256", "-bands", "1", "-burn", "42",
                        "-a_srs", "EPSG:32632", "-a_ullr", "600000", "5200000", "602560", "5197440",
                        os.path.join(EODATA, TIF_KEY)], check=True)
        cls.s3.create_bucket(Bucket="ana-results")

    # -- listing and reading eodata ------------------------------------------------------------------
    def test_list_buckets_shows_eodata_and_own_buckets_only(self):
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertIn("eodata", names)
        self.assertIn("ana-results", names)
        self.assertNotIn("s3-system", names)
        self.assertNotIn("ana-results", [b["Name"] for b in self.bob.list_buckets()["Buckets"]])

    def test_eodata_listing_ranges_and_head(self):
        r = self.s3.list_objects_v2(Bucket="eodata", Prefix="Sentinel-2/MSI/L2A/2022/06/17/", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["Sentinel-2/MSI/L2A/2022/06/17/S2A_TEST.SAFE/"])
        key = "Sentinel-2/MSI/L2A/2022/06/17/S2A_TEST.SAFE/GRANULE/IMG_DATA/blob.bin"
        h = self.s3.head_object(Bucket="eodata", Key=key)
        self.assertEqual(h["ContentLength"], len(self.blob))
        g = self.s3.get_object(Bucket="eodata", Key=key, Range="bytes=100-199")
        self.assertEqual(g["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(g["Body"].read(), self.blob[100:200])
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_object(Bucket="eodata", Key=key, Range="bytes=999999-")
        self.assertEqual((code_of(ctx), ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"]),
                         ("InvalidRange", 416))
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_object(Bucket="eodata", Key=key, IfNoneMatch=h["ETag"])
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)
        with self.assertRaises(ClientError) as ctx:
            self.s3.get_object(Bucket="eodata", Key="Sentinel-2/nothing-here")
        self.assertEqual(code_of(ctx), "NoSuchKey")
        with self.assertRaises(ClientError) as ctx:
            self.s3.list_objects_v2(Bucket="no-such-bucket")
        self.assertEqual(code_of(ctx), "NoSuchBucket")
        # ListObjects v1 and url encoding
        r = self.s3.list_objects(Bucket="eodata", Prefix="Sentinel-2/", MaxKeys=1)
        self.assertTrue(r["IsTruncated"])
        self.assertEqual(len(r["Contents"]), 1)

    def test_downloads_count_towards_the_monthly_volume(self):
        key = "Sentinel-2/MSI/L2A/2022/06/17/S2A_TEST.SAFE/GRANULE/IMG_DATA/blob.bin"
        dana = client(*make_user("dana@example.org"))
        dana.get_object(Bucket="eodata", Key=key)["Body"].read()
        token = requests.post(URL + "/auth/realms/CDSE/protocol/openid-connect/token",
                              data={"grant_type": "password", "username": "dana@example.org",
                                    "password": "a-long-password", "client_id": "cdse-public"}).json()["access_token"]
        quotas = requests.get(URL + "/me/quotas", headers={"Authorization": "Bearer " + token}).json()
        self.assertEqual(quotas["usage"].get("download_bytes"), len(self.blob), quotas)

    def test_eodata_is_read_only(self):
        for call in (lambda: self.s3.put_object(Bucket="eodata", Key="x.txt", Body=b"x"),
                     lambda: self.s3.delete_object(Bucket="eodata", Key=TIF_KEY),
                     lambda: self.s3.create_bucket(Bucket="eodata")):
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertIn(code_of(ctx), ("AccessDenied", "BucketAlreadyExists"))
        self.assertTrue(os.path.exists(os.path.join(EODATA, TIF_KEY)))

    # -- user buckets ---------------------------------------------------------------------------------
    def test_pagination_over_1100_keys(self):
        self.s3.create_bucket(Bucket="ana-many")
        keys = [f"tiles/{i // 100:02d}/t{i:04d}.txt" for i in range(1100)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: self.s3.put_object(Bucket="ana-many", Key=k, Body=k.encode()), keys))
        pages = list(self.s3.get_paginator("list_objects_v2").paginate(Bucket="ana-many"))
        self.assertEqual(len(pages), 2)
        self.assertEqual([o["Key"] for p in pages for o in p["Contents"]], sorted(keys))
        self.assertEqual(pages[0]["Contents"][0]["ETag"], '"%s"' % hashlib.md5(keys[0].encode()).hexdigest())
        v1 = [o["Key"] for p in self.s3.get_paginator("list_objects").paginate(Bucket="ana-many", PaginationConfig={
            "PageSize": 300}) for o in p["Contents"]]
        self.assertEqual(v1, sorted(keys))
        folders = self.s3.list_objects_v2(Bucket="ana-many", Prefix="tiles/", Delimiter="/")
        self.assertEqual(len(folders["CommonPrefixes"]), 11)
        after = self.s3.list_objects_v2(Bucket="ana-many", StartAfter="tiles/10/t1095.txt")
        self.assertEqual([o["Key"] for o in after["Contents"]], keys[1096:])

    def test_multipart_upload_of_100_mb(self):
        path = os.path.join(tempfile.mkdtemp(), "big.bin")
        digest = hashlib.md5()
        with open(path, "wb") as f:
            block = os.urandom(1 << 20)
            for i in range(100):
                chunk = i.to_bytes(4, "big") + block[4:]
                f.write(chunk)
                digest.update(chunk)
        cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=10 << 20, max_concurrency=4)
        self.s3.upload_file(path, "ana-results", "big/object.bin", Config=cfg)
        h = self.s3.head_object(Bucket="ana-results", Key="big/object.bin")
        self.assertEqual(h["ContentLength"], 100 << 20)
        self.assertTrue(h["ETag"].endswith('-10"'), h["ETag"])
        out = path + ".back"
        self.s3.download_file("ana-results", "big/object.bin", out, Config=cfg)
        got = hashlib.md5()
        with open(out, "rb") as f:
            for b in iter(lambda: f.read(1 << 20), b""):
                got.update(b)
        self.assertEqual(got.hexdigest(), digest.hexdigest())
        os.remove(path)
        os.remove(out)

    def test_abort_multipart_leaves_nothing(self):
        up = self.s3.create_multipart_upload(Bucket="ana-results", Key="aborted.bin")
        self.s3.upload_part(Bucket="ana-results", Key="aborted.bin", UploadId=up["UploadId"], PartNumber=1,
                            Body=b"x" * 1000)
        parts = self.s3.list_parts(Bucket="ana-results", Key="aborted.bin", UploadId=up["UploadId"])
        self.assertEqual([p["PartNumber"] for p in parts["Parts"]], [1])
        listed = self.s3.list_multipart_uploads(Bucket="ana-results", Prefix="aborted")
        self.assertEqual([(u["Key"], u["UploadId"]) for u in listed["Uploads"]], [("aborted.bin", up["UploadId"])])
        self.assertNotIn("Uploads", self.bob.list_multipart_uploads(Bucket="eodata"))
        self.s3.abort_multipart_upload(Bucket="ana-results", Key="aborted.bin", UploadId=up["UploadId"])
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket="ana-results", Prefix="aborted"))
        with self.assertRaises(ClientError) as ctx:
            self.s3.list_parts(Bucket="ana-results", Key="aborted.bin", UploadId=up["UploadId"])
        self.assertEqual(code_of(ctx), "NoSuchUpload")
        listed = self.s3.list_objects_v2(Bucket="ana-results", Prefix="aborted")
        self.assertEqual(listed["KeyCount"], 0)
        # Small parts cannot be completed (all but the last must be 5 MiB).
        up = self.s3.create_multipart_upload(Bucket="ana-results", Key="small.bin")
        etags = [self.s3.upload_part(Bucket="ana-results", Key="small.bin", UploadId=up["UploadId"], PartNumber=n,
                                     Body=b"y" * 100)["ETag"] for n in (1, 2)]
        with self.assertRaises(ClientError) as ctx:
            self.s3.complete_multipart_upload(Bucket="ana-results", Key="small.bin", UploadId=up["UploadId"],
                                              MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                                                         for n, e in zip((1, 2), etags)]})
        self.assertEqual(code_of(ctx), "EntityTooSmall")
        with self.assertRaises(ClientError) as ctx:
            self.s3.complete_multipart_upload(Bucket="ana-results", Key="small.bin", UploadId=up["UploadId"],
                                              MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"bad"'}]})
        self.assertEqual(code_of(ctx), "InvalidPart")

    def test_put_copy_delete(self):
        body = b"hello world\n"
        r = self.s3.put_object(Bucket="ana-results", Key="dir/a.txt", Body=body, ContentType="text/plain",
                               Metadata={"origin": "test"})
        self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
        g = self.s3.get_object(Bucket="ana-results", Key="dir/a.txt")
        self.assertEqual((g["Body"].read(), g["ContentType"], g["Metadata"]), (body, "text/plain", {"origin": "test"}))
        self.s3.copy_object(Bucket="ana-results", Key="dir/b.txt", CopySource={"Bucket": "ana-results", "Key": "dir/a.txt"})
        self.s3.copy_object(Bucket="ana-results", Key="dir/tif.tif", CopySource={"Bucket": "eodata", "Key": TIF_KEY})
        self.assertEqual(self.s3.get_object(Bucket="ana-results", Key="dir/b.txt")["Body"].read(), body)
        r = self.s3.delete_objects(Bucket="ana-results", Delete={"Objects": [{"Key": "dir/a.txt"}, {"Key": "dir/b.txt"},
                                                                          {"Key": "dir/tif.tif"}]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), ["dir/a.txt", "dir/b.txt", "dir/tif.tif"])
        self.assertEqual(self.s3.list_objects_v2(Bucket="ana-results", Prefix="dir/")["KeyCount"], 0)
        with self.assertRaises(ClientError) as ctx:
            self.s3.put_object(Bucket="ana-results", Key="md5.txt", Body=b"abc", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
        self.assertEqual(code_of(ctx), "BadDigest")
        # Deleting a missing key is not an error (S3 semantics).
        self.s3.delete_object(Bucket="ana-results", Key="never-there")

    def test_other_users_buckets_are_private(self):
        self.s3.put_object(Bucket="ana-results", Key="private.txt", Body=b"mine")
        for call in (lambda: self.bob.list_objects_v2(Bucket="ana-results"),
                     lambda: self.bob.get_object(Bucket="ana-results", Key="private.txt"),
                     lambda: self.bob.put_object(Bucket="ana-results", Key="x", Body=b"x"),
                     lambda: self.bob.head_bucket(Bucket="ana-results")):
            with self.assertRaises(ClientError) as ctx:
                call()
            self.assertIn(code_of(ctx), ("AccessDenied", "403"))
        with self.assertRaises(ClientError) as ctx:
            self.bob.create_bucket(Bucket="ana-results")
        self.assertEqual(code_of(ctx), "BucketAlreadyExists")
        for reserved in ("quicklooks", "orders", "s3-system"):
            with self.assertRaises(ClientError) as ctx:
                self.bob.create_bucket(Bucket=reserved)
            self.assertEqual(code_of(ctx), "BucketAlreadyExists")
        with self.assertRaises(ClientError) as ctx:
            self.bob.create_bucket(Bucket="Bad_Name")
        self.assertEqual(code_of(ctx), "InvalidBucketName")

    # -- authentication -------------------------------------------------------------------------------
    def test_presigned_urls(self):
        self.s3.put_object(Bucket="ana-results", Key="shared.txt", Body=b"shared")
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": "ana-results", "Key": "shared.txt"},
                                             ExpiresIn=300)
        r = requests.get(url)
        self.assertEqual((r.status_code, r.content), (200, b"shared"))
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": "eodata", "Key": TIF_KEY}, ExpiresIn=1)
        time.sleep(2.1)
        r = requests.get(url)
        self.assertEqual(r.status_code, 403)
        self.assertIn("<Code>AccessDenied</Code>", r.text)
        self.assertIn("Request has expired", r.text)
        r = requests.get(url.replace("X-Amz-Expires=1", "X-Amz-Expires=999999"))
        self.assertEqual(r.status_code, 400)

    def test_bad_credentials(self):
        with self.assertRaises(ClientError) as ctx:
            client(self.key, "x" * 40).list_buckets()
        self.assertEqual(code_of(ctx), "SignatureDoesNotMatch")
        with self.assertRaises(ClientError) as ctx:
            client("AKIDUNKNOWNUNKNOWN00", "x" * 40).list_buckets()
        self.assertEqual(code_of(ctx), "InvalidAccessKeyId")
        r = requests.get(ENDPOINT + "/eodata?list-type=2")
        self.assertEqual(r.status_code, 403)
        self.assertIn("<Code>AccessDenied</Code>", r.text)
        self.assertIn("<RequestId>", r.text)
        self.assertEqual(r.headers["x-amz-request-id"], r.text.split("<RequestId>")[1].split("<")[0])
        # Clock skew: a request signed 20 minutes ago.
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
        r = requests.get(URL + "/s3/", headers=signed_headers(self.key, self.secret, "GET", "/s3/", when=old))
        self.assertEqual(r.status_code, 403, r.text)
        self.assertIn("RequestTimeTooSkewed", r.text)
        r = requests.get(URL + "/s3/", headers=signed_headers(self.key, self.secret, "GET", "/s3/"))
        self.assertEqual(r.status_code, 200, r.text)

    def streaming_put(self, path, data, chunk_size=65536, tamper=False):
        """PUT `data` as STREAMING-AWS4-HMAC-SHA256-PAYLOAD: an aws-chunked body, a signature per chunk."""
        amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        date = amz_date[:8]
        scope = f"{date}/default/s3/aws4_request"

        def hm(k, m):
            return hmac.new(k, m.encode(), hashlib.sha256).digest()

        key = hm(hm(hm(hm(("AWS4" + self.secret).encode(), date), "default"), "s3"), "aws4_request")
        chunks = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
        length = sum(len(hex(len(c))[2:]) + len(";chunk-signature=") + 64 + 4 + len(c) for c in chunks)
        headers = {"Host": HOSTPORT, "x-amz-date": amz_date, "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                   "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
                   "content-length": str(length)}
        names = sorted(h.lower() for h in headers)
        canonical = "\n".join(["PUT", path, "", "".join(f"{n}:{headers[[h for h in headers if h.lower() == n][0]]}\n"
                                                         for n in names), ";".join(names),
                               "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        seed = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.key}/{scope}, SignedHeaders={';'.join(names)}, "
                                    f"Signature={seed}")
        out, prev = [], seed
        empty = hashlib.sha256(b"").hexdigest()
        for c in chunks:
            s = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty, hashlib.sha256(c).hexdigest()])
            sig = hmac.new(key, s.encode(), hashlib.sha256).hexdigest()
            prev = sig
            payload = (b"X" + c[1:]) if tamper and c else c
            out.append(f"{len(c):x};chunk-signature={sig}\r\n".encode() + payload + b"\r\n")
        body = b"".join(out)
        self.assertEqual(len(body), length)
        return requests.put(URL + path, data=body, headers=headers)

    def test_streaming_signed_payload(self):
        """STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked body with a signature per chunk."""
        data = os.urandom(70000)
        path = "/s3/ana-results/streamed.bin"
        r = self.streaming_put(path, data)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.s3.get_object(Bucket="ana-results", Key="streamed.bin")["Body"].read(), data)
        r = self.streaming_put(path.replace("streamed", "tampered"), data, tamper=True)
        self.assertEqual(r.status_code, 403)
        self.assertIn("SignatureDoesNotMatch", r.text)
        with self.assertRaises(ClientError):
            self.s3.head_object(Bucket="ana-results", Key="tampered.bin")

    # -- bodies above http.body_limit (16 MiB) are streamed to the store, up to s3.max_object_size -----
    def test_single_put_above_the_body_limit(self):
        body = os.urandom(40 << 20)
        peak = self.peak_rss()
        r = self.s3.put_object(Bucket="ana-results", Key="big/single.bin", Body=body)
        self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
        # Streamed, not buffered: the server's peak memory does not grow by the body's size.
        self.assertLess(self.peak_rss() - peak, 20 << 20)
        got = self.s3.get_object(Bucket="ana-results", Key="big/single.bin")["Body"].read()
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(body).hexdigest())
        self.assertEqual(self.s3.head_object(Bucket="ana-results", Key="big/single.bin")["ContentLength"], 40 << 20)

    def test_streaming_signed_payload_above_the_body_limit(self):
        data = os.urandom(18 << 20)
        r = self.streaming_put("/s3/ana-results/big/chunked.bin", data)
        self.assertEqual(r.status_code, 200, r.text)
        got = self.s3.get_object(Bucket="ana-results", Key="big/chunked.bin")["Body"].read()
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())

    @staticmethod
    def peak_rss():
        with open(f"/proc/{os.environ['DATASPACE_PID']}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    # -- download limits on GetObject ------------------------------------------------------------------
    def test_get_object_is_throttled_and_takes_a_download_slot(self):
        # International users get one download connection at 500 kB/s here (tests/CMakeLists.txt).
        ivan = client(*make_user("ivan@example.org", "international"))
        ivan.create_bucket(Bucket="ivan-data")
        blob = os.urandom(1_000_000)
        ivan.put_object(Bucket="ivan-data", Key="blob.bin", Body=blob)
        started = time.time()
        first = ivan.get_object(Bucket="ivan-data", Key="blob.bin")
        try:
            headers = first["ResponseMetadata"]["HTTPHeaders"]
            self.assertEqual(headers["x-download-bandwidth"], "500000")
            self.assertEqual(headers["x-download-connections-limit"], "1")
            ivan.head_object(Bucket="ivan-data", Key="blob.bin")  # a HEAD takes no slot
            with self.assertRaises(ClientError) as ctx:
                ivan.get_object(Bucket="ivan-data", Key="blob.bin", Range="bytes=0-9")
            self.assertEqual((code_of(ctx), ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"]),
                             ("SlowDown", 503))
            self.assertIn("max session number exceeded", ctx.exception.response["Error"]["Message"])
            got = first["Body"].read()
        finally:
            first["Body"].close()
        self.assertEqual(got, blob)
        self.assertGreater(time.time() - started, 1.5)
        for _ in range(50):  # the slot is free again once the body is sent
            try:
                r = ivan.get_object(Bucket="ivan-data", Key="blob.bin", Range="bytes=0-9")
                break
            except ClientError:
                time.sleep(0.1)
        self.assertEqual(r["Body"].read(), blob[:10])

    # -- abandoned multipart uploads ---------------------------------------------------------------------
    def test_abandoned_multipart_uploads_are_reaped(self):
        if "DATASPACE_S3_MULTIPART_EXPIRY" not in os.environ:
            self.skipTest("needs a short s3.multipart_expiry: ctest -R api_s3_multipart_expiry")
        abandoned = self.s3.create_multipart_upload(Bucket="ana-results", Key="abandoned.bin")["UploadId"]
        self.s3.upload_part(Bucket="ana-results", Key="abandoned.bin", UploadId=abandoned, PartNumber=1,
                            Body=b"x" * 1000)
        busy = self.s3.create_multipart_upload(Bucket="ana-results", Key="busy.bin")["UploadId"]
        folder = os.path.join(DATA, "objects", "s3-system", "uploads", abandoned)
        self.assertTrue(os.path.isdir(folder))
        deadline = time.time() + 20
        etag = None
        while time.time() < deadline and os.path.isdir(folder):
            # The busy upload gets a part every half second, so it never goes idle for the expiry (3 s).
            etag = self.s3.upload_part(Bucket="ana-results", Key="busy.bin", UploadId=busy, PartNumber=1,
                                       Body=b"y" * 1000)["ETag"]
            time.sleep(0.5)
        self.assertFalse(os.path.isdir(folder), "the abandoned upload was not reaped")
        with self.assertRaises(ClientError) as ctx:
            self.s3.list_parts(Bucket="ana-results", Key="abandoned.bin", UploadId=abandoned)
        self.assertEqual(code_of(ctx), "NoSuchUpload")
        listed = self.s3.list_multipart_uploads(Bucket="ana-results")
        self.assertEqual([u["UploadId"] for u in listed.get("Uploads", [])], [busy])
        self.s3.complete_multipart_upload(Bucket="ana-results", Key="busy.bin", UploadId=busy,
                                          MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        self.assertEqual(self.s3.get_object(Bucket="ana-results", Key="busy.bin")["Body"].read(), b"y" * 1000)

    def test_rate_limit_is_slow_down(self):
        # The harness runs this server with services.s3_per_minute=5.
        pair = make_user("carol@example.org", "services")
        carol = client(*pair)
        for _ in range(5):
            carol.list_buckets()
        with self.assertRaises(ClientError) as ctx:
            carol.list_buckets()
        self.assertEqual((code_of(ctx), ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"]), ("SlowDown", 503))
        # A streamed upload is refused from its head, before the client sends the body (it waits for 100 Continue).
        path = "/s3/carol-bucket/big.bin"
        h = signed_headers(*pair, "PUT", path, {"Content-Length": str(20 << 20), "Expect": "100-continue"})
        status, text = self.raw("PUT", path, h)
        self.assertEqual(status, 503, text)
        self.assertIn("<Code>SlowDown</Code>", text)

    def test_unsigned_payload_with_trailer(self):
        """STREAMING-UNSIGNED-PAYLOAD-TRAILER (newer SDKs' checksum uploads): chunks, then a trailer."""
        body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
        path = "/s3/ana-results/trailer.txt"
        h = signed_headers(self.key, self.secret, "PUT", path,
                           {"Content-Length": str(len(body)), "Content-Encoding": "aws-chunked",
                            "x-amz-decoded-content-length": "11", "x-amz-trailer": "x-amz-checksum-crc32"},
                           payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        status, text = self.raw("PUT", path, h, body)
        self.assertEqual(status, 200, text)
        self.assertEqual(self.s3.get_object(Bucket="ana-results", Key="trailer.txt")["Body"].read(), b"hello world")

    # -- bad input ------------------------------------------------------------------------------------
    def raw(self, method, path, headers, body=b""):
        conn = http.client.HTTPConnection(HOSTPORT, timeout=10)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        r = conn.getresponse()
        out = (r.status, r.read().decode())
        conn.close()
        return out

    def test_dot_dot_key_is_refused(self):
        for path in ("/s3/eodata/Sentinel-2/../../s3-system/x", "/s3/ana-results/a/../b"):
            status, text = self.raw("GET", path, signed_headers(self.key, self.secret, "GET", path))
            self.assertEqual(status, 400, text)
            self.assertIn("<Code>InvalidArgument</Code>", text)

    def test_malformed_xml_and_bucket_deletion(self):
        self.s3.create_bucket(Bucket="ana-scratch")
        self.s3.put_object(Bucket="ana-scratch", Key="k", Body=b"v")
        body = b"<Delete><Object><Key>k</Key></Object>"  # not closed
        path = "/s3/ana-scratch?delete"
        h = signed_headers(self.key, self.secret, "POST", "/s3/ana-scratch", {"Content-Length": str(len(body))},
                           payload=hashlib.sha256(body).hexdigest(), query="delete=")
        status, text = self.raw("POST", path, h, body)
        self.assertEqual(status, 400, text)
        self.assertIn("<Code>MalformedXML</Code>", text)
        with self.assertRaises(ClientError) as ctx:
            self.s3.delete_bucket(Bucket="ana-scratch")
        self.assertEqual(code_of(ctx), "BucketNotEmpty")
        self.s3.delete_object(Bucket="ana-scratch", Key="k")
        self.s3.delete_bucket(Bucket="ana-scratch")
        self.assertNotIn("ana-scratch", [b["Name"] for b in self.s3.list_buckets()["Buckets"]])
        self.bob.create_bucket(Bucket="ana-scratch")  # a deleted name can be claimed again
        self.bob.put_object(Bucket="ana-scratch", Key="bob.txt", Body=b"bob")
        with self.assertRaises(ClientError) as ctx:
            self.s3.list_objects_v2(Bucket="ana-scratch")
        self.assertEqual(code_of(ctx), "AccessDenied")

    def test_upload_cut_off_half_way_leaves_nothing(self):
        path = "/s3/ana-results/cut.bin"
        h = signed_headers(self.key, self.secret, "PUT", path, {"Content-Length": "1000000"})
        s = socket.create_connection(("127.0.0.1", int(HOSTPORT.split(":")[1])))
        head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        s.sendall(head.encode() + b"z" * 500000)
        s.close()
        time.sleep(0.3)
        with self.assertRaises(ClientError) as ctx:
            self.s3.head_object(Bucket="ana-results", Key="cut.bin")
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.assertEqual(self.s3.list_objects_v2(Bucket="ana-results", Prefix="cut")["KeyCount"], 0)
        self.assertEqual(requests.get(URL + "/health").status_code, 200)

    def test_body_over_the_limit_is_entity_too_large(self):
        # s3.max_object_size is 48 MiB here (tests/CMakeLists.txt); refused before the body is sent.
        path = "/s3/ana-results/huge.bin"
        h = signed_headers(self.key, self.secret, "PUT", path, {"Content-Length": str((48 << 20) + 1)})
        status, text = self.raw("PUT", path, h)
        self.assertEqual(status, 400, text)
        self.assertIn("<Code>EntityTooLarge</Code>", text)

    # -- other clients --------------------------------------------------------------------------------
    def env(self):
        e = dict(os.environ, AWS_ACCESS_KEY_ID=self.key, AWS_SECRET_ACCESS_KEY=self.secret, AWS_DEFAULT_REGION="default",
                 AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        return e

    def test_awscli(self):
        aws = ["/usr/bin/aws", "--endpoint-url", ENDPOINT]
        out = subprocess.run(aws + ["s3", "ls"], env=self.env(), capture_output=True, text=True, check=True).stdout
        self.assertIn("eodata", out)
        out = subprocess.run(aws + ["s3", "ls", "--recursive", "s3://eodata/Sentinel-2/"], env=self.env(),
                             capture_output=True, text=True, check=True).stdout
        self.assertIn("B04.tif", out)
        d = tempfile.mkdtemp()
        subprocess.run(aws + ["s3", "sync", "--only-show-errors", "s3://eodata/Sentinel-2/MSI/L2A/2022/06/17/S2A_TEST.SAFE/", d],
                       env=self.env(), check=True)
        with open(os.path.join(d, "GRANULE/IMG_DATA/blob.bin"), "rb") as f:
            self.assertEqual(f.read(), self.blob)
        subprocess.run(aws + ["s3", "cp", "--only-show-errors", os.path.join(d, "manifest.safe"), "s3://ana-results/cli/manifest.safe"],
                       env=self.env(), check=True)
        subprocess.run(aws + ["s3", "cp", "--only-show-errors", "s3://ana-results/cli/manifest.safe", os.path.join(d, "back.safe")],
                       env=self.env(), check=True)
        with open(os.path.join(d, "back.safe")) as f:
            self.assertEqual(f.read(), "<manifest/>\n")

    def test_s3cmd(self):
        d = tempfile.mkdtemp()
        cfg = os.path.join(d, "s3cfg")
        with open(cfg, "w") as f:
            f.write(f"[default]\naccess_key = {self.key}\nsecret_key = {self.secret}\nhost_base = {HOSTPORT}/s3\n"
                    f"host_bucket = {HOSTPORT}/s3\nuse_https = False\nbucket_location = default\n"
                    "signature_v2 = False\n")
        out = subprocess.run(["s3cmd", "-c", cfg, "ls", "s3://eodata/Sentinel-2/MSI/L2A/2022/06/17/S2A_TEST.SAFE/"],
                             capture_output=True, text=True, check=True).stdout
        self.assertIn("manifest.safe", out)
        subprocess.run(["s3cmd", "-c", cfg, "get", "-r", "s3://eodata/Sentinel-2/MSI/L2A/2022/06/17/S2A_TEST.SAFE/",
                        d + "/"], capture_output=True, text=True, check=True)
        with open(os.path.join(d, "GRANULE/IMG_DATA/blob.bin"), "rb") as f:
            self.assertEqual(f.read(), self.blob)

    def test_gdal_vsis3(self):
        env = dict(self.env(), AWS_S3_ENDPOINT=HOSTPORT + "/s3", AWS_HTTPS="NO", AWS_VIRTUAL_HOSTING="FALSE",
                   AWS_REGION="default")
        out = subprocess.run(["gdalinfo", "-stats", "/vsis3/eodata/" + TIF_KEY], env=env, capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Size is 256, 256", out.stdout)
        self.assertIn("STATISTICS_MEAN=42", out.stdout)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[2:], verbosity=2)
