#!/usr/bin/python3
"""Service endpoints through python-requests: landing page, health, readiness, metrics, errors,
CORS, gzip, HEAD, keep-alive."""
import json
import os
import unittest

import requests

URL = os.environ["DATASPACE_URL"]


class ServiceEndpoints(unittest.TestCase):
    def setUp(self):
        self.s = requests.Session()
        self.addCleanup(self.s.close)

    def test_landing_links_every_family_with_absolute_urls(self):
        r = self.s.get(URL + "/")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.headers["Content-Type"], "application/json")
        body = r.json()
        self.assertEqual(body["id"], "dataspace")
        hrefs = {l["href"] for l in body["links"]}
        for path in ("/", "/health", "/health/ready", "/metrics"):
            self.assertIn(URL + path, hrefs)
        for l in body["links"]:
            if l["rel"] != "self":
                self.assertIn(self.s.get(l["href"]).status_code, (200, 503), l)

    def test_health_and_readiness(self):
        r = self.s.get(URL + "/health")
        self.assertEqual(r.json(), {"status": "ok"})
        self.assertEqual(r.headers["Cache-Control"], "no-store")
        r = self.s.get(URL + "/health/ready")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["checks"]["data_dir"]["status"], "ok")

    def test_metrics_count_requests_by_route_in_prometheus_format(self):
        for _ in range(3):
            self.s.get(URL + "/health")
        self.s.get(URL + "/no/such/thing")
        text = self.s.get(URL + "/metrics").text
        counts = {}
        for line in text.splitlines():
            if line.startswith("dataspace_http_requests_total{"):
                labels, value = line.rsplit(" ", 1)
                counts[labels] = float(value)
        self.assertGreaterEqual(counts['dataspace_http_requests_total{method="GET",route="/health",status="200"}'], 3)
        self.assertGreaterEqual(counts['dataspace_http_requests_total{method="*",route="unmatched",status="404"}'], 1)
        self.assertIn("dataspace_http_requests_in_flight ", text)
        self.assertIn('dataspace_http_request_duration_seconds_bucket{method="GET",route="/health",le="+Inf"}', text)
        for line in text.splitlines():  # every sample line is NAME{...} VALUE or NAME VALUE
            if line and not line.startswith("#"):
                float(line.rsplit(" ", 1)[1])

    def test_errors_are_problem_json_with_request_id(self):
        r = self.s.get(URL + "/no/such/thing", headers={"X-Request-Id": "trace-me-1"})
        self.assertEqual(r.status_code, 404)
        self.assertEqual(r.headers["Content-Type"], "application/problem+json")
        self.assertEqual(r.headers["X-Request-Id"], "trace-me-1")
        body = r.json()
        self.assertEqual(body["status"], 404)
        self.assertEqual(body["request_id"], "trace-me-1")
        r = self.s.delete(URL + "/health")
        self.assertEqual(r.status_code, 405)
        self.assertEqual(r.headers["Allow"], "GET, HEAD, OPTIONS")

    def test_head_has_headers_but_no_body(self):
        get = self.s.get(URL + "/")
        head = self.s.head(URL + "/")
        self.assertEqual(head.status_code, 200)
        self.assertEqual(head.content, b"")
        # The landing page is large enough to be gzipped: HEAD announces the length GET sends.
        self.assertEqual(head.headers["Content-Length"], get.headers["Content-Length"])
        self.assertEqual(head.headers.get("Content-Encoding"), get.headers.get("Content-Encoding"))

    def test_gzip_for_clients_that_accept_it(self):
        r = self.s.get(URL + "/metrics", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.headers.get("Content-Encoding"), "gzip")
        self.assertIn("dataspace_http_requests_total", r.text)  # requests decodes transparently
        r = self.s.get(URL + "/metrics", headers={"Accept-Encoding": "identity"})
        self.assertNotIn("Content-Encoding", r.headers)

    def test_cors_simple_and_preflight(self):
        r = self.s.get(URL + "/health", headers={"Origin": "https://app.example"})
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], "*")
        self.assertIn("X-Request-Id", r.headers["Access-Control-Expose-Headers"])
        r = self.s.options(URL + "/anything", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type"})
        self.assertEqual(r.status_code, 204)
        self.assertIn("POST", r.headers["Access-Control-Allow-Methods"])
        self.assertEqual(r.headers["Access-Control-Allow-Headers"], "Authorization, Content-Type")

    def test_keep_alive_reuses_one_connection(self):
        r1 = self.s.get(URL + "/health", stream=True)
        sock1 = r1.raw._connection.sock if r1.raw._connection else None
        r1.content
        r2 = self.s.get(URL + "/health", stream=True)
        sock2 = r2.raw._connection.sock if r2.raw._connection else None
        r2.content
        self.assertIsNotNone(sock1)
        self.assertIs(sock1, sock2)

    def test_access_log_is_one_json_object_per_request(self):
        self.s.get(URL + "/health", headers={"X-Request-Id": "logged-request-7"})
        path = os.environ["DATASPACE_ACCESS_LOG"]
        import time
        for _ in range(60):  # the access log is written asynchronously, flushed every second
            with open(path) as f:
                records = [json.loads(line) for line in f if line.strip()]
            hit = [r for r in records if r["request_id"] == "logged-request-7"]
            if hit:
                break
            time.sleep(0.1)
        self.assertTrue(hit)
        rec = hit[0]
        self.assertEqual(rec["route"], "/health")
        self.assertEqual(rec["status"], 200)
        self.assertEqual(rec["bytes"], 15)
        self.assertIn("duration_ms", rec)


if __name__ == "__main__":
    unittest.main(verbosity=2)
