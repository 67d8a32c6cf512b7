"""Freeze hooks end to end: pre_snapshot runs just before the create
request and post_snapshot just after EC2 answers it, and every pre hook
that ran is followed by its post hook exactly once, whatever happens to
the run: an API failure, a hook that fails or hangs, a signal, SIGKILL.

The last class freezes a real ext4 filesystem on a loop device (root
only) and kills or faults the run at random moments, 200 times."""

import datetime
import fcntl
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from test_run import RunTest, START

VOL = "vol-0000000a"
INST = "i-0123456789abcdef0"
COUNT = ("import json, sys, urllib.request; "
         "print(sum(1 for e in json.load(urllib.request.urlopen(sys.argv[1]))"
         "['entries'] if e.get('action', '').startswith('CreateSnapshot')))")


def wait_lock(path, timeout=60):
    """Returns once nobody holds the run lock at path: the freeze hook
    runner keeps it until it has run every post hook owed."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return    # the run ended before it took the lock
    old = signal.signal(signal.SIGALRM, lambda *a: None)
    signal.alarm(timeout)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        os.close(fd)


class HookTest(RunTest):
    def setUp(self):
        super().setUp()
        self.log_path = os.path.join(self.dir, "hooks.log")

    def hook(self, name, body):
        """A hook script that logs its phase, the variables and how many
        create requests EC2 had seen, then runs body."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n"
                    "n=$(/usr/bin/python3 -c \"%s\" %s/_sim/log)\n"
                    "echo \"$EC2BACKUP_PHASE creates=$n policy=$EC2BACKUP_POLICY"
                    " volume=$EC2BACKUP_VOLUME instance=$EC2BACKUP_INSTANCE"
                    " volumes=$EC2BACKUP_VOLUMES devices=$EC2BACKUP_DEVICES\""
                    " >> %s\n%s\n" % (COUNT, self.sim.url, self.log_path,
                                      body))
        os.chmod(path, 0o755)
        return path

    def hooks_log(self):
        try:
            with open(self.log_path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def volume_policy(self, pre, post, extra="", timeout=5):
        return self.policy('keep = 2;\nvolumes = ( { id = "%s"; } );\n'
                           'pre_snapshot = ( "%s" );\npost_snapshot = ( "%s" '
                           ');\nhook_timeout = %d;\n%s' % (VOL, pre, post,
                                                           timeout, extra))


class Order(HookTest):
    def test_around_create_snapshot(self):
        self.sim.seed(volumes=[{"id": VOL}])
        path = self.volume_policy(self.hook("pre", ""), self.hook("post", ""))
        self.at(START)
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.hooks_log(), [
            "pre creates=0 policy=prod volume=%s instance= volumes=%s "
            "devices=" % (VOL, VOL),
            "post creates=1 policy=prod volume=%s instance= volumes=%s "
            "devices=" % (VOL, VOL)])
        self.assertRegex(r.stderr, r"created snap-\w+ \(hooks held it "
                         r"\d+\.\d s\)")

    def test_around_create_snapshots(self):
        self.sim.seed(instances=[{"id": INST, "volumes": [
            {"device": "/dev/xvda", "volume": {"id": "vol-000000a1"}},
            {"device": "/dev/sdf", "volume": {"id": "vol-000000b2"}}]}])
        pre, post = self.hook("pre", ""), self.hook("post", "")
        path = self.policy('keep = 2;\ninstances = ( { id = "%s"; '
                           'pre_snapshot = ( "%s" ); post_snapshot = ( "%s" '
                           '); } );\n' % (INST, pre, post))
        self.at(START)
        r = self.run_tool("-o", "json", "run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.hooks_log(), [
            "pre creates=0 policy=prod volume= instance=%s "
            "volumes=vol-000000a1 vol-000000b2 devices=/dev/xvda /dev/sdf"
            % INST,
            "post creates=1 policy=prod volume= instance=%s "
            "volumes=vol-000000a1 vol-000000b2 devices=/dev/xvda /dev/sdf"
            % INST])
        (out,) = json.loads(r.stdout)["result"]["outcomes"]
        self.assertEqual((out["outcome"], out["snapshots"],
                          out["hook_failed"]), ("done", 2, False))
        self.assertGreaterEqual(out["hooks_seconds"], 0)

    def test_dry_run_runs_no_hook_and_says_which(self):
        self.sim.seed(volumes=[{"id": VOL}])
        pre, post = self.hook("pre", ""), self.hook("post", "")
        path = self.volume_policy(pre, post)
        self.at(START)
        r = self.run_tool("--dry-run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("runs pre_snapshot %s, post_snapshot %s" % (pre, post),
                      r.stdout)
        self.assertEqual(self.hooks_log(), [])

    def test_only_volumes_that_get_a_snapshot_run_hooks(self):
        self.seed_history([VOL], 1, START + datetime.timedelta(days=1))
        path = self.volume_policy(self.hook("pre", ""), self.hook("post", ""))
        self.at(START)   # today's snapshot exists: skipped
        r = self.run_tool("-q", "run", path)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(self.hooks_log(), [])


