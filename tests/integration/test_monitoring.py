"""Knowing before the first night that a run will work (doctor), every
morning that it did (monitor, the Nagios way), the Prometheus metrics
file, and the hooks that tell anything else."""

import datetime
import json
import os
import shutil
import subprocess
import threading
import unittest

from emulator import REGION
from test_run import START, RunTest, iso

PROMTOOL = shutil.which("promtool")
DAY = datetime.timedelta(days=1)


def owned(sid, vol, t, state="completed", policy="prod"):
    return {"id": sid, "volume": vol, "state": state, "start_time": iso(t),
            "tags": {"ec2backup:policy": policy,
                     "ec2backup:date": t.strftime("%Y-%m-%d")}}


class Doctor(RunTest):
    POLICY = ('keep = 2;\nvolumes = ( { id = "vol-0000000a"; } );\n'
              'snapshot_tags = ( { key = "CostCenter"; value = "ops"; } );\n')

    def seed(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 2, START)
        self.before = self.sim.state()["snapshots"]
        return self.policy(self.POLICY)

    def doctor(self, path, *args, at=None):
        return self.run_tool(*args, "doctor", path, at=at)

    def test_all_well(self):
        r = self.doctor(self.seed())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok       credentials: from environment variables",
                      r.stdout)
        self.assertIn("ok       policy prod: CreateSnapshot of vol-0000000a "
                      "with the policy's 4 tags: allowed", r.stdout)
        self.assertIn("ok       policy prod: DeleteSnapshot of "
                      "snap-0000000a000000001: allowed", r.stdout)
        self.assertIn("ok       DescribeImages: allowed", r.stdout)
        self.assertRegex(r.stdout, r"\n\d+ ok, 0 warnings, 0 problems\n$")
        # Nothing was changed: DryRun only.
        self.assertEqual([e for e in self.mutations()
                          if e["params"].get("DryRun") != "true"], [])
        self.assertEqual(self.sim.state()["snapshots"], self.before)
        dry = [e["params"].get("DryRun") for e in self.sim.log()
               if e["action"] in ("CreateSnapshot", "DeleteSnapshot")]
        self.assertEqual(dry, ["true", "true"])

    def test_a_missing_permission(self):
        path = self.seed()
        self.sim.admin("revoke", {"actions": ["DeleteSnapshot"]})
        r = self.doctor(path)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("problem  policy prod: DeleteSnapshot of "
                      "snap-0000000a000000001: not allowed "
                      "(UnauthorizedOperation); allow ec2:DeleteSnapshot on "
                      "snapshots tagged ec2backup:policy", r.stdout)

    def test_tag_conditions_are_tried_with_the_run_s_tags(self):
        path = self.seed()
        # Allowed only with the tags a run sends: the DryRun sends them.
        self.sim.admin("revoke", {"actions": ["CreateSnapshot"],
                                  "require_tags": ["ec2backup:policy",
                                                   "CostCenter"]})
        r = self.doctor(path)
        self.assertEqual(r.returncode, 0, r.stdout)
        # A condition on a tag the run does not send is found.
        self.sim.admin("revoke", {"actions": ["CreateSnapshot"],
                                  "require_tags": ["Owner"]})
        r = self.doctor(path)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("problem  policy prod: CreateSnapshot of vol-0000000a "
                      "with the policy's 4 tags: not allowed "
                      "(UnauthorizedOperation); allow ec2:CreateSnapshot and "
                      "ec2:CreateTags with these tags", r.stdout)

    def test_a_wrong_region(self):
        path = self.seed()
        cmd, env = self.command("doctor", path)
        cmd[cmd.index("--region") + 1] = "eu-west-1"
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"problem  region eu-west-1: EC2 refused "
                         r"the credentials .*; the endpoint expects another "
                         r"region than the requests are signed for: check "
                         r"--region")

    def test_a_skewed_clock(self):
        path = self.seed()
        # The emulator's Date header is real time; the binary's clock is
        # moved ahead, within what EC2 still accepts.
        real = datetime.datetime.now(datetime.timezone.utc)
        self.sim.admin("clock", {"set": iso(real)})
        r = self.doctor(path, at=real + datetime.timedelta(seconds=270))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"problem  clock: 2[67]\d s from EC2's; "
                         r"EC2 refuses requests more than 5 minutes off: "
                         r"synchronise the clock \(NTP\)")
        r = self.doctor(path, at=real + datetime.timedelta(seconds=90))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"warning  clock: (8|9|10)\d s from "
                         r"EC2's")

    def test_volumes_and_selections_and_json(self):
        self.at(START)
        self.sim.seed(volumes=[{"id": "vol-0000000a"},
                               {"id": "vol-0000000b",
                                "tags": {"Backup": "yes"}}])
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; },'
                           ' { id = "vol-0000dead"; } );\nselect = { tags = '
                           '( { key = "Backup"; value = "Yes"; } ); };\n')
        r = self.doctor(path)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("problem  policy prod: vol-0000dead: volume not found "
                      "in us-east-1; fix the id, or take it out of the "
                      "policy", r.stdout)
        self.assertIn("warning  policy prod: select Backup=Yes matches no "
                      "volume; tags must match exactly, case included",
                      r.stdout)
        self.assertIn("warning  policy prod: no snapshot of the policy yet "
                      "to try DeleteSnapshot on", r.stdout)
        r = self.doctor(path, "-o", "json")
        doc = json.loads(r.stdout)
        self.assertEqual(doc["status"], 1)
        self.assertIn({"result": "problem", "check": "policy prod: "
                       "vol-0000dead: volume not found in us-east-1; fix the "
                       "id, or take it out of the policy"}, doc["checks"])

    def test_refused_credentials_are_a_problem(self):
        path = self.seed()
        cmd, env = self.command("doctor", path)
        env["AWS_SECRET_ACCESS_KEY"] = "wrong"
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stdout, r"^problem  region us-east-1: EC2 refused "
                         r"the credentials")


