"""The daily run end to end: ec2backup itself against the emulator, its
clock and the emulator's moved together a day at a time (libfaketime for
the binary, the admin API for the emulator).

The invariants every scenario ends with: no day has two snapshots of a
volume, nothing the policy keeps is missing, and snapshots the policy
does not own are never touched."""

import datetime
import fcntl
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from emulator import REGION, ROOT, Emulator, env_with_keys

BINARY = os.path.abspath(os.environ.get("EC2BACKUP",
                                         os.path.join(ROOT, "ec2backup")))
# Without sanitizers: valgrind and LD_PRELOAD checkers need it.
PLAIN_BINARY = os.path.join(ROOT, "ec2backup")
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
MUTATING = {"CreateSnapshot", "DeleteSnapshot", "CreateTags"}
START = datetime.datetime(2026, 3, 1, 3, 0, 0, tzinfo=datetime.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@unittest.skipUnless(os.access(BINARY, os.X_OK), "SKIP: ec2backup not built")
class RunTest(unittest.TestCase):
    policy_name = "prod"

    def setUp(self):
        self.sim = Emulator()
        self.addCleanup(self.sim.stop)
        self.dir = tempfile.mkdtemp(prefix="ec2backup-run-")
        self.addCleanup(shutil.rmtree, self.dir)
        self.lock = os.path.join(self.dir, "lock")

    def policy(self, text, name="prod.cfg"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def at(self, t):
        """Moves the emulator's clock to t; runs then happen at t."""
        self.now = t
        self.sim.admin("clock", {"set": iso(t)})

    def command(self, *args, at=None, binary=None):
        env = env_with_keys()
        t = at or getattr(self, "now", None)
        if t is not None:
            env.update(LD_PRELOAD=FAKETIME, FAKETIME="@" +
                       t.strftime("%Y-%m-%d %H:%M:%S"),
                       DONT_FAKE_MONOTONIC="1", TZ="UTC")
        return [binary or BINARY, "--endpoint-url", self.sim.url,
                "--region", REGION,
                "--lock-file", self.lock, *args], env

    def run_tool(self, *args, at=None, timeout=120):
        cmd, env = self.command(*args, at=at)
        return subprocess.run(cmd, env=env, capture_output=True, text=True,
                              timeout=timeout)

    def seed_history(self, volumes, days, end, policy="prod", extra=()):
        """One completed, owned snapshot a day for `days` days before
        `end` (exclusive), at 03:00 UTC, for each volume."""
        snaps = []
        for v in volumes:
            for d in range(1, days + 1):
                t = end - datetime.timedelta(days=d)
                snaps.append({
                    "id": "snap-%s%09x" % (v[4:], d), "volume": v,
                    "state": "completed", "start_time": iso(t),
                    "tags": {"ec2backup:policy": policy,
                             "ec2backup:date": t.strftime("%Y-%m-%d")}})
        self.sim.seed(volumes=[{"id": v} for v in volumes],
                      snapshots=snaps + list(extra))

    def snaps(self, volume):
        return [s for s in self.sim.state()["snapshots"]
                if s["volume_id"] == volume]

    def owned(self, volume, policy="prod"):
        return [s for s in self.snaps(volume)
                if s["tags"].get("ec2backup:policy") == policy]

    def complete_all(self):
        self.sim.admin("complete", {})

    def assert_invariants(self, volumes, keep, today, policy="prod"):
        """At most one snapshot a day; the newest `keep` days still
        there (today's counts only if it was made)."""
        for v in volumes:
            owned = [s for s in self.owned(v, policy) if s["state"] != "error"]
            days = [s["tags"]["ec2backup:date"] for s in owned]
            self.assertEqual(len(days), len(set(days)),
                             "%s has two snapshots on one day: %s" % (v, days))
            have = set(days)
            want = [(today - datetime.timedelta(days=d)).strftime("%Y-%m-%d")
                    for d in range(0, keep + 1)]
            # Without today's, the keep days before it must all remain.
            expected = want[:keep] if want[0] in have else want[1:keep + 1]
            missing = [d for d in expected if d not in have]
            self.assertEqual(missing, [], "%s lost kept days" % v)

    def mutations(self, since=0):
        return [e for e in self.sim.log()
                if e["seq"] > since and e.get("action") in MUTATING]


class DailyRuns(RunTest):
    def test_sixty_days(self):
        a, b, c = "vol-0000000a", "vol-0000000b", "vol-0000000c"
        unmanaged = [{"id": "snap-0b00000%d" % i, "volume": b,
                      "state": "completed",
                      "start_time": "2026-01-0%dT00:00:00Z" % (i + 1)}
                     for i in range(3)]
        self.sim.seed(volumes=[{"id": a}, {"id": b},
                               {"id": c, "tags": {"Backup": "daily"}}],
                      snapshots=unmanaged)
        path = self.policy(
            'keep = 7;\nvolumes = ( { id = "%s"; }, { id = "%s"; } );\n'
            'select = { tags = ( { key = "Backup"; value = "daily"; } ); };\n'
            % (a, b))
        for day in range(60):
            self.at(START + datetime.timedelta(days=day))
            r = self.run_tool("-q", "run", path)
            self.assertEqual(r.returncode, 0, "day %d: %s" % (day, r.stderr))
            self.assertEqual(r.stderr, "")  # cron mails only problems
            self.complete_all()
        last = self.now
        for v in (a, b, c):
            owned = self.owned(v)
            self.assertEqual(len(owned), 7, v)
            self.assertEqual(
                sorted(s["tags"]["ec2backup:date"] for s in owned),
                [(last - datetime.timedelta(days=d)).strftime("%Y-%m-%d")
                 for d in range(6, -1, -1)])
        self.assertEqual(sorted(s["id"] for s in self.snaps(b)
                                if s["id"].startswith("snap-0b")),
                         [u["id"] for u in unmanaged])

    def test_dry_run_changes_nothing(self):
        vols = ["vol-0000000a"]
        self.at(START)
        self.seed_history(vols, 10, START)
        path = self.policy('keep = 3;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        before = self.sim.state()["snapshots"]
        for args in (["--dry-run", path], ["-n", "run", path], ["plan", path],
                     ["plan", "-o", "json", path],
                     ["--dry-run", "--now", "2026-03-05T03:00:00Z", path]):
            r = self.run_tool(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("create", r.stdout)
            self.assertIn("delete", r.stdout)
        self.assertEqual(self.mutations(), [])
        self.assertEqual(self.sim.state()["snapshots"], before)

    def test_now_plans_for_another_day(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START)
        path = self.policy('keep = 3;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        r = self.run_tool("-n", "--now", "2026-03-09T03:00:00Z", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("2026-03-09", r.stdout.splitlines()[0])
        r = self.run_tool("run", "--now", "2026-03-09T03:00:00Z", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--now plans as if it were another time; it needs "
                      "--dry-run", r.stderr)

    def test_invalid_policy_sends_nothing(self):
        good = self.policy('keep = 3;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        bad = self.policy('kepe = 3;\nvolumes = ( { id = "vol-0000000a"; } );\n',
                          "bad.cfg")
        r = self.run_tool("run", good, bad)
        self.assertEqual(r.returncode, 2)
        self.assertIn("bad.cfg:1: error: unknown setting 'kepe'", r.stderr)
        self.assertIn("nothing was done", r.stderr)
        self.assertEqual(self.sim.log(), [])

    def test_skips_pending_and_todays(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START, extra=[
            {"id": "snap-0000beef", "volume": "vol-0000000a",
             "state": "pending", "start_time": iso(START),
             "tags": {"ec2backup:policy": "prod",
                      "ec2backup:date": "2026-03-01"}}])
        path = self.policy('keep = 3;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"skip .*snap-0000beef")
        # The pending one takes a slot: the oldest goes, nothing is made.
        self.assertEqual([e["action"] for e in self.mutations()],
                         ["DeleteSnapshot"])
        self.complete_all()
        seq = self.sim.log()[-1]["seq"] if self.sim.log() else 0
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([e["action"] for e in self.mutations(seq)
                          if e["action"] == "CreateSnapshot"], [])

    def test_failed_create_keeps_what_it_would_replace(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START)
        self.sim.faults({"action": "CreateSnapshot", "kind": "unavailable"})
        path = self.policy('keep = 3;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        r = self.run_tool("run", path, "--timeout", "60",
                          "--lookup-timeout", "5")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("CreateSnapshot: Unavailable: ", r.stderr)
        self.assertIn("no snapshot was made", r.stderr)
        self.assertIn("kept: today's snapshot was not created", r.stderr)
        self.assertEqual(len(self.owned("vol-0000000a")), 3)
        self.assertEqual([e["action"] for e in self.mutations()
                          if e["action"] == "DeleteSnapshot"], [])

    def test_ami_in_use_is_kept(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 5, START)
        oldest = "snap-0000000a000000005"
        self.sim.seed(images=[{"id": "ami-0000000a", "snapshot_ids": [oldest]}])
        path = self.policy('keep = 3;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"keep +%s .*used by ami-0000000a" % oldest)
        ids = {s["id"] for s in self.owned("vol-0000000a")}
        self.assertIn(oldest, ids)
        self.assertNotIn("snap-0000000a000000004", ids)
        self.assertNotIn("InvalidSnapshot.InUse", r.stderr)

    def test_unanswered_ami_check_keeps_the_candidates(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 4, START)
        self.sim.faults({"action": "DescribeImages", "kind": "unavailable"})
        path = self.policy('keep = 3;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        r = self.run_tool("run", path)
        # Not knowing which are in use, it deletes none of them, but
        # today's snapshot is still made.
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("DescribeImages: cannot tell which AMIs use", r.stderr)
        self.assertRegex(r.stdout, r"keep +snap-0000000a000000004 .*whether "
                         r"an AMI uses it could not be checked")
        self.assertEqual(len(self.owned("vol-0000000a")), 5)

    def test_missing_volume_keeps_its_snapshots(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 5, START)
        # Snapshots of a volume EC2 no longer has: maybe the last copy.
        self.sim.seed(snapshots=[
            {"id": "snap-0000dead%09x" % d, "volume": "vol-0000dead",
             "state": "completed",
             "start_time": iso(START - datetime.timedelta(days=d)),
             "tags": {"ec2backup:policy": "prod"}} for d in range(1, 6)])
        path = self.policy('keep = 1;\nvolumes = ( { id = "vol-0000dead"; } );\n')
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stdout, r"warn .*volume not found")
        self.assertEqual(self.mutations(), [])
        self.assertEqual(len(self.owned("vol-0000dead")), 5)

    def test_deletes_wait_only_for_their_own_create(self):
        self.at(START)
        waiting = ["vol-0000000%d" % i for i in range(1, 7)]
        self.seed_history(waiting, 3, START)          # keep 3: 1 waits
        self.seed_history(["vol-0000000f"], 9, START)  # 6 go regardless
        path = self.policy('keep = 3;\nvolumes = ( %s );\n' % ", ".join(
            '{ id = "%s"; }' % v for v in waiting + ["vol-0000000f"]))
        self.sim.faults({"action": "CreateSnapshot", "kind": "latency",
                         "latency_ms": 300})
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        log = [e for e in self.sim.log() if e["action"] in MUTATING]
        created = {e["params"]["VolumeId"]: e["seq"] for e in log
                   if e["action"] == "CreateSnapshot"}
        deletes = [(e["params"]["SnapshotId"], e["seq"]) for e in log
                   if e["action"] == "DeleteSnapshot"]
        # 6 volumes x 1, and 7 of the 9: days 4-9 beyond keep anyway,
        # day 3 only because today's takes a place.
        self.assertEqual(len(deletes), 6 + 7)
        free = {"snap-0000000f%09x" % d for d in range(4, 10)}
        for snap, seq in deletes:
            if snap not in free:
                # Logged when answered: after its create was answered.
                self.assertGreater(seq, created["vol-" + snap[5:13]], snap)
        # The deletes that wait for nothing did not wait for the slow
        # creates either.
        self.assertEqual({snap for snap, _ in deletes} & free, free)
        self.assertLess(max(seq for snap, seq in deletes if snap in free),
                        min(created.values()))

    def test_max_deletes_trips(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 6, START)
        path = self.policy('keep = 2;\nmax_deletes = 2;\n'
                           'volumes = ( { id = "vol-0000000a"; } );\n')
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 1, r.stderr)  # a warning: needs a person
        self.assertRegex(r.stdout, r"max_deletes")
        self.assertEqual([e["action"] for e in self.mutations()],
                         ["CreateSnapshot"])
        self.assertEqual(len(self.owned("vol-0000000a")), 7)

    def test_lock_held(self):
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        with open(self.lock, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write("%d\n" % os.getpid())
            f.flush()
            r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 4)
        self.assertEqual(r.stderr, "ec2backup: error: another run (pid %d) "
                         "holds the lock %s; nothing was done\n"
                         % (os.getpid(), self.lock))
        self.assertEqual(self.sim.log(), [])

    def test_list_and_json(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 2, START, extra=[
            {"id": "snap-0000beef", "volume": "vol-0000000a",
             "state": "completed", "start_time": "2026-01-01T00:00:00Z",
             "description": "by hand"}])
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; '
                           'description = "db"; } );\n')
        r = self.run_tool("list", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "prod  vol-0000000a  db")
        self.assertEqual(lines[1].split(), ["snap-0000000a000000001", "completed",
                                            "2026-02-28",
                                            "2026-02-28T03:00:00Z", "owned"])
        self.assertEqual(lines[3].split(), ["snap-0000beef", "completed",
                                            "2026-01-01",
                                            "2026-01-01T00:00:00Z", "-",
                                            "by", "hand"])
        import json
        r = self.run_tool("list", "-o", "json", path)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["volumes"][0]["volume"], "vol-0000000a")
        self.assertEqual([s["owned"] for s in doc["volumes"][0]["snapshots"]],
                         [True, True, False])
        r = self.run_tool("run", "-o", "json", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["result"]["created"], 1)
        self.assertEqual(doc["result"]["deleted"], 1)
        self.assertEqual(doc["plan"]["summary"]["delete"], 1)
        self.assertEqual({o["outcome"] for o in doc["result"]["outcomes"]},
                         {"done"})


class Progress(RunTest):
    def test_progress_only_on_a_terminal(self):
        import pty
        self.at(START)
        self.seed_history(["vol-0000000a", "vol-0000000b"], 3, START)
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; },'
                           ' { id = "vol-0000000b"; } );\n')
        cmd, env = self.command("run", path)
        master, slave = pty.openpty()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                             stderr=slave, text=True)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the other end closed
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        p.wait(timeout=60)
        p.stdout.close()
        tty = b"".join(chunks).decode()
        self.assertEqual(p.returncode, 0, tty)
        # 2 creates and 4 deletes, counted as they end.
        self.assertIn("\rapplying 6/6", tty)
        self.complete_all()
        self.at(START + datetime.timedelta(days=1))
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("applying", r.stderr)


@unittest.skipUnless(shutil.which("valgrind"), "SKIP: valgrind not installed")
class Valgrind(RunTest):
    def test_run_and_list_are_valgrind_clean(self):
        self.at(START)
        self.seed_history(["vol-0000000a", "vol-0000000b"], 4, START)
        self.sim.seed(images=[{"id": "ami-0000000a",
                               "snapshot_ids": ["snap-0000000a000000004"]}])
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; },'
                           ' { id = "vol-0000000b"; } );\n')
        for args in (["-v", "run", path], ["list", "-o", "json", path]):
            cmd, env = self.command(*args, binary=PLAIN_BINARY)
            env.pop("LD_PRELOAD", None)  # valgrind and libfaketime disagree
            self.sim.admin("clock", {"set": iso(datetime.datetime.now(
                datetime.timezone.utc))})
            r = subprocess.run(
                ["valgrind", "--quiet", "--error-exitcode=99",
                 "--leak-check=full", "--errors-for-leak-kinds=definite",
                 *cmd], env=env, capture_output=True, text=True,
                timeout=300)
            self.assertNotEqual(r.returncode, 99, r.stderr[-4000:])
            self.assertIn(r.returncode, (0, 1), r.stderr[-2000:])


