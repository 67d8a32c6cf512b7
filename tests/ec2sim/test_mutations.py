"""CreateSnapshot, DeleteSnapshot and CreateTags: effects, the per-volume
rules, completion, DryRun and revoked permissions."""

import unittest

from simtest import NS, T0_EPOCH, EmulatorTestCase, tags_of

VOL1 = "vol-00000000000000001"
SC1 = "vol-00000000000000003"


def tag_spec(tags, resource="snapshot"):
    out = [("TagSpecification.1.ResourceType", resource)]
    for n, (k, v) in enumerate(tags.items(), 1):
        out += [("TagSpecification.1.Tag.%d.Key" % n, k),
                ("TagSpecification.1.Tag.%d.Value" % n, v)]
    return out


class CreateSnapshot(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def create(self, volume=VOL1, extra=()):
        return self.ec2("CreateSnapshot", [("VolumeId", volume)] + list(extra))

    def test_new_snapshot_is_pending_with_tags(self):
        r = self.assertOk(self.create(extra=[("Description", "nightly")] +
                                      tag_spec({"ManagedBy": "ec2backup", "Run": "r1"})))
        self.assertEqual(r.root.tag, NS + "CreateSnapshotResponse")
        sid = r.text("snapshotId")
        self.assertRegex(sid, r"^snap-[0-9a-f]{17}$")
        self.assertEqual(r.text("status"), "pending")
        self.assertEqual(r.text("volumeId"), VOL1)
        self.assertEqual(r.text("startTime"), "2026-01-01T00:00:00.000Z")
        self.assertIn(b"<progress/>", r.body)
        self.assertEqual(r.text("description"), "nightly")
        self.assertEqual(tags_of(r.root), {"ManagedBy": "ec2backup", "Run": "r1"})
        d = self.assertOk(self.ec2("DescribeSnapshots", {"SnapshotId.1": sid}))
        self.assertEqual(d.items("snapshotSet")[0].findtext(NS + "status"), "pending")

    def test_ids_are_deterministic_with_the_seed(self):
        first = self.assertOk(self.create()).text("snapshotId")
        other = type(self.emu)(clock=T0_EPOCH, frozen_clock=True)
        self.assertEqual(other.sim.new_id("snap", lambda i: False), first)

    def test_per_volume_rate(self):
        self.assertOk(self.create())
        self.advance(14.9)
        self.assertError(self.create(), "SnapshotCreationPerVolumeRateExceeded", 400)
        self.assertOk(self.create("vol-00000000000000002"))
        self.advance(0.1)
        self.assertOk(self.create())

    def test_five_pending_per_volume(self):
        # the seeded volume already has one pending snapshot
        for _ in range(4):
            self.assertOk(self.create())
            self.advance(15)
        self.assertError(self.create(), "ConcurrentSnapshotLimitExceeded", 400)
        self.admin("complete", {"ids": ["snap-00000000000000013"]})
        self.assertOk(self.create())

    def test_snapshots_in_error_count_against_the_limit(self):
        sid = self.assertOk(self.create(SC1)).text("snapshotId")
        self.advance(15)
        self.assertError(self.create(SC1), "ConcurrentSnapshotLimitExceeded", 400)
        self.admin("complete", {"fail": [sid]})
        self.assertEqual(self.snapshot_state(sid)["state"], "error")
        self.assertError(self.create(SC1), "ConcurrentSnapshotLimitExceeded", 400)
        self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": sid}))
        self.assertOk(self.create(SC1))

    def test_deleted_pending_snapshot_still_counts_until_it_completes(self):
        sid = self.assertOk(self.create(SC1)).text("snapshotId")
        self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": sid}))
        self.assertIsNone(self.snapshot_state(sid))
        self.advance(15)
        self.assertError(self.create(SC1), "ConcurrentSnapshotLimitExceeded", 400)
        self.assertEqual(self.admin("complete", {})["completed"],
                         ["snap-00000000000000013", sid])
        self.assertOk(self.create(SC1))

    def test_errors(self):
        self.assertError(self.create("vol-0000000000000abcd"), "InvalidVolume.NotFound", 400)
        self.assertError(self.create("vol-xyz"), "InvalidVolumeID.Malformed", 400)
        self.assertError(self.ec2("CreateSnapshot"), "MissingParameter", 400)
        self.assertError(self.create(extra=tag_spec({"a": "b"}, "volume")),
                         "InvalidParameterValue", 400)
        self.assertError(self.create(extra=tag_spec({"aws:x": "b"})),
                         "InvalidParameterValue", 400)
        self.assertError(self.create(extra=tag_spec({"k%d" % n: "v" for n in range(51)})),
                         "TagLimitExceeded", 400)
        self.assertEqual(len(self.admin("state")["snapshots"]), 9)


class Completion(EmulatorTestCase):
    options = {"complete_after": 60}

    def setUp(self):
        super().setUp()
        self.seed_small()

    def test_pending_completes_after_the_delay_by_the_emulator_clock(self):
        sid = self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": VOL1})).text("snapshotId")
        self.advance(59)
        self.assertEqual(self.snapshot_state(sid)["state"], "pending")
        self.advance(1)
        r = self.assertOk(self.ec2("DescribeSnapshots", {"SnapshotId.1": sid}))
        item = r.items("snapshotSet")[0]
        self.assertEqual(item.findtext(NS + "status"), "completed")
        self.assertEqual(item.findtext(NS + "progress"), "100%")
        self.assertEqual(item.findtext(NS + "completionTime"), "2026-01-01T00:01:00.000Z")

    def test_seeded_pending_snapshots_follow_the_same_rule(self):
        # snap-...13 started a month before the emulator clock
        self.assertEqual(self.snapshot_state("snap-00000000000000013")["state"], "completed")


class ManualCompletion(EmulatorTestCase):
    def test_without_complete_after_snapshots_stay_pending(self):
        self.seed_small()
        sid = self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": VOL1})).text("snapshotId")
        self.advance(86400 * 30)
        self.assertEqual(self.snapshot_state(sid)["state"], "pending")
        done = self.admin("complete", {"ids": [sid]})
        self.assertEqual(done["completed"], [sid])
        self.assertEqual(self.snapshot_state(sid)["state"], "completed")
        self.assertEqual(self.snapshot_state("snap-00000000000000013")["state"], "pending")


class DeleteSnapshot(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def test_delete_then_not_found(self):
        r = self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": "snap-00000000000000011"}))
        self.assertEqual(r.text("return"), "true")
        self.assertIsNone(self.snapshot_state("snap-00000000000000011"))
        self.assertError(self.ec2("DeleteSnapshot", {"SnapshotId": "snap-00000000000000011"}),
                         "InvalidSnapshot.NotFound", 400)

    def test_in_use_by_an_image(self):
        ami = self.admin("ami", {"snapshot_ids": ["snap-00000000000000012"]})["image_id"]
        self.assertError(self.ec2("DeleteSnapshot", {"SnapshotId": "snap-00000000000000012"}),
                         "InvalidSnapshot.InUse", 400)
        self.assertIsNotNone(self.snapshot_state("snap-00000000000000012"))
        self.admin("ami", {"deregister": ami})
        self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": "snap-00000000000000012"}))

    def test_bad_ids(self):
        self.assertError(self.ec2("DeleteSnapshot", {"SnapshotId": "snap-1"}),
                         "InvalidSnapshotID.Malformed", 400)
        self.assertError(self.ec2("DeleteSnapshot"), "MissingParameter", 400)

    def test_someone_elses_public_snapshot(self):
        public = [s["id"] for s in self.admin("state")["snapshots"]
                  if s["owner"] != "123456789012"][0]
        self.assertError(self.ec2("DeleteSnapshot", {"SnapshotId": public}),
                         "UnauthorizedOperation", 403)


class CreateTags(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def test_adds_and_overwrites(self):
        self.assertOk(self.ec2("CreateTags", {
            "ResourceId.1": "snap-00000000000000011", "ResourceId.2": VOL1,
            "Tag.1.Key": "Policy", "Tag.1.Value": "weekly", "Tag.2.Key": "Empty"}))
        state = self.admin("state")
        snap = [s for s in state["snapshots"] if s["id"] == "snap-00000000000000011"][0]
        self.assertEqual(snap["tags"], {"ManagedBy": "ec2backup", "Policy": "weekly", "Empty": ""})
        vol = [v for v in state["volumes"] if v["id"] == VOL1][0]
        self.assertEqual(vol["tags"], {"Backup": "daily", "Name": "web",
                                       "Policy": "weekly", "Empty": ""})
        r = self.assertOk(self.ec2("DescribeSnapshots", [("Owner.1", "self"),
                                                         ("Filter.1.Name", "tag:Policy"),
                                                         ("Filter.1.Value.1", "weekly")]))
        self.assertEqual(r.ids("snapshotSet", "snapshotId"), ["snap-00000000000000011"])

    def test_all_or_nothing(self):
        self.assertError(self.ec2("CreateTags", {
            "ResourceId.1": "snap-00000000000000011", "ResourceId.2": "snap-0000000000000dead",
            "Tag.1.Key": "X", "Tag.1.Value": "1"}), "InvalidSnapshot.NotFound", 400)
        self.assertNotIn("X", self.snapshot_state("snap-00000000000000011")["tags"])

    def test_errors(self):
        self.assertError(self.ec2("CreateTags", {"ResourceId.1": "i-0123456789abcdef0",
                                                 "Tag.1.Key": "X"}), "InvalidID", 400)
        self.assertError(self.ec2("CreateTags", {"ResourceId.1": "vol-0000000000000dead",
                                                 "Tag.1.Key": "X"}), "InvalidVolume.NotFound", 400)
        self.assertError(self.ec2("CreateTags", {"Tag.1.Key": "X"}), "MissingParameter", 400)
        self.assertError(self.ec2("CreateTags", {"ResourceId.1": VOL1}), "MissingParameter", 400)
        many = {"ResourceId.1": VOL1}
        for n in range(1, 50):
            many["Tag.%d.Key" % n] = "k%d" % n
        self.assertError(self.ec2("CreateTags", many), "TagLimitExceeded", 400)


class DryRunAndPermissions(EmulatorTestCase):
    CALLS = [
        ("DescribeSnapshots", {"Owner.1": "self"}),
        ("DescribeVolumes", {}),
        ("DescribeImages", {"Owner.1": "self"}),
        ("CreateSnapshot", {"VolumeId": VOL1}),
        ("DeleteSnapshot", {"SnapshotId": "snap-00000000000000011"}),
        ("CreateTags", {"ResourceId.1": VOL1, "Tag.1.Key": "k", "Tag.1.Value": "v"}),
    ]

    def setUp(self):
        super().setUp()
        self.seed_small()

    def test_dry_run_changes_nothing(self):
        before = self.admin("state")
        for action, params in self.CALLS:
            with self.subTest(action=action):
                self.assertError(self.ec2(action, dict(params, DryRun="true")),
                                 "DryRunOperation", 412)
        after = self.admin("state")
        self.assertEqual(before, after)

    def test_revoked_action(self):
        names = [a for a, _ in self.CALLS]
        self.assertEqual(self.admin("revoke", {"actions": names})["revoked"], sorted(names))
        for action, params in self.CALLS:
            with self.subTest(action=action):
                self.assertError(self.ec2(action, dict(params, DryRun="true")),
                                 "UnauthorizedOperation", 403)
                self.assertError(self.ec2(action, params), "UnauthorizedOperation", 403)
        self.admin("revoke", {"restore": ["DeleteSnapshot"]})
        self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": "snap-00000000000000011"}))

    def test_tags_at_creation_need_create_tags(self):
        self.admin("revoke", {"actions": ["CreateTags"]})
        self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": VOL1}))
        self.advance(15)
        self.assertError(self.ec2("CreateSnapshot", [("VolumeId", VOL1)] + tag_spec({"a": "b"})),
                         "UnauthorizedOperation", 403)


if __name__ == "__main__":
    unittest.main()