class Failures(HookTest):
    def test_a_failing_pre_hook_skips_the_snapshot_and_still_thaws(self):
        self.sim.seed(volumes=[{"id": VOL}])
        path = self.volume_policy(self.hook("pre", "exit 3"),
                                  self.hook("post", ""))
        self.at(START)
        r = self.run_tool("-q", "run", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("policy prod: %s: pre_snapshot hook failed: exit "
                      "status 3; no snapshot (pre_snapshot_failure = skip)"
                      % VOL, r.stderr)
        self.assertEqual([l.split()[0] for l in self.hooks_log()],
                         ["pre", "post"])
        self.assertEqual(self.snaps(VOL), [])

    def test_or_snapshots_anyway_marked_crash_consistent(self):
        self.sim.seed(volumes=[{"id": VOL}])
        path = self.volume_policy(self.hook("pre", "exit 3"),
                                  self.hook("post", ""),
                                  'pre_snapshot_failure = "snapshot";\n')
        self.at(START)
        r = self.run_tool("-q", "run", path)
        self.assertEqual(r.returncode, 1)
        (snap,) = self.snaps(VOL)
        self.assertEqual(snap["tags"]["ec2backup:consistency"], "crash")

    def test_a_failing_post_hook_is_an_error(self):
        self.sim.seed(volumes=[{"id": VOL}])
        path = self.volume_policy(self.hook("pre", ""),
                                  self.hook("post", "exit 4"))
        self.at(START)
        r = self.run_tool("-q", "run", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("post_snapshot hook failed: exit status 4; check that "
                      "what the pre_snapshot hook did (a freeze?) was undone",
                      r.stderr)
        self.assertEqual(len(self.snaps(VOL)), 1)

    def test_a_hanging_pre_hook_is_stopped_and_thawed(self):
        self.sim.seed(volumes=[{"id": VOL}])
        path = self.volume_policy(self.hook("pre", "sleep 300 & wait"),
                                  self.hook("post", ""), timeout=1)
        self.at(START)
        r = self.run_tool("-q", "run", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("pre_snapshot hook failed: stopped after 1 s, its time "
                      "limit", r.stderr)
        self.assertEqual([l.split()[0] for l in self.hooks_log()],
                         ["pre", "post"])

    def test_an_api_failure_still_thaws(self):
        self.sim.seed(volumes=[{"id": VOL}])
        self.sim.faults({"action": "CreateSnapshot", "kind":
                         "internal_error"})
        path = self.volume_policy(self.hook("pre", ""), self.hook("post", ""))
        self.at(START)
        r = self.run_tool("-q", "--lookup-timeout", "1", "run", path)
        self.assertEqual(r.returncode, 1)
        self.assertEqual([l.split()[0] for l in self.hooks_log()],
                         ["pre", "post"])


class Signals(HookTest):
    """The run is stopped while a snapshot is frozen: EC2 answers the
    create only after the test has sent its signal."""

    def stop_during_create(self, sig):
        self.sim.seed(volumes=[{"id": VOL}])
        self.sim.faults({"action": "CreateSnapshot", "kind": "latency",
                         "latency_ms": 3000})
        ready = os.path.join(self.dir, "ready")
        os.mkfifo(ready)
        # The pre hook tells the test it ran.
        pre = self.hook("pre", "echo x > %s" % ready)
        path = self.volume_policy(pre, self.hook("post", ""))
        self.at(START)
        cmd, env = self.command("-q", "run", path)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        with open(ready) as f:
            f.read()
        proc.send_signal(sig)
        proc.communicate(timeout=60)
        wait_lock(self.lock)
        self.assertEqual([l.split()[0] for l in self.hooks_log()],
                         ["pre", "post"])

    def test_sigkill(self):
        self.stop_during_create(signal.SIGKILL)

    def test_sigterm(self):
        self.stop_during_create(signal.SIGTERM)

    def test_sigint(self):
        self.stop_during_create(signal.SIGINT)

    def test_sighup(self):
        self.stop_during_create(signal.SIGHUP)


def loop_tools():
    return all(shutil.which(t) for t in ("losetup", "mkfs.ext4", "mount",
                                         "umount", "fsfreeze"))


@unittest.skipUnless(os.geteuid() == 0 and loop_tools(),
                     "SKIP: needs root, loop devices, mkfs.ext4 and fsfreeze "
                     "to freeze a real filesystem")
class RealFilesystem(HookTest):
    TRIALS = int(os.environ.get("EC2BACKUP_FREEZE_TRIALS", "200"))

    def setUp(self):
        super().setUp()
        image = os.path.join(self.dir, "fs.img")
        with open(image, "wb") as f:
            f.truncate(32 << 20)
        subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
        self.dev = subprocess.run(["losetup", "-f", "--show", image],
                                  check=True, capture_output=True,
                                  text=True).stdout.strip()
        self.addCleanup(subprocess.run, ["losetup", "-d", self.dev])
        self.mnt = tempfile.mkdtemp(prefix="ec2backup-freeze-")
        self.addCleanup(os.rmdir, self.mnt)
        subprocess.run(["mount", self.dev, self.mnt], check=True)
        # Unfrozen whatever happened, so that umount cannot hang.
        self.addCleanup(subprocess.run, ["umount", self.mnt])
        self.addCleanup(subprocess.run, ["fsfreeze", "--unfreeze", self.mnt],
                        capture_output=True)
        self.fsfreeze = shutil.which("fsfreeze")

    def frozen(self):
        """True when the filesystem was frozen (it is thawed now)."""
        r = subprocess.run([self.fsfreeze, "--unfreeze", self.mnt],
                           capture_output=True, text=True)
        return r.returncode == 0

    def test_never_left_frozen(self):
        rnd = random.Random(int(os.environ.get("EC2BACKUP_FREEZE_SEED",
                                               "20261202")))
        self.sim.seed(volumes=[{"id": VOL}])
        path = self.policy(
            'keep = 3;\nvolumes = ( { id = "%s"; } );\n'
            'pre_snapshot = ( "%s", "--freeze", "%s" );\n'
            'post_snapshot = ( "%s", "--unfreeze", "%s" );\n'
            'hook_timeout = 5;\n' % (VOL, self.fsfreeze, self.mnt,
                                     self.fsfreeze, self.mnt))
        kinds = {}
        for trial in range(self.TRIALS):
            kind = rnd.choice(["none", "error", "reset", "latency",
                               "sigkill", "sigkill", "sigterm", "sigint",
                               "sighup", "timeout"])
            kinds[kind] = kinds.get(kind, 0) + 1
            self.sim.admin("faults", {"clear": True})
            if kind == "error":
                self.sim.faults({"action": "CreateSnapshot", "kind":
                                 "internal_error"})
            elif kind == "reset":
                self.sim.faults({"action": "CreateSnapshot", "kind":
                                 "reset_after"})
            elif kind != "none":
                self.sim.faults({"action": "CreateSnapshot", "kind":
                                 "latency", "latency_ms":
                                 rnd.randint(50, 800)})
            self.at(START + datetime.timedelta(days=trial))
            args = ["-q", "--lookup-timeout", "1", "run", path]
            if kind == "timeout":
                args = ["--timeout", "1"] + args
            cmd, env = self.command(*args)
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            if kind.startswith("sig"):
                time.sleep(rnd.uniform(0, 0.9))   # a random moment
                proc.send_signal({"sigkill": signal.SIGKILL,
                                  "sigterm": signal.SIGTERM,
                                  "sigint": signal.SIGINT,
                                  "sighup": signal.SIGHUP}[kind])
            proc.communicate(timeout=120)
            wait_lock(self.lock)
            self.assertFalse(self.frozen(), "trial %d (%s): left frozen"
                             % (trial, kind))
            # And a write completes.
            with open(os.path.join(self.mnt, "probe"), "w") as f:
                f.write("%d\n" % trial)
                f.flush()
                os.fsync(f.fileno())
            self.complete_all()
        print("\nfreeze trials: %d, by kind: %s" % (self.TRIALS, kinds))


if __name__ == "__main__":
    unittest.main()