class Monitor(RunTest):
    def check(self, text, *args):
        path = self.policy(text)
        return self.run_tool(*args, "monitor", path)

    def test_ok(self):
        self.at(START)
        self.seed_history(["vol-0000000a", "vol-0000000b"], 3, START)
        r = self.check('keep = 3;\nvolumes = ( { id = "vol-0000000a"; }, '
                       '{ id = "vol-0000000b"; } );\n')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "OK: 2 volumes in 1 policy have fresh "
                         "snapshots | 'volumes'=2;;;0 'critical'=0;;;0 "
                         "'warning'=0;;;0 'unknown'=0;;;0 "
                         "'oldest_age'=86400s;100800;115200;0\n")
        self.assertEqual(r.stderr, "")
        self.assertEqual(self.mutations(), [])

    def test_warning_for_age(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START - datetime.timedelta(
            hours=5))
        r = self.check('keep = 3;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertTrue(r.stdout.startswith(
            "WARNING: prod vol-0000000a: newest snapshot is 29h old "
            "(warn 28h) | "), r.stdout)

    def test_critical_for_age_and_for_none(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START - DAY)
        self.sim.seed(volumes=[{"id": "vol-0000000b"}])
        r = self.check('keep = 3;\nvolumes = ( { id = "vol-0000000a"; }, '
                       '{ id = "vol-0000000b"; } );\n')
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertEqual(r.stdout.split(" | ")[0],
                         "CRITICAL: prod vol-0000000a: newest snapshot is "
                         "48h old (crit 32h); prod vol-0000000b: no "
                         "completed snapshot")
        self.assertIn("\nCRITICAL: prod vol-0000000b: no completed "
                      "snapshot\n", r.stdout)

    def test_thresholds_are_the_policy_s(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START - DAY)
        r = self.check('keep = 3;\nmonitor = { warn = "3d"; crit = "0"; };\n'
                       'volumes = ( { id = "vol-0000000a"; } );\n')
        self.assertEqual(r.returncode, 0, r.stdout)
        r = self.check('keep = 3;\nmonitor = { warn = "90m"; crit = 0; };\n'
                       'volumes = ( { id = "vol-0000000a"; } );\n')
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("newest snapshot is 48h old (warn 90m)", r.stdout)
        self.assertIn("'oldest_age'=172800s;5400;;0", r.stdout)

    def test_warnings_of_every_other_kind(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 2, START, extra=[
            owned("snap-0000e001", "vol-0000000a", START - 3 * DAY,
                  state="error"),
            owned("snap-0000dead", "vol-0000dead", START - DAY)])
        self.seed_history(["vol-0000000b"], 6, START)
        self.seed_history(["vol-0000000c"], 1, START, extra=[
            owned("snap-0000c0de", "vol-0000000c", START - 9 * DAY)])
        r = self.check('keep = 4;\nmax_deletes = 1;\nvolumes = ( '
                       '{ id = "vol-0000000a"; }, { id = "vol-0000000b"; }, '
                       '{ id = "vol-0000000c"; }, { id = "vol-0000dead"; } '
                       ');\n')
        self.assertEqual(r.returncode, 1, r.stdout)
        lines = r.stdout.splitlines()
        self.assertIn("WARNING: prod vol-0000000a: snapshot snap-0000e001 is "
                      "in state error", lines)
        self.assertIn("WARNING: prod vol-0000dead: volume not found (1 "
                      "snapshots kept)", lines)
        self.assertIn("WARNING: prod vol-0000000c: only 2 of keep=4 "
                      "snapshots", lines)
        self.assertIn("WARNING: prod vol-0000000b: 3 deletions exceed "
                      "max_deletes=1: none deleted", lines)
        self.assertTrue(lines[0].endswith("; and 1 more | 'volumes'=4;;;0 "
                        "'critical'=0;;;0 'warning'=4;;;0 'unknown'=0;;;0 "
                        "'oldest_age'=86400s;100800;115200;0"), lines[0])

    def test_unknown(self):
        r = self.check('keep = 0;\n')
        self.assertEqual(r.returncode, 3)
        self.assertEqual(r.stdout, "UNKNOWN: 2 errors in the policies (see "
                         "'ec2backup check')\n")
        path = self.policy('keep = 3;\nvolumes = ( { id = "vol-0000000a"; '
                           '} );\n')
        cmd, env = self.command("monitor", path)
        env["AWS_SECRET_ACCESS_KEY"] = "wrong"
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 3)
        self.assertRegex(r.stdout, r"^UNKNOWN: region us-east-1: EC2 refused "
                         r"the credentials")
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START)
        self.sim.faults({"action": "DescribeSnapshots", "kind": "malformed"})
        r = self.check('keep = 3;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        self.assertEqual(r.returncode, 3, r.stdout)
        self.assertTrue(r.stdout.startswith("UNKNOWN: prod vol-0000000a: "
                                            "snapshot listing incomplete"))

    def test_json(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START)
        r = self.check('keep = 3;\nvolumes = ( { id = "vol-0000000a"; } );\n',
                       "-o", "json")
        doc = json.loads(r.stdout)
        self.assertEqual(doc["state"], "OK")
        self.assertEqual(doc["volumes"][0], {
            "policy": "prod", "volume": "vol-0000000a", "state": "OK",
            "newest_snapshot": "snap-0000000a000000001",
            "newest_age_seconds": 86400, "owned": 3, "keep": 3,
            "problem": None})


class Metrics(RunTest):
    POLICY = 'keep = 2;\nvolumes = ( { id = "vol-0000000a"; } );\n'

    def metrics(self, path):
        with open(path) as f:
            text = f.read()
        if PROMTOOL:
            r = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr + text)
        samples = {}
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
        return text, samples

    def test_good_partial_and_refused_runs(self):
        out = os.path.join(self.dir, "ec2backup.prom")
        self.at(START)
        self.seed_history(["vol-0000000a"], 4, START)
        path = self.policy(self.POLICY)
        r = self.run_tool("-q", "--metrics-file", out, "run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        text, m = self.metrics(out)
        t0 = START.timestamp()
        self.assertEqual(m['ec2backup_last_success_timestamp_seconds'
                           '{policy="prod"}'], t0)
        self.assertEqual(m["ec2backup_last_run_timestamp_seconds"], t0)
        self.assertEqual(m["ec2backup_run_exit_status"], 0)
        self.assertEqual(m['ec2backup_actions_total{policy="prod",'
                           'action="create",outcome="done"}'], 1)
        self.assertEqual(m['ec2backup_actions_total{policy="prod",'
                           'action="delete",outcome="done"}'], 3)
        self.assertEqual(m['ec2backup_snapshots{policy="prod",'
                           'state="completed"}'], 4)
        self.assertEqual(m['ec2backup_newest_snapshot_age_seconds{policy='
                           '"prod",volume="vol-0000000a"}'], 86400)
        self.assertEqual(m['ec2backup_requests_total{action="CreateSnapshot"}'],
                         1)
        self.assertLess(m["ec2backup_run_duration_seconds"], 60)
        # A partial run: the create fails; last success stays.
        self.sim.admin("complete", {})
        later = START + DAY
        self.at(later)
        self.sim.faults({"action": "CreateSnapshot", "kind": "unavailable"})
        r = self.run_tool("-q", "--lookup-timeout", "2", "--metrics-file",
                          out, "run", path)
        self.assertEqual(r.returncode, 1)
        _, m = self.metrics(out)
        self.assertEqual(m['ec2backup_last_success_timestamp_seconds'
                           '{policy="prod"}'], t0)
        self.assertEqual(m["ec2backup_last_run_timestamp_seconds"],
                         later.timestamp())
        self.assertEqual(m['ec2backup_actions_total{policy="prod",'
                           'action="create",outcome="failed"}'], 1)
        self.assertEqual(m['ec2backup_actions_total{policy="prod",'
                           'action="delete",outcome="held"}'], 1)
        # A refused run: nothing listed, the last success still there.
        self.sim.admin("faults", {"clear": True})
        cmd, env = self.command("-q", "--metrics-file", out, "run", path)
        env["AWS_SECRET_ACCESS_KEY"] = "wrong"
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 3)
        _, m = self.metrics(out)
        self.assertEqual(m["ec2backup_run_exit_status"], 3)
        self.assertEqual(m['ec2backup_last_success_timestamp_seconds'
                           '{policy="prod"}'], t0)
        self.assertEqual(m['ec2backup_requests_total{action="DescribeVolumes"}'],
                         1)

    def test_held_deletions(self):
        out = os.path.join(self.dir, "ec2backup.prom")
        self.at(START)
        self.seed_history(["vol-0000000a"], 5, START)
        path = self.policy('keep = 2;\nmax_deletes = 1;\nvolumes = ( '
                           '{ id = "vol-0000000a"; } );\n')
        r = self.run_tool("-q", "--metrics-file", out, "run", path)
        self.assertEqual(r.returncode, 1)
        _, m = self.metrics(out)
        self.assertEqual(m['ec2backup_held_deletions{policy="prod",'
                           'reason="max_deletes"}'], 4)
        self.assertNotIn('ec2backup_last_success_timestamp_seconds'
                         '{policy="prod"}', m)

    def test_readers_never_see_half_a_file(self):
        out = os.path.join(self.dir, "ec2backup.prom")
        self.at(START)
        self.seed_history(["vol-0000000a"], 2, START)
        path = self.policy(self.POLICY)
        self.run_tool("-q", "--metrics-file", out, "--dry-run", path)
        self.run_tool("-q", "--metrics-file", out, "run", path)
        whole = []
        stop = threading.Event()

        def read():
            while not stop.is_set():
                with open(out) as f:
                    text = f.read()
                whole.append(text.endswith("\n") and
                             "ec2backup_throttled_total" in text)
        reader = threading.Thread(target=read)
        reader.start()
        try:
            for _ in range(15):
                r = self.run_tool("-q", "--metrics-file", out, "run", path)
                self.assertIn(r.returncode, (0, 1), r.stderr)
        finally:
            stop.set()
            reader.join()
        self.assertGreater(len(whole), 15)
        self.assertTrue(all(whole))
        self.assertEqual([f for f in os.listdir(self.dir)
                          if f.startswith("ec2backup.prom.")], [])


