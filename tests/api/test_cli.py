#!/usr/bin/python3
"""The `dataspace` command line: help, version, and configuration precedence
(dataspace.toml < DATASPACE_* environment < flags) observed on a real server start."""
import os
import re
import subprocess
import sys
import tempfile
import unittest

BIN = sys.argv.pop(1)


def start(args, env=None, cwd=None):
    """Starts the server, returns (process, url) once it reports its address."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DATASPACE_")}
    full_env.update(env or {})
    p = subprocess.Popen([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env,
                         cwd=cwd)
    for line in p.stdout:
        m = re.search(r"listening on (http://\S+?)/? \(data: (.*)\)", line)
        if m:
            return p, m.group(1), m.group(2)
    p.wait()
    raise AssertionError("server did not start")


def stop(p):
    p.terminate()
    assert p.wait(15) == 0


class Cli(unittest.TestCase):
    def test_help_everywhere(self):
        for args in ([], ["serve"], ["demo"], ["version"]):
            out = subprocess.run([BIN] + args + ["--help"], capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, args)
            self.assertIn("--help", out.stdout)
        serve_help = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True).stdout
        for flag in ("--data", "--listen", "--config"):
            self.assertIn(flag, serve_help)

    def test_version(self):
        out = subprocess.run([BIN, "version"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertRegex(out.stdout, r"^dataspace \d+\.\d+\.\d+")

    def test_unknown_subcommand_fails(self):
        self.assertNotEqual(subprocess.run([BIN, "frobnicate"], capture_output=True).returncode, 0)

    def test_bad_setting_is_named_and_exits_2(self):
        out = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0"], capture_output=True, text=True,
                             env={"DATASPACE_HTTP_BODY_LIMIT": "huge"})
        self.assertEqual(out.returncode, 2)
        self.assertIn("http.body_limit", out.stderr)
        self.assertIn("DATASPACE_HTTP_BODY_LIMIT", out.stderr)

    def test_port_in_use_is_a_clear_error(self):
        p, url, _ = start(["serve", "--listen", "127.0.0.1:0", "--data", tempfile.mkdtemp()])
        try:
            port = url.rsplit(":", 1)[1]
            out = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:" + port, "--data", tempfile.mkdtemp()],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 2)
            self.assertIn("cannot listen", out.stderr)
        finally:
            stop(p)

    def test_file_then_environment_then_flags(self):
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "dataspace.toml"), "w") as f:
            f.write('listen = "127.0.0.1:0"\ndata = "from-file"\n[log]\naccess = "off"\n')
        p, _, data = start(["serve"], cwd=d)
        stop(p)
        self.assertEqual(data, "from-file")
        p, _, data = start(["serve"], env={"DATASPACE_DATA": "from-env"}, cwd=d)
        stop(p)
        self.assertEqual(data, "from-env")
        p, _, data = start(["serve", "--data", "from-flag"], env={"DATASPACE_DATA": "from-env"}, cwd=d)
        stop(p)
        self.assertEqual(data, "from-flag")
        self.assertTrue(os.path.isdir(os.path.join(d, "from-flag")))

    def test_explicit_config_file_must_exist(self):
        out = subprocess.run([BIN, "serve", "--config", "/nonexistent.toml"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 2)
        self.assertIn("does not exist", out.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
