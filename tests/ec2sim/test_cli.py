"""The command line: start-up time, the PORT line and the port file,
seeding from a state file, and clean stops on SIGTERM, SIGINT and
POST /_sim/shutdown."""

import json
import os
import select
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request

from simtest import HERE

SCRIPT = os.path.join(HERE, "ec2sim.py")
PYTHON = "/usr/bin/python3"


class CommandLine(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.port_file = os.path.join(self.dir.name, "port")

    def start(self, *args):
        proc = subprocess.Popen([PYTHON, SCRIPT, "--port-file", self.port_file] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def cleanup():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        self.addCleanup(cleanup)
        return proc

    def read_port(self, proc, limit):
        started = time.monotonic()
        ready, _, _ = select.select([proc.stdout], [], [], limit)
        if not ready:
            proc.kill()
            self.fail("no PORT line within %s s: %s" % (limit, proc.stderr.read()))
        line = proc.stdout.readline().decode()
        self.assertRegex(line, r"^PORT [1-9]\d*\n$")
        return int(line.split()[1]), time.monotonic() - started

    def admin(self, port, name, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("http://127.0.0.1:%d/_sim/%s" % (port, name), data=data,
                                     method="POST" if data else "GET")
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    def test_port_line_port_file_and_sigterm(self):
        proc = self.start("--seed", "3")
        port, took = self.read_port(proc, 5)
        self.assertLess(took, 2.0)
        with open(self.port_file) as f:
            self.assertEqual(f.read(), "%d\n" % port)
        self.assertTrue(self.admin(port, "health")["ok"])
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(5), 0)
        self.assertEqual(proc.stdout.read(), b"")
        self.assertFalse(os.path.exists(self.port_file))

    def test_sigint(self):
        proc = self.start()
        self.read_port(proc, 5)
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(5), 0)

    def test_state_file_and_admin_shutdown(self):
        state = os.path.join(self.dir.name, "state.json")
        with open(state, "w") as f:
            json.dump({"volumes": [{"id": "vol-00000000000000001"}],
                       "snapshots": [{"volume": "vol-00000000000000001",
                                      "start_time": "2025-01-01T00:00:00Z"}]}, f)
        proc = self.start("--state-file", state, "--clock", "2026-01-01T00:00:00Z",
                          "--freeze-clock", "--complete-after", "30")
        port, _ = self.read_port(proc, 5)
        seen = self.admin(port, "state")
        self.assertEqual(seen["now"], "2026-01-01T00:00:00.000Z")
        self.assertEqual([v["id"] for v in seen["volumes"]], ["vol-00000000000000001"])
        self.assertEqual(self.admin(port, "config")["complete_after"], 30.0)
        self.assertTrue(self.admin(port, "shutdown", {})["shutting_down"])
        self.assertEqual(proc.wait(5), 0)

    def test_bad_state_file(self):
        state = os.path.join(self.dir.name, "state.json")
        with open(state, "w") as f:
            json.dump({"volumes": [{"id": "vol-bad"}]}, f)
        proc = self.start("--state-file", state)
        self.assertEqual(proc.wait(5), 2)
        self.assertIn(b"malformed volume id", proc.stderr.read())
        self.assertFalse(os.path.exists(self.port_file))


if __name__ == "__main__":
    unittest.main()
