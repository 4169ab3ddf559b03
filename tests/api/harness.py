#!/usr/bin/python3
"""Runs one client command against a freshly started server.

    harness.py --server BIN [--env NAME=VALUE ...] [--archive DIR] -- COMMAND [ARGS...]

Starts `BIN serve --data <temp dir>/var --listen 127.0.0.1:0` (with --archive: `--data DIR`, a
shared read-only archive made by make_archive.py, so clients must not write into it), waits for its "listening on" line,
then runs COMMAND with DATASPACE_URL, DATASPACE_PID, DATASPACE_DATA and DATASPACE_ACCESS_LOG set.
Afterwards the server gets SIGTERM (unless the client already stopped it) and must exit 0 within
15 s: a graceful shutdown is part of every API test. Server logs are shown when anything fails.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--archive", help="serve this prepared data directory instead of an empty one")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command and args.command[0] == "--" else args.command
    if not command:
        ap.error("no client command given")

    data = tempfile.mkdtemp(prefix="ds-api-")
    access_log = os.path.join(data, "access.log")
    env = dict(os.environ)
    for kv in args.env:
        k, _, v = kv.partition("=")
        env[k] = v
    server = subprocess.Popen(
        [args.server, "serve", "--data", args.archive or os.path.join(data, "var"), "--listen", "127.0.0.1:0",
         "--access-log", access_log],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)

    lines = []
    url = None
    ready = threading.Event()

    def pump():
        nonlocal url
        for line in server.stdout:
            lines.append(line)
            m = re.search(r"listening on (http://\S+?)/? ", line)
            if m and not url:
                url = m.group(1).rstrip("/")
                ready.set()
        ready.set()

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    ready.wait(30)
    ok = False
    try:
        if not url:
            print("server did not start:\n" + "".join(lines), file=sys.stderr)
            return 1
        client_env = dict(env)
        client_env.update(DATASPACE_URL=url, DATASPACE_PID=str(server.pid), DATASPACE_DATA=data,
                          DATASPACE_ACCESS_LOG=access_log)
        if args.archive:
            client_env["DATASPACE_ARCHIVE"] = args.archive
        started = time.time()
        rc = subprocess.call(command, env=client_env)
        print(f"client finished with {rc} in {time.time() - started:.1f}s")
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            src = server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            print("server did not stop within 15 s of SIGTERM", file=sys.stderr)
            return 1
        t.join(5)
        if src != 0:
            print(f"server exited with {src}", file=sys.stderr)
            return 1
        ok = rc == 0
        return rc
    finally:
        if server.poll() is None:
            server.kill()
        if not ok:
            print("---- server log ----\n" + "".join(lines[-80:]), file=sys.stderr)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