@unittest.skipUnless(PROMTOOL, "SKIP: promtool (Debian's prometheus) "
                     "not installed")
class AlertRules(unittest.TestCase):
    def test_contrib_rules_are_valid(self):
        from emulator import ROOT
        r = subprocess.run([PROMTOOL, "check", "rules", os.path.join(
            ROOT, "contrib", "prometheus", "ec2backup.rules.yml")],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS: 4 rules found", r.stdout)


class Hooks(RunTest):
    def script(self, name, body):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, 0o755)
        return path

    def test_policy_and_run_hooks_get_the_facts(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START)
        got = os.path.join(self.dir, "got")
        ok = self.script("ok", 'cat > "%s.$EC2BACKUP_POLICY"; env | grep '
                         '^EC2BACKUP_ | sort >> "%s.env"\n' % (got, got))
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; '
                           '} );\non_success = ( "%s" );\n' % ok)
        run = self.script("run", 'cat > "%s.run"\n' % got)
        r = self.run_tool("-q", "--on-success", run, "run", path)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        with open(got + ".prod") as f:
            doc = json.load(f)
        self.assertEqual((doc["policy"], doc["succeeded"], doc["created"],
                          doc["deleted"], doc["status"]),
                         ("prod", True, 1, 2, 0))
        with open(got + ".env") as f:
            env = f.read().splitlines()
        self.assertEqual(env, ["EC2BACKUP_CREATED=1", "EC2BACKUP_DELETED=2",
                               "EC2BACKUP_FAILED=0", "EC2BACKUP_POLICY=prod",
                               "EC2BACKUP_STATUS=0", "EC2BACKUP_SUCCEEDED=1"])
        with open(got + ".run") as f:
            self.assertEqual(json.load(f)["policies"][0]["policy"], "prod")

    def test_a_run_stopped_before_planning_still_reports(self):
        # A run that cannot even start (here: a profile that does not
        # exist) is the failure monitoring must hear about most.
        got = os.path.join(self.dir, "got")
        hook = self.script("fail", 'cat > "%s.$EC2BACKUP_POLICY"; echo '
                           '"$EC2BACKUP_STATUS" > "%s.status"\n' % (got, got))
        run = self.script("run", 'cat > "%s.run"\n' % got)
        metrics = os.path.join(self.dir, "ec2backup.prom")
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; '
                           '} );\non_failure = ( "%s" );\n' % hook)
        r = self.run_tool("-q", "--profile", "nosuch", "--on-failure", run,
                          "--metrics-file", metrics, "run", path)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertNotIn("runtime error", r.stderr)
        with open(got + ".prod") as f:
            doc = json.load(f)
        self.assertEqual((doc["policy"], doc["succeeded"], doc["status"]),
                         ("prod", False, 2))
        with open(got + ".status") as f:
            self.assertEqual(f.read(), "2\n")
        with open(got + ".run") as f:
            self.assertEqual(json.load(f)["status"], 2)
        with open(metrics) as f:
            text = f.read()
        self.assertIn("\nec2backup_run_exit_status 2\n", text)
        self.assertNotIn("ec2backup_last_success_timestamp_seconds{", text)

    def test_on_failure_and_a_hook_that_hangs(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START)
        pidfile = os.path.join(self.dir, "pid")
        hang = self.script("hang", 'sleep 300 & echo $! > "%s"; '
                           'sleep 300\n' % pidfile)
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; '
                           '} );\non_failure = ( "%s" );\nhook_timeout = 1;\n'
                           % hang)
        self.sim.faults({"action": "CreateSnapshot", "kind": "unavailable"})
        r = self.run_tool("-q", "--lookup-timeout", "2", "run", path)
        # The hook's failure does not change what the run reports.
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("on_failure hook %s: stopped after 1 s, its time "
                      "limit" % hang, r.stderr)
        with open(pidfile) as f:
            pid = int(f.read())
        # The hook's own child went with it: killed, it is a zombie or
        # gone within moments (its files close a little before that).
        import time
        deadline = time.monotonic() + 5
        while True:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    state = f.read().split(") ")[1][0]
            except FileNotFoundError:
                state = "gone"
            if state in ("gone", "Z") or time.monotonic() > deadline:
                break
            self.assertNotEqual(state, "S")
        self.assertIn(state, ("gone", "Z"))


if __name__ == "__main__":
    unittest.main()