class Refusals(RunTest):
    POLICY = 'keep = 2;\nvolumes = ( { id = "vol-0000000a"; } );\n'

    def test_wrong_secret_is_exit_3_before_any_change(self):
        self.sim.seed(volumes=[{"id": "vol-0000000a"}])
        path = self.policy(self.POLICY)
        cmd, env = self.command("run", path)
        env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret-at-all"
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 3)
        self.assertRegex(r.stderr, r"ec2backup: error: region us-east-1: "
                         r"EC2 refused the credentials from [^:]*environment"
                         r"[^:]*: SignatureDoesNotMatch: .*\(request [-0-9a-f]+"
                         r"\); nothing was done\n")
        self.assertEqual(self.mutations(), [])

    def test_clock_skew_is_named(self):
        self.sim.seed(volumes=[{"id": "vol-0000000a"}])
        path = self.policy(self.POLICY)
        ahead = datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(hours=1)
        r = self.run_tool("run", path, at=ahead)
        self.assertEqual(r.returncode, 3)
        self.assertRegex(r.stderr, r"EC2 refused the request's time: this "
                         r"machine's clock is 3[56]\d\d seconds ahead of "
                         r"EC2's; synchronise it \(NTP\) and run again")

    def test_debug_output_has_no_secrets(self):
        secret = "Sx9bQ2secretVALUEthatMustNeverAppear00000"
        token = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKENthatMustNeverAppear"
        self.sim.admin("credentials", {
            "access_key": "ASIAEXAMPLETEMPKEY01", "secret_key": secret,
            "session_token": token})
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START)
        path = self.policy(self.POLICY)
        cmd, env = self.command("-v", "run", path)
        env.update(AWS_ACCESS_KEY_ID="ASIAEXAMPLETEMPKEY01",
                   AWS_SECRET_ACCESS_KEY=secret, AWS_SESSION_TOKEN=token)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("debug:", r.stderr)
        out = r.stdout + r.stderr
        for s in (secret, token, secret[:16], token[:16]):
            self.assertNotIn(s, out)
        # The token did reach EC2 (it accepted only that key with it).
        self.assertEqual({e["access_key"] for e in self.sim.log()},
                         {"ASIAEXAMPLETEMPKEY01"})


