"""What a cron user relies on: with --quiet the run is silent exactly when
nothing needs a person, every warning reaches standard error once with
what to do, output cannot be forged by what EC2 returns, and a terminal
gets a clean progress line and colour (unless NO_COLOR)."""

import datetime
import json
import os
import pty
import subprocess
import unittest

from test_run import START, RunTest, iso


def owned(sid, vol, t, state="completed", policy="prod"):
    return {"id": sid, "volume": vol, "state": state, "start_time": iso(t),
            "tags": {"ec2backup:policy": policy,
                     "ec2backup:date": t.strftime("%Y-%m-%d")}}


class Quiet(RunTest):
    def test_silent_when_nothing_needs_a_person(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START)
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        r = self.run_tool("-q", "run", path)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_every_warning_reaches_cron(self):
        day = datetime.timedelta(days=1)
        self.at(START)
        self.seed_history(["vol-0000000a"], 6, START, extra=[
            owned("snap-0000e001", "vol-0000000a", START - 9 * day,
                  state="error"),
            owned("snap-0000dead", "vol-0000dead", START - day)])
        path = self.policy('keep = 2;\nmax_deletes = 1;\nvolumes = ( '
                           '{ id = "vol-0000000a"; }, '
                           '{ id = "vol-0000dead"; } );\n')
        r = self.run_tool("-q", "run", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertIn("ec2backup: warning: policy prod: vol-0000000a: "
                      "snap-0000e001: state error: not counted, never "
                      "deleted automatically; look at it (aws ec2 "
                      "describe-snapshots), then delete it by hand, or tag "
                      "it ec2backup:protect to keep it", lines)
        self.assertIn("ec2backup: warning: policy prod: vol-0000dead: volume "
                      "not found: nothing created or deleted, 1 snapshot "
                      "kept; if the volume was deleted on purpose, take it "
                      "out of the policy; its snapshots stay until you "
                      "delete them", lines)
        self.assertIn("ec2backup: warning: policy prod: 5 deletions exceed "
                      "max_deletes=1: none deleted; if so many deletions "
                      "are intended, raise max_deletes for one run", lines)
        # Once each, and nothing but warnings.
        self.assertEqual(len(lines), 3, r.stderr)
        self.assertEqual(len(set(lines)), 3)


class Forgery(RunTest):
    def test_descriptions_cannot_forge_lines(self):
        self.at(START)
        # What XML can carry: newlines, C1 controls, bidi overrides.
        evil = ("by hand\nprod  vol-0000000a\n  snap-0000ffff  completed  "
                "2026-03-01  owned  \u202edesrever")
        self.seed_history(["vol-0000000a"], 1, START, extra=[
            {"id": "snap-0000beef", "volume": "vol-0000000a",
             "state": "completed", "start_time": "2026-01-01T00:00:00Z",
             "description": evil,
             "tags": {"ec2backup:policy": "x\u0085\u2066y"}}])
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        r = self.run_tool("list", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 3, r.stdout)
        self.assertIn("by hand\\nprod  vol-0000000a\\n  snap-0000ffff", lines[2])
        self.assertIn("\\u{202e}desrever", lines[2])
        self.assertNotIn("\u202e", r.stdout)
        r = self.run_tool("plan", path)
        self.assertIn("owned by policy x\\u{0085}\\u{2066}y", r.stdout)
        self.assertNotIn("\u2066", r.stdout)
        # JSON carries the text as it is, escaped by JSON's own rules.
        r = self.run_tool("list", "-o", "json", path)
        snaps = json.loads(r.stdout)["volumes"][0]["snapshots"]
        self.assertEqual(snaps[-1]["description"], evil)


class Terminal(RunTest):
    def on_terminal(self, *args, extra_env=None):
        cmd, env = self.command(*args)
        env.pop("NO_COLOR", None)
        env.update(TERM="xterm", **(extra_env or {}))
        master, slave = pty.openpty()
        p = subprocess.Popen(cmd, env=env, stdout=slave, stderr=slave)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        p.wait(timeout=60)
        return p.returncode, b"".join(chunks).decode()

    def seed(self):
        self.at(START)
        vols = ["vol-0000000%d" % i for i in range(1, 6)]
        self.seed_history(vols, 3, START)
        # One delete refused, so a message comes while progress shows.
        self.sim.admin("revoke", {"actions": ["DeleteSnapshot"],
                                  "resources": ["snap-00000003000000003"]})
        # Slow enough that the line is drawn with a rate.
        self.sim.faults({"action": "*", "kind": "latency", "latency_ms": 150})
        return self.policy('keep = 2;\nvolumes = ( %s );\n' % ", ".join(
            '{ id = "%s"; }' % v for v in vols))

    def test_progress_is_cleared_before_every_message(self):
        path = self.seed()
        rc, tty = self.on_terminal("run", path)
        self.assertEqual(rc, 1, tty)
        self.assertIn("applying 15/15", tty)
        self.assertRegex(tty, r"applying \d+/15, [\d.]+ a second, about "
                         r"\d+ s left")
        # Every message starts on a clean line: the progress line was
        # cleared (\r and erase to the end) right before it.
        starts = [i for i in range(len(tty))
                  if tty.startswith("ec2backup: ", i)]
        self.assertTrue(starts)
        for i in starts:
            before = tty[max(0, i - 4):i]
            self.assertTrue(i == 0 or before.endswith("\n") or
                            before.endswith("\r\033[K"), repr(tty[i - 40:i]))
        self.assertNotRegex(tty, r"applying \d+/\d+[^\r\n\033]*ec2backup:")

    def test_colour_on_a_terminal_unless_no_color(self):
        path = self.seed()
        rc, tty = self.on_terminal("--dry-run", path)
        self.assertEqual(rc, 0, tty)
        self.assertIn("\033[32mcreate\033[0m", tty)
        self.assertIn("\033[31mdelete\033[0m", tty)
        rc, tty = self.on_terminal("--dry-run", path,
                                   extra_env={"NO_COLOR": "1"})
        self.assertNotIn("\033[", tty)
        # Not a terminal: never.
        r = self.run_tool("--dry-run", path)
        self.assertNotIn("\033[", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()


class TinyServer:
    """An HTTP server on loopback that answers every request the same way
    (or never), for endpoints EC2 would never be: stopped at the end."""

    def __init__(self, status=None, body=b"", headers=()):
        import http.server
        import threading
        answer = (status, body, headers)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if answer[0] is None:
                    self.server.hold.wait(120)   # never answers
                    return
                self.send_response(answer[0])
                for k, v in answer[2]:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer[1])))
                self.end_headers()
                self.wfile.write(answer[1])

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.hold = threading.Event()
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]

    def stop(self):
        self.server.hold.set()
        self.server.shutdown()
        self.server.server_close()


