#!/usr/bin/python3
"""Streaming bodies, ranges, conditional GET, failure isolation and graceful drain, through
python-requests and GDAL's /vsicurl/ against the test server (dataspace + /_test/ routes)."""
import os
import signal
import threading
import time
import unittest

import requests

URL = os.environ["DATASPACE_URL"]
PID = int(os.environ["DATASPACE_PID"])
SIZE = 1_000_003


def pattern(first, last):
    return bytes(((i * 31 + 7) % 251) for i in range(first, last + 1))


class Streaming(unittest.TestCase):
    def test_whole_file_with_length_and_validators(self):
        r = requests.get(URL + "/_test/file")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(int(r.headers["Content-Length"]), SIZE)
        self.assertEqual(r.headers["Accept-Ranges"], "bytes")
        self.assertEqual(r.content, pattern(0, SIZE - 1))
        self.assertEqual(r.headers["ETag"], '"pattern-1000003"')
        self.assertIn("GMT", r.headers["Last-Modified"])

    def test_single_suffix_and_open_ranges(self):
        for header, first, last in (("bytes=0-9", 0, 9), ("bytes=-100", SIZE - 100, SIZE - 1),
                                    ("bytes=999990-", 999990, SIZE - 1), ("bytes=500000-500000", 500000, 500000)):
            r = requests.get(URL + "/_test/file", headers={"Range": header})
            self.assertEqual(r.status_code, 206, header)
            self.assertEqual(r.headers["Content-Range"], f"bytes {first}-{last}/{SIZE}")
            self.assertEqual(r.content, pattern(first, last))

    def test_multi_range_is_multipart_byteranges(self):
        r = requests.get(URL + "/_test/file", headers={"Range": "bytes=0-4,100-104"})
        self.assertEqual(r.status_code, 206)
        ctype = r.headers["Content-Type"]
        self.assertTrue(ctype.startswith("multipart/byteranges; boundary="))
        boundary = ctype.split("=", 1)[1].encode()
        parts = [p for p in r.content.split(b"--" + boundary) if p.strip() not in (b"", b"--")]
        self.assertEqual(len(parts), 2)
        self.assertIn(b"Content-Range: bytes 0-4/1000003\r\n\r\n" + pattern(0, 4), parts[0])
        self.assertIn(b"Content-Range: bytes 100-104/1000003\r\n\r\n" + pattern(100, 104), parts[1])

    def test_unsatisfiable_range_is_416_with_size(self):
        r = requests.get(URL + "/_test/file", headers={"Range": f"bytes={SIZE}-"})
        self.assertEqual(r.status_code, 416)
        self.assertEqual(r.headers["Content-Range"], f"bytes */{SIZE}")

    def test_conditional_get_and_if_range(self):
        self.assertEqual(requests.get(URL + "/_test/file", headers={"If-None-Match": '"pattern-1000003"'}).status_code, 304)
        r = requests.get(URL + "/_test/file", headers={"Range": "bytes=0-1", "If-Range": '"stale"'})
        self.assertEqual(r.status_code, 200)
        self.assertEqual(len(r.content), SIZE)

    def test_resume_an_interrupted_download(self):
        with requests.get(URL + "/_test/file", stream=True) as r:
            first = r.raw.read(300_000)
        r = requests.get(URL + "/_test/file", headers={"Range": f"bytes={len(first)}-"})
        self.assertEqual(first + r.content, pattern(0, SIZE - 1))

    def test_head_of_a_stream_has_length_and_no_body(self):
        r = requests.head(URL + "/_test/file")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(int(r.headers["Content-Length"]), SIZE)
        self.assertEqual(r.content, b"")

    def test_chunked_generator_of_unknown_size(self):
        r = requests.get(URL + "/_test/chunked?n=700001")
        self.assertEqual(r.headers.get("Transfer-Encoding"), "chunked")
        self.assertNotIn("Content-Length", r.headers)
        self.assertEqual(r.content, pattern(0, 700000))
        r = requests.get(URL + "/_test/chunked?n=0")
        self.assertEqual(r.content, b"")

    def test_gdal_vsicurl_reads_ranges(self):
        from osgeo import gdal
        gdal.UseExceptions()
        gdal.SetConfigOption("GDAL_HTTP_MAX_RETRY", "0")
        f = gdal.VSIFOpenL("/vsicurl/" + URL + "/_test/file", "rb")
        self.assertIsNotNone(f)
        gdal.VSIFSeekL(f, 123456, 0)
        self.assertEqual(gdal.VSIFReadL(1, 1000, f), pattern(123456, 124455))
        gdal.VSIFCloseL(f)
        self.assertEqual(gdal.VSIStatL("/vsicurl/" + URL + "/_test/file").size, SIZE)

    def test_a_throwing_handler_gets_500_and_the_server_keeps_serving(self):
        r = requests.get(URL + "/_test/throw")
        self.assertEqual(r.status_code, 500)
        self.assertNotIn("deliberate", r.text)
        self.assertIn(r.headers["X-Request-Id"], r.json()["detail"])
        r = requests.get(URL + "/_test/error")
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()["parameter"], "bbox")
        self.assertEqual(requests.get(URL + "/health").status_code, 200)

    def test_typed_path_parameters(self):
        self.assertEqual(requests.get(URL + "/_test/items/42").json(), {"id": "42"})
        self.assertEqual(requests.get(URL + "/_test/items/abc").status_code, 404)

    def test_expect_100_continue_body(self):
        r = requests.post(URL + "/_test/echo", data=b"z" * 500_000, headers={"Expect": "100-continue"})
        self.assertEqual(r.json(), {"bytes": 500_000})

    def test_zz_sigterm_drains_in_flight_requests(self):
        # Runs last (alphabetical order): it stops the server.
        result = {}

        def slow():
            result["r"] = requests.get(URL + "/_test/slow?ms=1500", timeout=20)

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.5)
        os.kill(PID, signal.SIGTERM)
        t.join(20)
        self.assertEqual(result["r"].status_code, 200)
        self.assertEqual(result["r"].json(), {"slept_ms": 1500})
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.kill(PID, 0)
                # a zombie (exited, not yet reaped by the harness) counts as stopped
                with open(f"/proc/{PID}/stat") as f:
                    if f.read().split()[2] == "Z":
                        break
            except (ProcessLookupError, FileNotFoundError):
                break
            time.sleep(0.1)
        else:
            self.fail("server still running 10 s after SIGTERM")


if __name__ == "__main__":
    unittest.main(verbosity=2)
