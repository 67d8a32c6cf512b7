"""The defects that once deleted snapshots a policy keeps, or made a second
snapshot of a day, each shown against the emulator with the real binary:
a lost create answer next to an old failed snapshot, items listed twice,
page tokens that never end, tag selections that depend on other policies
or read wildcards, one refusal stopping the run, DeleteSnapshot answering
false, days that disagree with start times, listings that show new
snapshots late, and the process's handling of secrets."""

import datetime
import json
import os
import subprocess
import unittest

from emulator import REGION, ROOT, env_with_keys
from test_run import PLAIN_BINARY, START, RunTest, iso

FREECHECK = os.path.join(ROOT, "build", "tools", "freecheck.so")


def day(t):
    return t.strftime("%Y-%m-%d")


def owned_snap(sid, volume, t, state="completed", date=None, policy="prod"):
    return {"id": sid, "volume": volume, "state": state,
            "start_time": iso(t),
            "tags": {"ec2backup:policy": policy,
                     "ec2backup:date": date or day(t)}}


class LostCreate(RunTest):
    def test_old_failed_snapshot_is_not_taken_for_the_new_one(self):
        # Three good snapshots, and today's first try in state error two
        # hours ago.  The new create's answer is lost (EC2 answers 500
        # and makes nothing); the lookup by tags finds only the old error
        # snapshot, which this attempt cannot have made.
        vol = "vol-0000000a"
        self.at(START)
        self.seed_history([vol], 3, START, extra=[
            owned_snap("snap-0000e001", vol,
                       START - datetime.timedelta(hours=2), state="error")])
        self.sim.faults({"action": "CreateSnapshot", "kind": "internal_error",
                         "count": 1})
        path = self.policy('keep = 3;\nvolumes = ( { id = "%s"; } );\n' % vol)
        r = self.run_tool("run", path, "--lookup-timeout", "3")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("snap-0000e001 is in state error", r.stderr)
        self.assertNotIn("the answer was lost, but", r.stderr)
        good = [s for s in self.owned(vol) if s["state"] == "completed"]
        self.assertEqual(len(good), 3)
        self.assertEqual([e for e in self.mutations()
                          if e["action"] == "DeleteSnapshot"], [])
        creates = [e for e in self.mutations()
                   if e["action"] == "CreateSnapshot"]
        self.assertEqual(len(creates), 1)


class ListedTwice(RunTest):
    VOL = "vol-0000000a"

    def seed_five(self):
        self.at(START)
        # S1 (oldest) .. S5 (today's), in the order EC2 lists them.
        snaps = [owned_snap("snap-0000000%d" % i, self.VOL,
                            START - datetime.timedelta(days=5 - i))
                 for i in range(1, 6)]
        self.sim.seed(volumes=[{"id": self.VOL}], snapshots=snaps)
        self.sim.admin("config", {"page_size": 3})
        self.addCleanup(self.sim.admin, "config", {"page_size": 0})
        return self.policy('keep = 3;\nvolumes = ( { id = "%s"; } );\n'
                           % self.VOL)

    def test_a_repeat_takes_one_place(self):
        # Pages [S1, S2, S3] then [S3, S4, S5]: S3 is kept once, and the
        # two oldest go.
        path = self.seed_five()
        self.sim.faults({"action": "DescribeSnapshots", "kind":
                         "repeat_items", "repeat": 1, "variant": "identical"})
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        left = sorted(s["id"] for s in self.owned(self.VOL))
        self.assertEqual(left, ["snap-00000003", "snap-00000004",
                                "snap-00000005"])

    def test_a_repeat_that_disagrees_holds_the_volume(self):
        path = self.seed_five()
        self.sim.faults({"action": "DescribeSnapshots", "kind":
                         "repeat_items", "repeat": 1, "variant": "state"})
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("was listed twice with different details", r.stderr)
        self.assertRegex(r.stdout, r"warn .*snapshot listing incomplete")
        self.assertEqual(self.mutations(), [])