class ExitStatus(RunTest):
    """Every row of EXIT STATUS in ec2backup(8) not covered elsewhere."""

    POLICY = 'keep = 2;\nvolumes = ( { id = "vol-0000000a"; } );\n'

    def against(self, url, *args, **env):
        path = self.policy(self.POLICY)
        cmd, e = self.command(*args, path)
        cmd[cmd.index("--endpoint-url") + 1] = url
        e.update(env)
        return subprocess.run(cmd, env=e, capture_output=True, text=True,
                              timeout=180)

    def test_3_when_nothing_listens(self):
        srv = TinyServer(200)
        url = srv.url
        srv.stop()
        r = self.against(url, "run")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot reach EC2 at %s" % url, r.stderr)
        self.assertIn("nothing was done", r.stderr)
        self.assertNotIn("not found", r.stderr)

    def test_3_when_the_endpoint_never_answers(self):
        srv = TinyServer(None)
        self.addCleanup(srv.stop)
        r = self.against(srv.url, "run")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("does not answer", r.stderr)
        self.assertNotIn("volume not found", r.stderr + r.stdout)

    def test_3_for_a_401_in_another_error_shape(self):
        body = (b"<ErrorResponse><Errors><Error><Code>AuthFailure</Code>"
                b"<Message>AWS was not able to validate the provided access "
                b"credentials</Message></Error></Errors><RequestID>q-1"
                b"</RequestID></ErrorResponse>")
        srv = TinyServer(401, body)
        self.addCleanup(srv.stop)
        r = self.against(srv.url, "run")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("EC2 refused the credentials", r.stderr)
        self.assertIn("AuthFailure", r.stderr)
        srv2 = TinyServer(401, b"<html>no</html>")
        self.addCleanup(srv2.stop)
        r = self.against(srv2.url, "run")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("HTTP401: access refused", r.stderr)

    def test_2_for_a_missing_profile(self):
        r = self.against(self.sim.url, "--profile", "nosuch", "run")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("profile nosuch not found", r.stderr)

    def test_2_for_web_identity(self):
        token = os.path.join(self.dir, "token")
        with open(token, "w") as f:
            f.write("eyJ...")
        r = self.against(self.sim.url, "run", AWS_ACCESS_KEY_ID="",
                         AWS_SECRET_ACCESS_KEY="",
                         AWS_ROLE_ARN="arn:aws:iam::123456789012:role/b",
                         AWS_WEB_IDENTITY_TOKEN_FILE=token,
                         HOME=self.dir)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE ask for "
                      "web identity credentials", r.stderr)

    def test_2_and_no_hang_for_a_fifo_credentials_file(self):
        fifo = os.path.join(self.dir, "credentials")
        os.mkfifo(fifo)
        r = self.against(self.sim.url, "run", AWS_ACCESS_KEY_ID="",
                         AWS_SECRET_ACCESS_KEY="",
                         AWS_SHARED_CREDENTIALS_FILE=fifo, HOME=self.dir)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("%s: not a regular file" % fifo, r.stderr)

    def test_2_for_include(self):
        other = self.policy(self.POLICY, "other.cfg")
        path = self.policy('@include "%s"\n' % other, "main.cfg")
        r = self.run_tool("check", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn("main.cfg:1: error: @include is not supported",
                      r.stderr)

    def test_2_for_a_lock_file_of_another_user(self):
        lock = os.path.join(self.dir, "theirs.lock")
        with open(lock, "w"):
            pass
        os.chown(lock, 65534, 65534)
        path = self.policy(self.POLICY)
        cmd, env = self.command("run", path)
        cmd[cmd.index("--lock-file") + 1] = lock
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("is owned by another user", r.stderr)
        self.assertEqual(self.sim.log(), [])

    def test_default_lock_for_a_user_without_xdg_runtime_dir(self):
        uid = 65534
        home = os.path.join("/tmp", "ec2backup-%d" % uid)
        if os.path.exists(home):
            for f in os.listdir(home):
                os.unlink(os.path.join(home, f))
            os.rmdir(home)
        self.sim.seed(volumes=[{"id": "vol-0000000a"}])
        path = self.policy(self.POLICY)
        os.chmod(self.dir, 0o755)
        os.chmod(path, 0o644)
        cmd, env = self.command("run", path)
        i = cmd.index("--lock-file")
        del cmd[i:i + 2]
        env.pop("XDG_RUNTIME_DIR", None)
        env["HOME"] = self.dir
        r = subprocess.run(["setpriv", "--reuid=%d" % uid,
                            "--regid=%d" % uid, "--clear-groups"] + cmd,
                           env=env, capture_output=True, text=True,
                           timeout=60)
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", home]))
        self.assertEqual(r.returncode, 0, r.stderr)
        st = os.stat(home)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (uid, 0o700))
        self.assertTrue(os.path.exists(os.path.join(home, "ec2backup.lock")))


