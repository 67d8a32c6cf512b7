"""A running EC2 emulator for integration tests: started as its own
process on an ephemeral loopback port, driven through its admin API, and
always stopped at the end of the test that started it."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.path.join(ROOT, "tests", "ec2sim", "ec2sim.py")
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"


class Emulator:
    def __init__(self, *args, seed=1):
        self.proc = subprocess.Popen(
            [sys.executable, SIM, "--seed", str(seed), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # blocks until it listens
        if not line.startswith("PORT "):
            self.proc.kill()
            err = self.proc.stderr.read()
            raise RuntimeError("emulator did not start: %r %s" % (line, err))
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def admin(self, name, body=None, method=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            "%s/_sim/%s" % (self.url, name), data=data,
            method=method or ("GET" if body is None else "POST"),
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise RuntimeError("/_sim/%s: %s" % (name, e.read().decode()))

    def seed(self, **body):
        return self.admin("seed", body)

    def faults(self, *rules):
        return self.admin("faults", {"rules": list(rules)})

    def state(self):
        return self.admin("state")

    def counters(self):
        return self.admin("counters")

    def log(self):
        return self.admin("log")["entries"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


def env_with_keys(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
               AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env