class EndlessListings(RunTest):
    VOL = "vol-0000000a"

    def check_cut_short(self, rule):
        self.at(START)
        self.seed_history([self.VOL], 6, START)
        self.sim.admin("config", {"page_size": 2})
        self.addCleanup(self.sim.admin, "config", {"page_size": 0})
        self.sim.faults(rule)
        path = self.policy('keep = 2;\nvolumes = ( { id = "%s"; } );\n'
                           % self.VOL)
        r = self.run_tool("run", path, timeout=90)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("EndlessListing", r.stderr)
        self.assertEqual(self.mutations(), [])
        self.assertEqual(len(self.owned(self.VOL)), 6)
        return r

    def test_a_token_sent_back(self):
        r = self.check_cut_short({"action": "DescribeSnapshots",
                                  "kind": "token_loop"})
        self.assertIn("NextToken it had sent before", r.stderr)

    def test_a_cycle_of_tokens(self):
        r = self.check_cut_short({"action": "DescribeSnapshots",
                                  "kind": "token_loop", "tokens": 3})
        self.assertRegex(r.stderr, "NextToken it had sent before|only items "
                         "already read")

    def test_fresh_tokens_with_the_same_items(self):
        r = self.check_cut_short({"action": "DescribeSnapshots",
                                  "kind": "token_chain", "items": "same"})
        self.assertIn("only items already read", r.stderr)

    def test_fresh_tokens_with_no_items(self):
        r = self.check_cut_short({"action": "DescribeSnapshots",
                                  "kind": "token_chain", "items": "none"})
        self.assertIn("empty pages in a row", r.stderr)

    def test_a_run_has_a_deadline_by_default(self):
        self.at(START)
        path = self.policy('keep = 2;\nvolumes = ( { id = "%s"; } );\n'
                           % self.VOL)
        r = self.run_tool("-v", "plan", path)
        self.assertIn("the run stops at the latest after 43200 s "
                      "(--timeout)", r.stderr)
        r = self.run_tool("-v", "plan", "--timeout", "600", path)
        self.assertIn("after 600 s (--timeout)", r.stderr)


class Selection(RunTest):
    def test_each_policy_plans_every_volume_it_selects(self):
        a, b = "vol-0000000a", "vol-0000000b"
        self.at(START)
        self.sim.seed(volumes=[{"id": a, "tags": {"Backup": "daily"}},
                               {"id": b, "tags": {"Backup": "daily"}}])
        by_id = self.policy('keep = 2;\nvolumes = ( { id = "%s"; } );\n' % a,
                            "a.cfg")
        tagged = 'keep = 2;\nselect = { tags = ( { key = "Backup"; value = ' \
                 '"daily"; } ); };\n'
        b1 = self.policy(tagged, "b.cfg")
        b2 = self.policy(tagged, "c.cfg")
        r = self.run_tool("run", by_id, b1, b2)
        self.assertEqual(r.returncode, 0, r.stderr)
        made = sorted((s["volume_id"], s["tags"]["ec2backup:policy"])
                      for s in self.sim.state()["snapshots"]
                      if s["volume_id"] in (a, b))
        self.assertEqual(made, [(a, "a"), (a, "b"), (a, "c"), (b, "b"),
                                (b, "c")])

    def test_wildcards_in_tag_values_are_literal(self):
        # "yes?" must not select a volume tagged "yes", and adopt must
        # then not touch that volume's untagged snapshots.
        vol, lit = "vol-0000000a", "vol-0000000b"
        self.at(START)
        untagged = [{"id": "snap-0000aa%02d" % d, "volume": vol,
                     "state": "completed",
                     "start_time": iso(START - datetime.timedelta(days=d))}
                    for d in range(1, 5)]
        self.sim.seed(volumes=[{"id": vol, "tags": {"Backup": "yes"}},
                               {"id": lit, "tags": {"Backup": "yes?"}}],
                      snapshots=untagged)
        path = self.policy('keep = 1;\nadopt = true;\nselect = { tags = ( '
                           '{ key = "Backup"; value = "yes?"; } ); };\n')
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.snaps(vol)), 4)
        self.assertEqual([e["params"]["VolumeId"] for e in self.mutations()],
                         [lit])
        sent = [e["params"] for e in self.sim.log()
                if e["action"] == "DescribeVolumes"]
        self.assertIn("yes\\?", [p.get("Filter.1.Value.1") for p in sent])

    def test_two_policies_adopting_one_volume(self):
        vol = "vol-0000000a"
        self.at(START)
        untagged = [{"id": "snap-0000aa%02d" % d, "volume": vol,
                     "state": "completed",
                     "start_time": iso(START - datetime.timedelta(days=d))}
                    for d in range(1, 5)]
        self.sim.seed(volumes=[{"id": vol}], snapshots=untagged)
        text = 'keep = 1;\nadopt = true;\nvolumes = ( { id = "%s"; } );\n' \
            % vol
        p1 = self.policy(text, "p1.cfg")
        p2 = self.policy(text, "p2.cfg")
        r = self.run_tool("check", p1, p2)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("both adopt its untagged snapshots", r.stderr)
        r = self.run_tool("run", p1, p2)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("policies p1 and p2 both adopt this volume", r.stdout)
        self.assertEqual(len([s for s in self.snaps(vol)
                              if not s["tags"].get("ec2backup:policy")]), 4)
        self.assertEqual([e for e in self.mutations()
                          if e["action"] == "DeleteSnapshot"], [])