class Json(RunTest):
    def test_always_a_document(self):
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; '
                           '} );\n')
        srv = TinyServer(200)
        url = srv.url
        srv.stop()
        for args in (["run"], ["plan"], ["list"]):
            cmd, env = self.command("-o", "json", *args, path)
            cmd[cmd.index("--endpoint-url") + 1] = url
            r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 3, r.stderr)
            doc = json.loads(r.stdout)
            self.assertEqual(doc["status"], 3)
            self.assertTrue(any("cannot reach EC2" in e
                                for e in doc["errors"]), doc)
        bad = self.policy("keep = 0;\n", "bad.cfg")
        r = self.run_tool("-o", "json", "run", bad)
        doc = json.loads(r.stdout)
        self.assertEqual((r.returncode, doc["status"]), (2, 2))
        self.assertEqual(doc["problems"][0]["line"], 1)
        self.assertEqual(doc["problems"][0]["severity"], "error")
        r = self.run_tool("-o", "json", "check", bad, path)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["status"], 2)
        self.assertEqual(doc["files"], 2)
        self.assertEqual([p["name"] for p in doc["policies"]], ["prod"])
        self.assertTrue(doc["problems"][0]["file"].endswith("bad.cfg"))

    def test_warnings_and_status_in_a_good_document(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 4, START)
        path = self.policy('keep = 2;\nmax_deletes = 1;\nvolumes = ( '
                           '{ id = "vol-0000000a"; } );\n')
        r = self.run_tool("-o", "json", "run", path)
        doc = json.loads(r.stdout)
        self.assertEqual((r.returncode, doc["status"]), (1, 1))
        self.assertEqual(doc["result"]["created"], 1)
        self.assertIn("max_deletes", doc["warnings"][0])
        self.assertEqual(doc["plan"]["summary"]["warnings"], 1)


