"""Instance policies end to end: one CreateSnapshots a day makes a set of
an instance's volumes at one instant, and retention keeps and deletes sets
as wholes, never half of one."""

import datetime
import json
import os
import unittest

from test_run import RunTest, START, iso

INST = "i-0123456789abcdef0"
ROOT_VOL = "vol-000000000000000a1"
DATA1 = "vol-000000000000000b2"
DATA2 = "vol-000000000000000c3"


class InstanceTest(RunTest):
    maxDiff = None
    def seed_instance(self, volumes=(ROOT_VOL, DATA1, DATA2), state="running",
                      snapshots=()):
        vols = []
        for i, v in enumerate(volumes):
            vols.append({"device": "/dev/xvda" if i == 0 else
                         "/dev/sd" + "fghij"[i - 1], "volume": {"id": v}})
        self.sim.seed(instances=[{"id": INST, "state": state,
                                  "volumes": vols}],
                      snapshots=list(snapshots))

    def sets(self, policy="prod"):
        """Set id -> its snapshots, for the snapshots of INST."""
        out = {}
        for s in self.sim.state()["snapshots"]:
            t = s["tags"]
            if t.get("ec2backup:instance") == INST and \
               t.get("ec2backup:policy") == policy:
                out.setdefault(t.get("ec2backup:set"), []).append(s)
        return out

    def calls(self, action):
        return [e for e in self.sim.log() if e.get("action") == action]