class Ownership(RunTest):
    def test_list_agrees_with_the_plan_under_adopt(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 1, START, policy="other", extra=[
            {"id": "snap-0000beef", "volume": "vol-0000000a",
             "state": "completed", "start_time": "2026-01-01T00:00:00Z"}])
        path = self.policy('keep = 1;\nadopt = true;\n'
                           'volumes = ( { id = "vol-0000000a"; } );\n')
        import json
        r = self.run_tool("list", "-o", "json", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        owned = {s["snapshot"]: s["owned"]
                 for s in json.loads(r.stdout)["volumes"][0]["snapshots"]}
        # adopt takes the untagged one, never another policy's.
        self.assertEqual(owned, {"snap-0000000a000000001": False,
                                 "snap-0000beef": True})
        r = self.run_tool("plan", path)
        self.assertRegex(r.stdout, r"keep +snap-0000000a000000001 +"
                         r"2026-02-28  owned by policy other\n")


class Faults(RunTest):
    VOLS = ["vol-0000000a", "vol-0000000b", "vol-0000000c"]

    def scenario(self, rule):
        self.at(START)
        self.seed_history(self.VOLS, 7, START)
        path = self.policy('keep = 7;\nvolumes = ( %s );\n' % ", ".join(
            '{ id = "%s"; }' % v for v in self.VOLS))
        self.sim.faults(rule)
        r = self.run_tool("run", path, "--timeout", "120",
                          "--lookup-timeout", "5")
        self.assertIn(r.returncode, (0, 1, 3), r.stderr)
        self.assert_invariants(self.VOLS, 7, START)
        # Afterwards a clean run converges.
        self.sim.admin("faults", {"clear": True})
        self.complete_all()
        self.at(START + datetime.timedelta(seconds=60))
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.complete_all()
        for v in self.VOLS:
            self.assertEqual(len(self.owned(v)), 7, v)
        self.assert_invariants(self.VOLS, 7, START)
        return r

    def test_throttling_storm(self):
        self.scenario({"action": "*", "kind": "throttle", "probability": 0.5})

    def test_server_error_bursts(self):
        self.scenario({"action": "*", "kind": "internal_error",
                       "probability": 0.4})

    def test_resets_after_the_action(self):
        self.scenario({"action": "*", "kind": "reset_after",
                       "probability": 0.4})

    def test_malformed_bodies(self):
        self.scenario({"action": "*", "kind": "malformed", "probability": 0.4})

    def test_slow_responses(self):
        self.scenario({"action": "*", "kind": "latency", "latency_ms": 200,
                       "jitter_ms": 100})


class Kills(RunTest):
    def test_kill_at_random_points(self):
        vols = ["vol-0000000a", "vol-0000000b", "vol-0000000c"]
        self.at(START)
        self.seed_history(vols, 7, START)
        path = self.policy('keep = 7;\nvolumes = ( %s );\n' % ", ".join(
            '{ id = "%s"; }' % v for v in vols))
        # Slow enough that a kill lands between requests.
        self.sim.faults({"action": "*", "kind": "latency", "latency_ms": 30,
                         "jitter_ms": 20})
        rng = random.Random(7)
        day = START
        for i in range(50):
            if i % 10 == 9:  # a new day now and then
                self.complete_all()
                day += datetime.timedelta(days=1)
                self.at(day)
            cmd, env = self.command("run", path, at=day)
            p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            try:
                p.wait(timeout=rng.uniform(0.0, 0.6))
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.wait()
            self.assert_invariants(vols, 7, day)
        self.sim.admin("faults", {"clear": True})
        self.complete_all()
        r = self.run_tool("run", path, at=day)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.complete_all()
        for v in vols:
            owned = self.owned(v)
            self.assertEqual(len(owned), 7, v)
        self.assert_invariants(vols, 7, day)


if __name__ == "__main__":
    unittest.main()