class Commands(RunTest):
    def test_typos_help_and_version(self):
        r = self.run_tool("lsit")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command 'lsit' (did you mean 'list'?)",
                      r.stderr)
        r = self.run_tool("help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: ec2backup", r.stdout)
        r = self.run_tool("version")
        self.assertRegex(r.stdout, r"^ec2backup \d+\.\d+\.\d+\n$")

    def test_now_takes_a_date_and_refuses_the_past(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START)
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; '
                           '} );\n')
        r = self.run_tool("-n", "--now", "2026-03-09", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("2026-03-09  no snapshot for today yet", r.stdout)
        r = self.run_tool("-n", "--now", "2026-02-20", path)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"--now 2026-02-20T\d\d:\d\d:\d\dZ is "
                         r"before snap-0000000a000000001 of vol-0000000a, "
                         r"which started at 2026-02-28T03:00:00Z")


class Modes(RunTest):
    """--create-only and --prune-only, for split schedules and catching
    up; copy_tags, for cost reports and names."""

    def seed(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 5, START)
        return self.policy('keep = 3;\nvolumes = ( { id = "vol-0000000a"; '
                           '} );\n')

    def test_create_only(self):
        path = self.seed()
        r = self.run_tool("--create-only", "run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("held (--create-only): beyond keep=3", r.stdout)
        self.assertEqual([e["action"] for e in self.mutations()],
                         ["CreateSnapshot"])
        r = self.run_tool("--create-only", "--prune-only", "run", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot be used together", r.stderr)

    def test_prune_only(self):
        path = self.seed()
        r = self.run_tool("--prune-only", "run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no snapshot for today, but --prune-only creates "
                      "none", r.stdout)
        # As if nothing were created: the three newest stay.
        self.assertEqual([e["action"] for e in self.mutations()],
                         ["DeleteSnapshot"] * 2)
        self.assertEqual(len(self.owned("vol-0000000a")), 3)

    def test_copy_tags(self):
        self.at(START)
        self.sim.seed(volumes=[
            {"id": "vol-0000000a", "tags": {"Name": "orders db",
                                            "CostCenter": "1234",
                                            "Backup": "yes"}},
            {"id": "vol-0000000b", "tags": {"Backup": "yes"}}])
        path = self.policy(
            'keep = 3;\ncopy_tags = ( "Name", "CostCenter" );\n'
            'snapshot_tags = ( { key = "Team"; value = "db"; } );\n'
            'volumes = ( { id = "vol-0000000a"; } );\n'
            'select = { tags = ( { key = "Backup"; value = "yes"; } ); };\n')
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        tags = {s["volume_id"]: s["tags"] for s in self.sim.state()
                ["snapshots"] if s["tags"].get("ec2backup:policy")}
        self.assertEqual(tags["vol-0000000a"]["Name"], "orders db")
        self.assertEqual(tags["vol-0000000a"]["CostCenter"], "1234")
        self.assertEqual(tags["vol-0000000a"]["Team"], "db")
        self.assertNotIn("Backup", tags["vol-0000000a"])
        self.assertEqual(tags["vol-0000000b"]["Name"],
                         "ec2backup prod 2026-03-01")
        self.assertNotIn("CostCenter", tags["vol-0000000b"])


class CaBundle(RunTest):
    """AWS_CA_BUNDLE is trusted for the container credentials endpoint as
    for EC2: an https endpoint whose certificate only the bundle vouches
    for."""

    def test_container_endpoint_over_tls(self):
        import http.server
        import ssl
        import threading
        import urllib.request
        cert = os.path.join(self.dir, "ca.pem")
        key = os.path.join(self.dir, "key.pem")
        r = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
             "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        upstream = self.sim.url + "/_container/v2/credentials/task-1"

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with urllib.request.urlopen(upstream, timeout=30) as u:
                    body = u.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        self.sim.seed(volumes=[{"id": "vol-0000000a"}])
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; '
                           '} );\n')
        full_uri = "https://127.0.0.1:%d/creds" % srv.server_address[1]
        for bundle, want in ((cert, 0), (None, 3)):
            cmd, env = self.command("plan", path)
            for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                env.pop(k, None)
            env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=full_uri,
                       HOME=self.dir)
            if bundle:
                env["AWS_CA_BUNDLE"] = bundle
            r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                               timeout=120)
            self.assertEqual(r.returncode, want, r.stderr)
            if want:
                self.assertIn("certificate", r.stderr)
