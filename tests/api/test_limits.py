#!/usr/bin/python3
"""Request limits and robustness, with raw sockets where a polite client would not misbehave.
The harness starts the server with a 2 s head timeout, a 1 MiB body limit and a 5 s idle timeout."""
import os
import socket
import subprocess
import threading
import time
import unittest
from urllib.parse import urlparse

import requests

URL = os.environ["DATASPACE_URL"]
HOST, PORT = urlparse(URL).hostname, urlparse(URL).port
PID = int(os.environ["DATASPACE_PID"])


def raw(request: bytes, timeout=10.0) -> bytes:
    with socket.create_connection((HOST, PORT), timeout=timeout) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        return out


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def open_fds() -> int:
    return len(os.listdir(f"/proc/{PID}/fd"))


class Limits(unittest.TestCase):
    def assert_still_serving(self):
        self.assertEqual(requests.get(URL + "/health", timeout=5).status_code, 200)

    def test_one_megabyte_of_headers_gets_431_or_is_closed(self):
        big = b"X-Filler: " + b"a" * 1000 + b"\r\n"
        req = b"GET /health HTTP/1.1\r\nHost: x\r\n" + big * 1000 + b"\r\n"
        resp = raw(req)
        self.assertIn(status_of(resp), (431, 0))
        if resp:
            self.assertIn(b"application/problem+json", resp)
        self.assert_still_serving()

    def test_body_over_limit_gets_413_before_it_is_read(self):
        r = requests.post(URL + "/health", data=b"x" * (2 << 20),
                          headers={"Content-Type": "application/octet-stream"}, timeout=10)
        self.assertEqual(r.status_code, 413)
        self.assertEqual(r.headers["Content-Type"], "application/problem+json")
        self.assert_still_serving()

    def test_chunked_body_over_limit_gets_413(self):
        def gen():
            for _ in range(40):
                yield b"y" * 65536
        try:
            r = requests.post(URL + "/health", data=gen(), timeout=10)
            self.assertEqual(r.status_code, 413)
        except requests.exceptions.ConnectionError:
            pass  # the server may close before the client finishes sending: also acceptable
        self.assert_still_serving()

    def test_bad_method_and_malformed_request_line(self):
        self.assertEqual(status_of(raw(b"BREW /health HTTP/1.1\r\nHost: x\r\n\r\n")), 405)
        self.assertEqual(status_of(raw(b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n")), 400)
        self.assertEqual(status_of(raw(b"G@T /health HTTP/1.1\r\nHost: x\r\n\r\n")), 400)
        self.assertEqual(status_of(raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")), 400)
        self.assert_still_serving()

    def test_slowloris_is_cut_off_on_time_while_others_are_served(self):
        results = {}

        def slow_client(i):
            s = socket.create_connection((HOST, PORT), timeout=20)
            started = time.time()
            closed = None
            try:
                for b in b"GET /health HTTP/1.1\r\nHost: x\r\n":
                    s.send(bytes([b]))
                    time.sleep(1.0 if i == 0 else 0.5)
            except (BrokenPipeError, ConnectionResetError):
                closed = time.time() - started
            if closed is None:
                try:
                    data = s.recv(4096)
                    closed = time.time() - started
                    results[f"answer{i}"] = data
                except (ConnectionResetError, socket.timeout):
                    closed = time.time() - started
            results[i] = closed
            s.close()

        threads = [threading.Thread(target=slow_client, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        served = 0
        deadline = time.time() + 2.0
        while time.time() < deadline:  # meanwhile, normal clients are served promptly
            t0 = time.time()
            self.assertEqual(requests.get(URL + "/health", timeout=2).status_code, 200)
            self.assertLess(time.time() - t0, 1.0)
            served += 1
        for t in threads:
            t.join(30)
        self.assertGreater(served, 10)
        for i in range(20):
            self.assertIsNotNone(results.get(i), f"slow client {i} was never cut off")
            self.assertLess(results[i], 6.0, f"slow client {i} held its connection {results[i]:.1f}s")
        self.assert_still_serving()

    def test_idle_keep_alive_connection_is_closed_after_idle_timeout(self):
        s = socket.create_connection((HOST, PORT), timeout=15)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        first = s.recv(4096)
        self.assertEqual(status_of(first), 200)
        t0 = time.time()
        self.assertEqual(s.recv(4096), b"")  # server closes the idle connection
        self.assertLess(time.time() - t0, 8)
        s.close()

    def test_wrk_256_connections_without_errors_or_fd_growth(self):
        requests.get(URL + "/health")
        time.sleep(0.2)
        before = open_fds()
        out = subprocess.run(["wrk", "-t2", "-c256", "-d3s", URL + "/health"], capture_output=True, text=True,
                             timeout=60).stdout
        self.assertNotIn("Socket errors", out, out)
        self.assertNotIn("Non-2xx", out, out)
        deadline = time.time() + 10
        while open_fds() > before + 2 and time.time() < deadline:
            time.sleep(0.2)
        self.assertLessEqual(open_fds(), before + 2, out)
        self.assert_still_serving()


if __name__ == "__main__":
    unittest.main(verbosity=2)
