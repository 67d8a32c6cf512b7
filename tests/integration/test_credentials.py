"""Credentials (src/credentials.c) against the emulator's instance metadata
and container endpoints, through the tests/tools/creds_probe driver:
IMDSv2 role credentials, IMDSv1 only when the token request is refused,
expiry and refresh (the emulator's clock is frozen and moved by the test
between two questions to the probe, never by waiting), the switch that
disables IMDS, container credentials with and without an authorization
token, and the region from the instance's placement."""

import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

from emulator import ROOT, Emulator

PROBE = os.environ.get("CREDS_PROBE",
                       os.path.join(ROOT, "build", "tools", "creds_probe"))
HAVE_PROBE = os.access(PROBE, os.X_OK)
if not HAVE_PROBE:
    print("SKIP: %s not built (make tools); credentials integration tests "
          "skipped" % PROBE, file=sys.stderr)

T0 = 1767225600                      # 2026-01-01T00:00:00Z
ROLE = "ec2backup-test-role"
CREDS = "/latest/meta-data/iam/security-credentials/"
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def fields(out):
    """The probe's "name: value" lines (not the "at" lines)."""
    d = {}
    for line in out.splitlines():
        if not line.startswith("at "):
            name, _, value = line.partition(": ")
            d[name] = value
    return d


def at_lines(out):
    return [line for line in out.splitlines() if line.startswith("at ")]


class Interactive:
    """A probe that answers one time per line of its standard input, so
    the test can change the emulator between two answers."""

    def __init__(self, test, env, *args):
        self.proc = subprocess.Popen(
            [PROBE, "--no-region", *args, "--at", "-"], env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1)
        # Only a safety net for a hung probe; nothing waits on it.
        self.watchdog = threading.Timer(60, self.proc.kill)
        self.watchdog.start()
        test.addCleanup(self.close)
        self.header = {}
        while True:
            line = self.proc.stdout.readline()
            if not line:
                test.fail("probe ended: %s" % self.proc.stderr.read())
            name, _, value = line.rstrip("\n").partition(": ")
            self.header[name] = value
            if name == "expiration":
                break

    def at(self, t):
        self.proc.stdin.write("%d\n" % t)
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().rstrip("\n")
        prefix = "at %d: " % t
        if not line.startswith(prefix):
            raise AssertionError("unexpected answer %r" % line)
        return line[len(prefix):]

    def finish(self):
        self.proc.stdin.close()
        out = self.proc.stdout.read()
        err = self.proc.stderr.read()
        rc = self.proc.wait()
        self.watchdog.cancel()
        return rc, out, err

    def close(self):
        self.watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if not f.closed:
                f.close()