class Sets(InstanceTest):
    def test_one_set_a_day_kept_and_deleted_whole(self):
        self.seed_instance()
        path = self.policy('keep = 2;\ninstances = ( { id = "%s"; } );\n'
                           % INST)
        for day in range(5):
            self.at(START + datetime.timedelta(days=day))
            r = self.run_tool("-q", "run", path)
            self.assertEqual((r.returncode, r.stderr), (0, ""),
                             "day %d" % day)
            self.complete_all()
            sets = self.sets()
            self.assertEqual(len(sets), min(day + 1, 2), sets.keys())
            for sid, members in sets.items():
                # Every volume, one instant, one size tag that says so.
                self.assertTrue(sid.startswith("set-"), sid)
                self.assertEqual(sorted(m["volume_id"] for m in members),
                                 sorted([ROOT_VOL, DATA1, DATA2]))
                self.assertEqual(len({m["start_time"] for m in members}), 1)
                self.assertEqual({m["tags"]["ec2backup:set-size"]
                                  for m in members}, {"3"})
                self.assertEqual(len({m["tags"]["ec2backup:date"]
                                      for m in members}), 1)
            days = sorted(m[0]["tags"]["ec2backup:date"]
                          for m in sets.values())
            self.assertEqual(len(days), len(set(days)))
        # One CreateSnapshots a day, never a CreateSnapshot.
        self.assertEqual(len(self.calls("CreateSnapshots")), 5)
        self.assertEqual(self.calls("CreateSnapshot"), [])
        # Three sets went, each as a whole: nine deletes.
        self.assertEqual(len([e for e in self.calls("DeleteSnapshot")
                              if e.get("status") == 200]), 9)

    def test_exclusions(self):
        self.seed_instance()
        path = self.policy('keep = 2;\nexclude_boot_volume = true;\n'
                           'instances = ( { id = "%s"; exclude_volumes = '
                           '( "%s" ); } );\n' % (INST, DATA2))
        self.at(START)
        r = self.run_tool("-q", "run", path)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        (members,) = self.sets().values()
        self.assertEqual([m["volume_id"] for m in members], [DATA1])
        self.assertEqual(members[0]["tags"]["ec2backup:set-size"], "1")

    def test_root_volume_in_exclude_volumes_is_refused_by_the_plan(self):
        self.seed_instance()
        path = self.policy('keep = 2;\ninstances = ( { id = "%s"; '
                           'exclude_volumes = ( "%s" ); } );\n'
                           % (INST, ROOT_VOL))
        self.at(START)
        r = self.run_tool("-q", "run", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("exclude_volumes names the root volume %s, which EC2 "
                      "refuses: nothing created; take the root volume out "
                      "of exclude_volumes and set exclude_boot_volume = "
                      "true" % ROOT_VOL, r.stderr)
        self.assertEqual(self.calls("CreateSnapshots"), [])

    def test_a_set_with_a_snapshot_missing_is_kept_and_warned_about(self):
        self.seed_instance()
        path = self.policy('keep = 1;\ninstances = ( { id = "%s"; } );\n'
                           % INST)
        for day in range(2):
            self.at(START + datetime.timedelta(days=day))
            self.assertEqual(self.run_tool("-q", "run", path).returncode, 0)
            self.complete_all()
        # One snapshot of the older set is no longer listed with it (its
        # instance tag removed by hand, as good as deleted).
        sets = sorted(self.sets().items(),
                      key=lambda kv: kv[1][0]["tags"]["ec2backup:date"])
        old_id, old = sets[0]
        self.sim.admin("snapshot", {"ids": [old[0]["id"]],
                                    "untag": ["ec2backup:instance"]})
        self.at(START + datetime.timedelta(days=2))
        r = self.run_tool("-q", "run", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("%s: %s: set is not whole: 2 of its 3 snapshots listed;"
                      " kept, never deleted automatically" % (INST, old_id),
                      r.stderr)
        left = self.sets()
        self.assertEqual(len(left[old_id]), 2)

    def test_an_ami_on_one_snapshot_keeps_the_whole_set(self):
        self.seed_instance()
        path = self.policy('keep = 1;\ninstances = ( { id = "%s"; } );\n'
                           % INST)
        for day in range(2):
            self.at(START + datetime.timedelta(days=day))
            self.assertEqual(self.run_tool("-q", "run", path).returncode, 0)
            self.complete_all()
        sets = sorted(self.sets().items(),
                      key=lambda kv: kv[1][0]["tags"]["ec2backup:date"])
        old_id, old = sets[0]
        self.sim.seed(images=[{"id": "ami-0123456789abcdef0",
                               "snapshot_ids": [old[1]["id"]]}])
        self.at(START + datetime.timedelta(days=2))
        r = self.run_tool("--dry-run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"keep +%s .*used by ami-0123456789abcdef0"
                         % old_id)
        r = self.run_tool("-q", "run", path)
        self.assertEqual(len(self.sets()[old_id]), 3)

    def test_volumes_attached_between_days(self):
        self.seed_instance(volumes=(ROOT_VOL, DATA1))
        path = self.policy('keep = 3;\ninstances = ( { id = "%s"; } );\n'
                           % INST)
        self.at(START)
        self.assertEqual(self.run_tool("-q", "run", path).returncode, 0)
        self.complete_all()
        self.sim.admin("attach", {"instance_id": INST, "device": "/dev/sdg",
                                  "volume": {"id": DATA2}})
        self.at(START + datetime.timedelta(days=1))
        r = self.run_tool("-q", "run", path)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        sizes = sorted(len(m) for m in self.sets().values())
        self.assertEqual(sizes, [2, 3])
        # A detached volume's snapshots stay in their set.
        self.sim.admin("detach", {"volume_id": DATA1})
        self.complete_all()
        self.at(START + datetime.timedelta(days=2))
        r = self.run_tool("-q", "run", path)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(sorted(len(m) for m in self.sets().values()),
                         [2, 2, 3])

    def test_a_terminated_instance_keeps_its_sets(self):
        self.seed_instance()
        path = self.policy('keep = 1;\ninstances = ( { id = "%s"; } );\n'
                           % INST)
        for day in range(2):
            self.at(START + datetime.timedelta(days=day))
            self.assertEqual(self.run_tool("-q", "run", path).returncode, 0)
            self.complete_all()
        self.sim.admin("instance", {"ids": [INST], "state": "terminated"})
        self.at(START + datetime.timedelta(days=3))
        r = self.run_tool("-q", "run", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("instance not found or terminated: nothing created or "
                      "deleted, 2 sets kept", r.stderr)
        self.assertEqual(len(self.sets()), 2)

    def test_plan_list_and_json_show_sets(self):
        self.seed_instance()
        path = self.policy('keep = 1;\ninstances = ( { id = "%s"; '
                           'description = "db"; } );\n' % INST)
        self.at(START)
        self.assertEqual(self.run_tool("-q", "run", path).returncode, 0)
        self.complete_all()
        (sid,) = self.sets()
        self.at(START + datetime.timedelta(days=1))
        r = self.run_tool("--dry-run", path)
        self.assertRegex(r.stdout, r"prod +%s +create +- .*no set for today "
                         r"yet \(3 volumes\); takes keep #1" % INST)
        self.assertRegex(r.stdout, r"prod +%s +keep +%s .*newest completed "
                         r"set, kept until a newer one completes" % (INST, sid))
        r = self.run_tool("-o", "json", "list", path)
        doc = json.loads(r.stdout)
        (entry,) = doc["volumes"]
        self.assertEqual(entry["instance"], INST)
        (s,) = entry["snapshots"]
        self.assertEqual(s["snapshot"], sid)
        self.assertEqual(sorted(m["volume"] for m in s["set"]),
                         sorted([ROOT_VOL, DATA1, DATA2]))
        r = self.run_tool("list", path)
        self.assertIn("prod  %s  db\n  %s" % (INST, sid), r.stdout)

    def test_a_lost_answer_is_found_by_the_set_tag(self):
        self.seed_instance()
        path = self.policy('keep = 2;\ninstances = ( { id = "%s"; } );\n'
                           % INST)
        self.sim.faults({"action": "CreateSnapshots", "kind": "reset_after",
                         "count": 1})
        self.at(START)
        r = self.run_tool("run", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("CreateSnapshots: the answer was lost, but set-",
                      r.stderr)
        self.assertEqual(len(self.calls("CreateSnapshots")), 1)
        (members,) = self.sets().values()
        self.assertEqual(len(members), 3)

    def test_a_refused_create_holds_the_deletes_that_wait_for_it(self):
        self.seed_instance()
        path = self.policy('keep = 1;\ninstances = ( { id = "%s"; } );\n'
                           % INST)
        self.at(START)
        self.assertEqual(self.run_tool("-q", "run", path).returncode, 0)
        self.complete_all()
        self.sim.faults({"action": "CreateSnapshots", "kind":
                         "internal_error", "count": 1})
        self.sim.faults({"action": "CreateSnapshots", "kind": "throttle"})
        self.at(START + datetime.timedelta(days=1))
        r = self.run_tool("-q", "--lookup-timeout", "1", "run", path)
        self.assertEqual(r.returncode, 1)
        # Yesterday's set is the newest completed: never deleted before
        # today's exists.
        self.assertEqual(len(self.sets()), 1)
        self.assertEqual(self.calls("DeleteSnapshot"), [])


class Doctor(InstanceTest):
    def test_create_snapshots_is_tried_with_the_run_s_tags(self):
        self.seed_instance()
        path = self.policy('keep = 2;\ninstances = ( { id = "%s"; } );\n'
                           % INST)
        self.at(START)
        r = self.run_tool("doctor", path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok       policy prod: %s: running, 3 EBS volumes "
                      "attached" % INST, r.stdout)
        self.assertIn("ok       policy prod: CreateSnapshots of %s with the "
                      "policy's 6 tags: allowed" % INST, r.stdout)
        self.sim.admin("revoke", {"actions": ["CreateSnapshots"],
                                  "require_tags": ["ec2backup:set"]})
        r = self.run_tool("doctor", path)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.sim.admin("revoke", {"restore": "all"})
        self.sim.admin("revoke", {"actions": ["CreateSnapshots"]})
        r = self.run_tool("doctor", path)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("allow ec2:CreateSnapshots on the instance", r.stdout)


if __name__ == "__main__":
    unittest.main()