class Refusals(RunTest):
    def test_refused_deletes_do_not_stop_creates(self):
        vols = ["vol-000000%02x" % i for i in range(1, 31)]
        self.at(START)
        self.seed_history(vols, 6, START)
        self.sim.admin("revoke", {"actions": ["DeleteSnapshot"]})
        path = self.policy('keep = 2;\nvolumes = ( %s );\n' % ", ".join(
            '{ id = "%s"; }' % v for v in vols))
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("created 30, deleted 0", r.stdout)
        self.assertIn("UnauthorizedOperation", r.stderr)
        self.assertNotIn("refused the credentials", r.stderr)
        self.assertNotIn("NotAttempted", r.stderr)
        for v in vols:
            self.assertEqual(len(self.owned(v)), 7, v)

    def test_a_refusal_on_one_snapshot_fails_only_that_one(self):
        vol = "vol-0000000a"
        self.at(START)
        self.seed_history([vol], 5, START)
        denied = "snap-0000000a000000005"
        self.sim.admin("revoke", {"actions": ["DeleteSnapshot"],
                                  "resources": [denied]})
        path = self.policy('keep = 2;\nvolumes = ( { id = "%s"; } );\n' % vol)
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("created 1, deleted 3, skipped 0, failed 1", r.stdout)
        self.assertRegex(r.stderr, "DeleteSnapshot %s: UnauthorizedOperation"
                         % denied)
        self.assertEqual(sorted(s["id"] for s in self.owned(vol)
                                if s["state"] == "completed"),
                         ["snap-0000000a000000001", denied])


class DeleteAnsweredFalse(RunTest):
    def test_false_is_a_failure(self):
        vol = "vol-0000000a"
        self.at(START)
        self.seed_history([vol], 4, START)
        self.sim.faults({"action": "DeleteSnapshot", "kind": "return_false",
                         "resources": ["snap-0000000a000000004"]})
        path = self.policy('keep = 3;\nvolumes = ( { id = "%s"; } );\n' % vol)
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("created 1, deleted 1, skipped 0, failed 1", r.stdout)
        self.assertIn("ReturnFalse", r.stderr)
        self.assertIn("snap-0000000a000000004",
                      [s["id"] for s in self.owned(vol)])


class DaysBeforeStartTimes(RunTest):
    def test_the_newest_days_are_kept(self):
        # Days 1..4 by tag, but start times in another order (a copy, a
        # clock problem): keep = 3 keeps today's and days 4 and 3.
        vol = "vol-0000000a"
        self.at(START)
        starts = {1: 2, 2: 8, 3: 3, 4: 9}      # days before START
        snaps = [owned_snap("snap-000000d%d" % d, vol,
                            START - datetime.timedelta(days=starts[d]),
                            date=day(START - datetime.timedelta(days=5 - d)))
                 for d in range(1, 5)]
        self.sim.seed(volumes=[{"id": vol}], snapshots=snaps)
        path = self.policy('keep = 3;\nvolumes = ( { id = "%s"; } );\n' % vol)
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        left = sorted(s["id"] for s in self.owned(vol)
                      if s["id"].startswith("snap-000000d"))
        self.assertEqual(left, ["snap-000000d3", "snap-000000d4"])
        r = self.run_tool("list", "-o", "json", path)
        days = [s["day"] for s in json.loads(r.stdout)["volumes"][0]
                ["snapshots"]]
        self.assertEqual(days, sorted(days, reverse=True))