class TokenRefusingImds:
    """An instance metadata service from before session tokens: the token
    PUT gets `status`; every other request goes on to the emulator."""

    def __init__(self, target, status):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, code, body=b""):
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self):
                self.reply(status)

            def do_GET(self):
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() == "x-aws-ec2-metadata-token"}
                req = urllib.request.Request(target + self.path,
                                             headers=headers)
                try:
                    with urllib.request.urlopen(req, timeout=30) as r:
                        self.reply(r.status, r.read())
                except urllib.error.HTTPError as e:
                    self.reply(e.code, e.read())

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@unittest.skipUnless(HAVE_PROBE, "SKIP: %s not built" % PROBE)
class CredentialsTest(unittest.TestCase):
    sim_args = ("--clock", "2026-01-01T00:00:00Z", "--freeze-clock")

    def setUp(self):
        self.sim = Emulator(*self.sim_args)
        self.addCleanup(self.sim.stop)
        home = tempfile.TemporaryDirectory()
        self.addCleanup(home.cleanup)
        self.home = home.name

    def env(self, **extra):
        """No AWS_ variable or proxy from outside; IMDS is the emulator."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k.lower() not in PROXY_VARS}
        env["HOME"] = self.home
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = self.sim.url
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def probe(self, *args, env=None):
        return subprocess.run([PROBE, *args], env=env or self.env(),
                              capture_output=True, text=True, timeout=60)

    def metadata_log(self):
        return [e for e in self.sim.log() if e["kind"] in ("imds",
                                                          "container")]

    def direct_imds_credentials(self):
        """The role's credentials as the emulator hands them out now."""
        def call(method, path, headers):
            req = urllib.request.Request(self.sim.url + path, method=method,
                                         headers=headers)
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.read().decode()
        token = call("PUT", "/latest/api/token",
                     {"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        h = {"X-aws-ec2-metadata-token": token}
        return json.loads(call("GET", CREDS + call("GET", CREDS, h), h))


class InstanceRole(CredentialsTest):
    def test_imdsv2_role_credentials(self):
        r = self.probe("--debug", "--at", str(T0))
        self.assertEqual(r.returncode, 0, r.stderr)
        f = fields(r.stdout)
        self.assertEqual(f["source"], "instance role %s (IMDSv2)" % ROLE)
        self.assertEqual(f["token"], "yes")
        self.assertEqual(f["expiration"], "2026-01-01T06:00:00Z")
        self.assertEqual(f["region"], "us-east-1 (from instance metadata)")
        self.assertEqual(f["endpoint"],
                         "https://ec2.us-east-1.amazonaws.com (from the region)")
        issued = self.direct_imds_credentials()
        self.assertEqual(f["access_key_id"], issued["AccessKeyId"])
        self.assertEqual(at_lines(r.stdout),
                         ["at %d: %s" % (T0, issued["AccessKeyId"])])
        # Neither the secret nor the session token, even at debug level.
        for secret in (issued["SecretAccessKey"], issued["Token"]):
            self.assertNotIn(secret, r.stdout + r.stderr)
        log = self.metadata_log()
        self.assertEqual([(e["method"], e["params"]["path"]) for e in log[:3]],
                         [("PUT", "/latest/api/token"), ("GET", CREDS),
                          ("GET", CREDS + ROLE)])
        self.assertTrue(all(e["status"] == 200 for e in log))
        self.assertFalse([e for e in log if e.get("imds_v1")])

    def test_no_role(self):
        self.sim.admin("config", {"role_name": ""})
        r = self.probe("--no-region")
        self.assertEqual(r.returncode, 3)
        self.assertIn("and the instance has no IAM role (instance metadata); "
                      "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY", r.stderr)

    def test_metadata_disabled(self):
        r = self.probe(env=self.env(AWS_EC2_METADATA_DISABLED="true"))
        self.assertEqual(r.returncode, 3)
        self.assertEqual(r.stderr.strip(), (
            "creds_probe: no AWS credentials found: not in the environment, "
            "not in ~/.aws/credentials or ~/.aws/config (profile default), "
            "no container credentials, and the instance metadata service is "
            "disabled (AWS_EC2_METADATA_DISABLED); set AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, configure a profile, or attach an "
            "instance role"))
        # Nor for the region.
        r = self.probe(env=self.env(AWS_EC2_METADATA_DISABLED="true",
                                    AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
                                    AWS_SECRET_ACCESS_KEY="secret"))
        self.assertEqual(r.returncode, 3)
        self.assertIn("creds_probe: no AWS region: use --region", r.stderr)
        self.assertEqual(self.metadata_log(), [])

    def test_short_timeout(self):
        self.sim.faults({"action": "IMDS", "kind": "latency",
                         "latency_ms": 3000, "count": 1})
        started = time.monotonic()
        r = self.probe("--no-region",
                       env=self.env(AWS_METADATA_SERVICE_TIMEOUT="1"))
        self.assertLess(time.monotonic() - started, 2.5)
        self.assertEqual(r.returncode, 3)
        self.assertIn("and the instance metadata service did not answer;",
                      r.stderr)
        # A token request that timed out is no reason to try IMDSv1.
        self.assertFalse([e for e in self.metadata_log() if e.get("imds_v1")])

    def test_longer_timeout(self):
        self.sim.faults({"action": "IMDS", "kind": "latency",
                         "latency_ms": 1500, "count": 1})
        r = self.probe("--no-region",
                       env=self.env(AWS_METADATA_SERVICE_TIMEOUT="5"))
        self.assertEqual(r.returncode, 0, r.stderr)


class ImdsV1(CredentialsTest):
    def token_refusing(self, status):
        imds = TokenRefusingImds(self.sim.url, status)
        self.addCleanup(imds.stop)
        return self.env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)

    def test_emulator_requiring_tokens_still_answers_v2(self):
        self.sim.admin("config", {"imds_v1_disabled": True})
        r = self.probe()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(fields(r.stdout)["source"],
                         "instance role %s (IMDSv2)" % ROLE)
        self.assertFalse([e for e in self.metadata_log()
                          if e.get("code") == "token-required"])

    def test_v1_after_token_refused(self):
        for status in (403, 404, 405):
            with self.subTest(status=status):
                r = self.probe("--no-region", env=self.token_refusing(status))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(fields(r.stdout)["source"],
                                 "instance role %s (IMDSv1)" % ROLE)
        gets = [e for e in self.metadata_log() if e["method"] == "GET"]
        self.assertEqual(len(gets), 6)
        self.assertTrue(all(e.get("imds_v1") for e in gets))

    def test_v1_refused_when_tokens_required(self):
        self.sim.admin("config", {"imds_v1_disabled": True})
        r = self.probe("--no-region", env=self.token_refusing(403))
        self.assertEqual(r.returncode, 3)
        self.assertIn("and the instance metadata service requires a session "
                      "token but refused to give one;", r.stderr)
        self.assertEqual([e.get("code") for e in self.metadata_log()],
                         ["token-required"])

    def test_v1_disabled_on_our_side(self):
        r = self.probe("--no-region", env=dict(
            self.token_refusing(405), AWS_EC2_METADATA_V1_DISABLED="true"))
        self.assertEqual(r.returncode, 3)
        self.assertIn("refused a session token (HTTP 405) and "
                      "AWS_EC2_METADATA_V1_DISABLED forbids IMDSv1", r.stderr)
        self.assertEqual(self.metadata_log(), [])

    def test_no_v1_after_a_server_error(self):
        self.sim.faults({"action": "IMDS", "kind": "internal_error",
                         "count": 1})
        r = self.probe("--no-region")
        self.assertEqual(r.returncode, 3)
        self.assertIn("answered HTTP 500 to the session token request",
                      r.stderr)
        log = self.metadata_log()
        self.assertEqual([(e["method"], e["status"]) for e in log],
                         [("PUT", 500)])


class Refresh(CredentialsTest):
    def test_refresh_before_expiration(self):
        self.sim.admin("credentials", {"lifetime": 3600})
        p = Interactive(self, self.env())
        first = p.header["access_key_id"]
        self.assertEqual(p.header["expiration"], "2026-01-01T01:00:00Z")
        self.assertEqual(p.at(T0 + 60), first)
        self.assertEqual(p.at(T0 + 3600 - 301), first)
        asked = len(self.metadata_log())
        self.assertEqual(asked, 3)   # nothing asked before it was due
        # The emulator hands out new ones 5 minutes before the end too.
        self.sim.admin("clock", {"set": iso(T0 + 3600 - 250)})
        second = p.at(T0 + 3600 - 250)
        self.assertNotEqual(second, first)
        self.assertTrue(second.startswith("ASIA"))
        log = self.metadata_log()[asked:]
        self.assertEqual([(e["method"], e["params"]["path"]) for e in log],
                         [("GET", CREDS), ("GET", CREDS + ROLE)])
        self.assertEqual(p.at(T0 + 3600 + 100), second)
        rc, out, err = p.finish()
        self.assertEqual((rc, out, err), (0, "", ""))

    def test_keep_then_fail_when_refresh_fails(self):
        self.sim.admin("credentials", {"lifetime": 3600})
        p = Interactive(self, self.env())
        first = p.header["access_key_id"]
        self.sim.faults({"action": "IMDS", "kind": "internal_error"})
        self.sim.admin("clock", {"set": iso(T0 + 3500)})
        # Due, but the service fails: the current ones are still good.
        self.assertEqual(p.at(T0 + 3500), first)
        self.assertEqual(p.at(T0 + 3599), first)
        answer = p.at(T0 + 3600)
        self.assertEqual(answer, (
            "error: the credentials from instance role %s (IMDSv2) expired "
            "at 2026-01-01T01:00:00Z and cannot be refreshed: the instance "
            "metadata service answered HTTP 500 for the role name" % ROLE))
        # Once it answers again, so do the credentials.
        self.sim.admin("faults", {"clear": True})
        self.sim.admin("clock", {"set": iso(T0 + 3700)})
        self.assertNotEqual(p.at(T0 + 3700), first)
        rc, out, err = p.finish()
        self.assertEqual(rc, 3)
        self.assertIn("warning: instance role %s (IMDSv2): cannot refresh the "
                      "credentials: the instance metadata service answered "
                      "HTTP 500 for the role name; using the current ones, "
                      "valid until 2026-01-01T01:00:00Z" % ROLE, err)
        # T0+3500, then T0+3599 (a minute later: asked again), T0+3600.
        self.assertEqual(err.count("cannot refresh"), 2)

    def test_expired_session_token_is_renewed(self):
        self.sim.admin("credentials", {"lifetime": 3600})
        p = Interactive(self, self.env())
        first = p.header["access_key_id"]
        # Beyond the token's 6 hours on the emulator's clock: a 401.
        self.sim.admin("clock", {"set": iso(T0 + 30000)})
        second = p.at(T0 + 30000)
        self.assertNotEqual(second, first)
        log = self.metadata_log()
        self.assertEqual([(e["method"], e["status"], e.get("code"))
                          for e in log[3:]],
                         [("GET", 401, "token-invalid"), ("PUT", 200, None),
                          ("GET", 200, None), ("GET", 200, None)])
        self.assertEqual(p.finish()[0], 0)

    def test_times_given_on_the_command_line(self):
        self.sim.admin("credentials", {"lifetime": 3600})
        r = self.probe("--no-region", "--at", str(T0), "--at",
                       str(T0 + 3000), "--at", str(T0 + 3600))
        self.assertEqual(r.returncode, 3)
        key = fields(r.stdout)["access_key_id"]
        lines = at_lines(r.stdout)
        self.assertEqual(lines[:2], ["at %d: %s" % (T0, key),
                                     "at %d: %s" % (T0 + 3000, key)])
        # The emulator's clock stood still: the same ones came back, and
        # by T0+3600 they had expired.
        self.assertIn("expired at 2026-01-01T01:00:00Z (is the clock right?)",
                      lines[2])


class Container(CredentialsTest):
    def container_env(self, **extra):
        return self.env(AWS_CONTAINER_CREDENTIALS_FULL_URI=self.sim.url +
                        "/_container/v2/credentials/task-1", **extra)

    def test_container_before_imds(self):
        r = self.probe("--no-region", env=self.container_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        f = fields(r.stdout)
        self.assertEqual(f["source"], "container credentials")
        self.assertEqual(f["token"], "yes")
        self.assertTrue(f["access_key_id"].startswith("ASIA"))
        self.assertEqual(f["expiration"], "2026-01-01T06:00:00Z")
        self.assertEqual([e["action"] for e in self.metadata_log()],
                         ["ContainerCredentials"])

    def test_authorization_token(self):
        self.sim.admin("credentials", {"container_token": "Bearer t0k3n"})
        r = self.probe("--no-region", env=self.container_env())
        self.assertEqual(r.returncode, 3)
        self.assertIn("creds_probe: container credentials from %s: HTTP 401: "
                      "AccessDenied: invalid authorization token" % self.sim.url,
                      r.stderr)
        r = self.probe("--no-region", env=self.container_env(
            AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer t0k3n"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(fields(r.stdout)["source"], "container credentials")
        path = os.path.join(self.home, "token")
        with open(path, "w") as f:
            f.write("Bearer t0k3n\n")
        r = self.probe("--no-region", env=self.container_env(
            AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=path,
            AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong"))
        self.assertEqual(r.returncode, 0, r.stderr)
        codes = [e.get("code") for e in self.metadata_log()]
        self.assertEqual(codes, ["unauthorized", None, None])

    def test_token_with_line_break_is_not_sent(self):
        r = self.probe("--no-region", env=self.container_env(
            AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer x\r\nX-Injected: 1"))
        self.assertEqual(r.returncode, 3)
        self.assertIn("AWS_CONTAINER_AUTHORIZATION_TOKEN: the token contains "
                      "a line break", r.stderr)
        self.assertEqual(self.metadata_log(), [])

    def test_full_uri_host_not_allowed(self):
        r = self.probe("--no-region", env=self.env(
            AWS_CONTAINER_CREDENTIALS_FULL_URI="http://169.254.169.254/x"))
        self.assertEqual(r.returncode, 3)
        self.assertIn("AWS_CONTAINER_CREDENTIALS_FULL_URI must be an https "
                      "URL, or http to a loopback address", r.stderr)
        self.assertEqual(self.metadata_log(), [])

    def test_container_refresh(self):
        self.sim.admin("credentials", {"lifetime": 1200})
        p = Interactive(self, self.container_env())
        first = p.header["access_key_id"]
        self.assertEqual(p.at(T0 + 10), first)
        self.sim.admin("clock", {"set": iso(T0 + 1000)})
        second = p.at(T0 + 1000)
        self.assertNotEqual(second, first)
        self.assertEqual(p.finish()[0], 0)
        self.assertEqual([e["action"] for e in self.metadata_log()],
                         ["ContainerCredentials"] * 2)


class Region(CredentialsTest):
    sim_args = CredentialsTest.sim_args + ("--region", "eu-north-1")

    def keys(self, **extra):
        return self.env(AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
                        AWS_SECRET_ACCESS_KEY="secret", **extra)

    def test_region_from_placement(self):
        r = self.probe(env=self.keys())
        self.assertEqual(r.returncode, 0, r.stderr)
        f = fields(r.stdout)
        self.assertEqual(f["source"], "environment variables")
        self.assertEqual(f["region"], "eu-north-1 (from instance metadata)")
        self.assertEqual(f["endpoint"], "https://ec2.eu-north-1.amazonaws.com"
                         " (from the region)")
        self.assertEqual([(e["method"], e["params"]["path"])
                          for e in self.metadata_log()],
                         [("PUT", "/latest/api/token"),
                          ("GET", "/latest/meta-data/placement/region")])

    def test_earlier_sources_win(self):
        r = self.probe("--policy-region", "ap-south-1",
                       env=self.keys(AWS_REGION="us-west-2"))
        self.assertEqual(fields(r.stdout)["region"],
                         "ap-south-1 (from the policy)")
        r = self.probe(env=self.keys(AWS_REGION="us-west-2",
                                     AWS_ENDPOINT_URL_EC2=self.sim.url))
        self.assertEqual(fields(r.stdout)["region"],
                         "us-west-2 (from AWS_REGION)")
        self.assertEqual(fields(r.stdout)["endpoint"],
                         "%s (from AWS_ENDPOINT_URL_EC2)" % self.sim.url)
        self.assertEqual(self.metadata_log(), [])


if __name__ == "__main__":
    unittest.main()