class LaggingListings(RunTest):
    VOL = "vol-0000000a"

    def lost_create(self, lag, lookup):
        self.at(START)
        self.seed_history([self.VOL], 3, START)
        self.sim.admin("config", {"visibility_delay": lag})
        self.addCleanup(self.sim.admin, "config", {"visibility_delay": 0})
        # The snapshot is made; the answer never reaches the client.
        self.sim.faults({"action": "CreateSnapshot", "kind": "reset_after",
                         "count": 1})
        path = self.policy('keep = 3;\nvolumes = ( { id = "%s"; } );\n'
                           % self.VOL)
        self.sim.admin("clock", {"freeze": False})
        r = self.run_tool("run", path, "--lookup-timeout", str(lookup))
        today = [s for s in self.owned(self.VOL)
                 if s["tags"]["ec2backup:date"] == day(START)]
        self.assertEqual(len(today), 1, today)
        creates = [e for e in self.mutations()
                   if e["action"] == "CreateSnapshot"]
        self.assertEqual(len(creates), 1)
        return r, path

    def test_a_lookup_that_waits_finds_it(self):
        r, _ = self.lost_create(lag=4, lookup=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("the answer was lost, but", r.stderr)

    def test_a_lag_longer_than_the_lookup_makes_no_second(self):
        r, path = self.lost_create(lag=120, lookup=2)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("not sent again", r.stderr)
        # The deletion that waited for it did not happen.
        self.assertEqual(len([s for s in self.owned(self.VOL)
                              if s["state"] == "completed"]), 3)


@unittest.skipUnless(os.path.exists(FREECHECK),
                     "SKIP: build/tools/freecheck.so not built")
class Secrets(RunTest):
    TOKEN = "IQoJb3JpZ2luX2VjEFreedMemoryMustNeverHoldThisSessionToken00"
    SECRET = "Kq3bR8secretThatFreedMemoryMustNotHold0000"
    KEY = "ASIAEXAMPLEFREECHECK"

    def env(self, **extra):
        self.sim.admin("credentials", {"access_key": self.KEY,
                                       "secret_key": self.SECRET,
                                       "session_token": self.TOKEN})
        return env_with_keys(AWS_ACCESS_KEY_ID=self.KEY,
                             AWS_SECRET_ACCESS_KEY=self.SECRET,
                             AWS_SESSION_TOKEN=self.TOKEN, **extra)

    def freecheck(self, cmd, secrets, **env):
        report = os.path.join(self.dir, "freecheck")
        env.update(LD_PRELOAD=FREECHECK, FREECHECK_SECRETS=":".join(secrets),
                   FREECHECK_REPORT=report)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=120)
        with open(report) as f:
            r.report = dict(line.split(" ", 1) for line in
                            f.read().splitlines())
        return r

    def test_the_checker_finds_a_freed_secret(self):
        # The checker itself: a program that frees a block holding one.
        r = self.freecheck(["/usr/bin/python3", "-c", "x = ('abcSECRETxyz' "
                            "* 100).encode(); del x"], ["abcSECRETxyz"],
                           **dict(os.environ))
        self.assertGreater(int(r.report["found"]), 0, r.report)

    def test_no_freed_block_holds_a_secret(self):
        self.seed_history(["vol-0000000a", "vol-0000000b"], 4,
                          datetime.datetime.now(datetime.timezone.utc))
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; '
                           '}, { id = "vol-0000000b"; } );\n')
        r = self.freecheck(
            [PLAIN_BINARY, "--endpoint-url", self.sim.url,
             "--region", REGION, "--lock-file", self.lock, "run", path],
            [self.TOKEN, self.SECRET], **self.env())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("created 2, deleted 6", r.stdout)
        self.assertGreater(int(r.report["checked"]), 1000, r.report)
        self.assertEqual(r.report["found"], "0", r.report)

    def test_no_core_dumps_while_credentials_are_held(self):
        self.seed_history(["vol-0000000a"], 2,
                          datetime.datetime.now(datetime.timezone.utc))
        self.sim.faults({"action": "DescribeSnapshots", "kind": "latency",
                         "latency_ms": 3000})
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; '
                           '} );\n')
        p = subprocess.Popen(
            ["prlimit", "--core=unlimited", "--",
             PLAIN_BINARY, "--endpoint-url", self.sim.url,
             "--region", REGION, "--lock-file", self.lock, "plan", path],
            env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        seen = set()
        try:
            # The limit is read until the run ends; it starts unlimited
            # and must drop to 0 once credentials are read.
            while p.poll() is None:
                try:
                    with open("/proc/%d/limits" % p.pid) as f:
                        for line in f:
                            if line.startswith("Max core file size"):
                                seen.add(line.split()[4])
                except OSError:
                    break
                if "0" in seen:
                    break
        finally:
            out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("0", seen)


if __name__ == "__main__":
    unittest.main()
