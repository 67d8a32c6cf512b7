"""DescribeSnapshots, DescribeVolumes and DescribeImages: who sees what,
filters, explicit ids and pagination."""

import unittest

from simtest import NS, EmulatorTestCase, tags_of

OWN_IDS = ["snap-00000000000000011", "snap-00000000000000012", "snap-00000000000000013",
           "snap-00000000000000021", "snap-00000000000000022", "snap-00000000000000023"]


def snap_ids(r):
    return r.ids("snapshotSet", "snapshotId")


def filters(*pairs):
    """filters(("status", ["completed"]), ...) -> wire parameters."""
    out = []
    for n, (name, values) in enumerate(pairs, 1):
        out.append(("Filter.%d.Name" % n, name))
        out += [("Filter.%d.Value.%d" % (n, m), v) for m, v in enumerate(values, 1)]
    return out


class SnapshotVisibility(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def test_owner_self_lists_only_own_snapshots(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self"}))
        self.assertEqual(snap_ids(r), OWN_IDS)

    def test_no_owner_also_lists_public_snapshots_of_others(self):
        r = self.assertOk(self.ec2("DescribeSnapshots"))
        ids = snap_ids(r)
        self.assertEqual(len(ids), len(OWN_IDS) + 3)
        owners = {i.findtext(NS + "ownerId") for i in r.items("snapshotSet")}
        self.assertGreater(len(owners), 2)

    def test_owner_account_id_and_amazon(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "123456789012"}))
        self.assertEqual(snap_ids(r), OWN_IDS)
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "amazon"}))
        items = r.items("snapshotSet")
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0].findtext(NS + "ownerAlias"), "amazon")

    def test_restorable_by_all_is_public_only(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", {"RestorableBy.1": "all"}))
        self.assertEqual(len(snap_ids(r)), 3)
        self.assertFalse(set(snap_ids(r)) & set(OWN_IDS))

    def test_bad_owner(self):
        self.assertError(self.ec2("DescribeSnapshots", {"Owner.1": "Self"}),
                         "InvalidUserID.Malformed", 400)

    def test_fields_of_pending_error_and_tagged(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self"}))
        by_id = {i.findtext(NS + "snapshotId"): i for i in r.items("snapshotSet")}
        self.assertEqual(by_id["snap-00000000000000013"].findtext(NS + "status"), "pending")
        self.assertEqual(by_id["snap-00000000000000023"].findtext(NS + "status"), "error")
        self.assertEqual(by_id["snap-00000000000000021"].findtext(NS + "description"), "manual")
        self.assertEqual(tags_of(by_id["snap-00000000000000011"]),
                         {"ManagedBy": "ec2backup", "Policy": "daily"})
        self.assertIsNone(by_id["snap-00000000000000023"].find(NS + "tagSet"))


class SnapshotIds(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def test_explicit_ids(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", {
            "SnapshotId.1": "snap-00000000000000021", "SnapshotId.2": "snap-00000000000000011"}))
        self.assertEqual(sorted(snap_ids(r)), ["snap-00000000000000011", "snap-00000000000000021"])

    def test_unknown_id(self):
        self.assertError(self.ec2("DescribeSnapshots", {
            "SnapshotId.1": "snap-00000000000000011", "SnapshotId.2": "snap-0000000000000beef"}),
            "InvalidSnapshot.NotFound", 400)

    def test_malformed_id(self):
        self.assertError(self.ec2("DescribeSnapshots", {"SnapshotId.1": "snap-123"}),
                         "InvalidSnapshotID.Malformed", 400)

    def test_ids_cannot_be_combined_with_max_results(self):
        self.assertError(self.ec2("DescribeSnapshots", {
            "SnapshotId.1": "snap-00000000000000011", "MaxResults": "5"}),
            "InvalidParameterCombination", 400)


class SnapshotFilters(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def ids_for(self, *pairs):
        r = self.assertOk(self.ec2("DescribeSnapshots", [("Owner.1", "self")] + filters(*pairs)))
        return snap_ids(r)

    def test_values_are_ored(self):
        self.assertEqual(self.ids_for(("status", ["pending", "error"])),
                         ["snap-00000000000000013", "snap-00000000000000023"])

    def test_filters_are_anded(self):
        self.assertEqual(self.ids_for(("volume-id", ["vol-00000000000000001"]),
                                      ("status", ["completed"])),
                         ["snap-00000000000000011", "snap-00000000000000012"])

    def test_tag_value_and_tag_key(self):
        self.assertEqual(self.ids_for(("tag:ManagedBy", ["ec2backup"])), OWN_IDS[:3])
        self.assertEqual(self.ids_for(("tag-key", ["Owner"])), ["snap-00000000000000021"])

    def test_star_wildcard(self):
        self.assertEqual(self.ids_for(("tag:ManagedBy", ["*tool"])), ["snap-00000000000000022"])

    def test_question_mark_is_zero_or_one_character(self):
        self.assertEqual(self.ids_for(("tag:Policy", ["dail?y"])), OWN_IDS[:2])
        self.assertEqual(self.ids_for(("tag:Policy", ["dai?"])), [])

    def test_backslash_escapes_a_wildcard(self):
        self.admin("seed", {"snapshots": [{"id": "snap-000000000000000f1",
                                           "volume": "vol-00000000000000001",
                                           "description": "a*b"}]})
        self.assertEqual(self.ids_for(("description", ["a\\*b"])), ["snap-000000000000000f1"])
        self.assertEqual(self.ids_for(("description", ["a\\*"])), [])

    def test_values_are_case_sensitive(self):
        self.assertEqual(self.ids_for(("tag:ManagedBy", ["EC2Backup"])), [])

    def test_many_volume_ids(self):
        values = ["vol-%017x" % n for n in range(100, 298)] + [
            "vol-00000000000000002", "vol-00000000000000001"]
        self.assertEqual(self.ids_for(("volume-id", values)), OWN_IDS)

    def test_unknown_filter(self):
        self.assertError(self.ec2("DescribeSnapshots", filters(("colour", ["blue"]))),
                         "InvalidParameterValue", 400)

    def test_too_many_filter_values(self):
        values = ["vol-%017x" % n for n in range(201)]
        self.assertError(self.ec2("DescribeSnapshots", filters(("volume-id", values))),
                         "FilterLimitExceeded", 400)


class Pagination(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.gen = self.seed(generate={"volumes": 3, "snapshots_per_volume": 4,
                                       "id_prefix": "a", "start": "2025-06-01T00:00:00Z",
                                       "snapshot_tags": {"ManagedBy": "ec2backup"}})

    def pages(self, params, size):
        out = []
        token = None
        tokens = []
        while True:
            p = list(params) + [("MaxResults", str(size))]
            if token:
                p.append(("NextToken", token))
            r = self.assertOk(self.ec2("DescribeSnapshots", p))
            out.append(snap_ids(r))
            token = r.text("nextToken")
            if not token:
                return out, tokens
            tokens.append(token)

    def test_pages_cover_everything_once(self):
        pages, tokens = self.pages([("Owner.1", "self")], 5)
        self.assertEqual([len(p) for p in pages], [5, 5, 2])
        flat = [i for p in pages for i in p]
        self.assertEqual(len(set(flat)), 12)
        self.assertEqual(flat, sorted(flat))
        for t in tokens:
            self.assertTrue(set("+/=") <= set(t), t)

    def test_deleting_between_pages_skips_nothing(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self", "MaxResults": "5"}))
        first = snap_ids(r)
        self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": first[0]}))
        self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": "snap-a0000000000000007"}))
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self", "MaxResults": "5",
                                                         "NextToken": r.text("nextToken")}))
        self.assertEqual(snap_ids(r), ["snap-a00000000000000%02x" % n for n in (6, 8, 9, 10, 11)])

    def test_no_token_when_only_deleted_snapshots_remain(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self", "MaxResults": "5"}))
        for n in (11, 12):
            self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": "snap-a00000000000000%02x" % n}))
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self", "MaxResults": "5",
                                                         "NextToken": r.text("nextToken")}))
        self.assertEqual(snap_ids(r), ["snap-a00000000000000%02x" % n for n in range(6, 11)])
        self.assertIsNone(r.text("nextToken"))

    def test_max_results_below_five(self):
        self.assertError(self.ec2("DescribeSnapshots", {"MaxResults": "4"}),
                         "InvalidParameterValue", 400)
        self.assertError(self.ec2("DescribeSnapshots", {"MaxResults": "many"}),
                         "InvalidParameterValue", 400)

    def test_max_results_above_1000_means_1000(self):
        self.seed(generate={"volumes": 11, "snapshots_per_volume": 100, "id_prefix": "b"})
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self", "MaxResults": "5000"}))
        self.assertEqual(len(snap_ids(r)), 1000)
        self.assertTrue(r.text("nextToken"))

    def test_token_is_bound_to_the_query(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self", "MaxResults": "5"}))
        token = r.text("nextToken")
        self.assertError(self.ec2("DescribeSnapshots", [("Owner.1", "self"), ("MaxResults", "5"),
                                                        ("NextToken", token)] +
                                  filters(("status", ["completed"]))),
                         "InvalidNextToken", 400)
        self.assertError(self.ec2("DescribeSnapshots", {"Owner.1": "self",
                                                        "NextToken": token[:-4] + "AAA="}),
                         "InvalidNextToken", 400)

    def test_token_does_not_survive_a_reset(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", {"MaxResults": "5"}))
        self.admin("reset", {"keep_clock": True})
        self.assertError(self.ec2("DescribeSnapshots", {"MaxResults": "5",
                                                        "NextToken": r.text("nextToken")}),
                         "InvalidNextToken", 400)

    def test_page_size_may_change_between_pages(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self", "MaxResults": "5"}))
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self", "MaxResults": "1000",
                                                         "NextToken": r.text("nextToken")}))
        self.assertEqual(len(snap_ids(r)), 7)
        self.assertIsNone(r.text("nextToken"))

    def test_volume_id_filter_paginated(self):
        pages, _ = self.pages([("Owner.1", "self")] + filters(
            ("volume-id", [self.gen["generated"]["last_volume"], "vol-a0000000000000001"])), 5)
        self.assertEqual([len(p) for p in pages], [5, 3])

    def test_new_snapshot_appears_on_a_later_page(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self", "MaxResults": "10"}))
        made = self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": "vol-a0000000000000001"}))
        r = self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self", "MaxResults": "10",
                                                         "NextToken": r.text("nextToken")}))
        self.assertEqual(snap_ids(r)[-1], made.text("snapshotId"))
        self.assertEqual(len(snap_ids(r)), 3)


class Volumes(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def vol_ids(self, params):
        return self.assertOk(self.ec2("DescribeVolumes", params)).ids("volumeSet", "volumeId")

    def test_all_and_item_fields(self):
        r = self.assertOk(self.ec2("DescribeVolumes"))
        items = r.items("volumeSet")
        self.assertEqual(len(items), 3)
        first = items[0]
        self.assertEqual(first.findtext(NS + "volumeId"), "vol-00000000000000001")
        self.assertEqual(first.findtext(NS + "status"), "in-use")
        self.assertEqual(first.findtext(NS + "size"), "8")
        self.assertEqual(first.findtext(NS + "attachmentSet/" + NS + "item/" + NS + "status"),
                         "attached")
        self.assertEqual(tags_of(first), {"Backup": "daily", "Name": "web"})

    def test_ids(self):
        self.assertEqual(self.vol_ids({"VolumeId.1": "vol-00000000000000002"}),
                         ["vol-00000000000000002"])
        self.assertError(self.ec2("DescribeVolumes", {"VolumeId.1": "vol-0000000000000000f"}),
                         "InvalidVolume.NotFound", 400)
        self.assertError(self.ec2("DescribeVolumes", {"VolumeId.1": "volume-1"}),
                         "InvalidVolumeID.Malformed", 400)
        self.assertError(self.ec2("DescribeVolumes", {"VolumeId.1": "vol-00000000000000002",
                                                      "MaxResults": "5"}),
                         "InvalidParameterCombination", 400)

    def test_tag_filters(self):
        self.assertEqual(self.vol_ids(filters(("tag:Backup", ["daily", "weekly"]))),
                         ["vol-00000000000000001", "vol-00000000000000002"])
        self.assertEqual(self.vol_ids(filters(("tag-key", ["Backup"]), ("tag:Name", ["d*"]))),
                         ["vol-00000000000000002"])
        self.assertEqual(self.vol_ids(filters(("volume-type", ["sc1"]))),
                         ["vol-00000000000000003"])

    def test_pagination_up_to_500(self):
        self.seed(generate={"volumes": 600, "snapshots_per_volume": 0, "id_prefix": "c"})
        r = self.assertOk(self.ec2("DescribeVolumes", {"MaxResults": "1000"}))
        self.assertEqual(len(r.items("volumeSet")), 500)
        r = self.assertOk(self.ec2("DescribeVolumes", {"MaxResults": "1000",
                                                       "NextToken": r.text("nextToken")}))
        self.assertEqual(len(r.items("volumeSet")), 103)
        self.assertIsNone(r.text("nextToken"))


class Images(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()
        self.ami = self.admin("ami", {"name": "golden", "snapshot_ids": [
            "snap-00000000000000011", "snap-00000000000000021"]})["image_id"]

    def test_filter_by_snapshot(self):
        r = self.assertOk(self.ec2("DescribeImages", [("Owner.1", "self")] + filters(
            ("block-device-mapping.snapshot-id", ["snap-00000000000000021"]))))
        items = r.items("imagesSet")
        self.assertEqual([i.findtext(NS + "imageId") for i in items], [self.ami])
        mapped = [e.findtext(NS + "ebs/" + NS + "snapshotId")
                  for e in items[0].findall(NS + "blockDeviceMapping/" + NS + "item")]
        self.assertEqual(mapped, ["snap-00000000000000011", "snap-00000000000000021"])
        r = self.assertOk(self.ec2("DescribeImages", [("Owner.1", "self")] + filters(
            ("block-device-mapping.snapshot-id", ["snap-00000000000000012"]))))
        self.assertEqual(r.items("imagesSet"), [])

    def test_ids(self):
        r = self.assertOk(self.ec2("DescribeImages", {"ImageId.1": self.ami}))
        self.assertEqual(r.ids("imagesSet", "imageId"), [self.ami])
        self.assertError(self.ec2("DescribeImages", {"ImageId.1": "ami-0000000000000000f"}),
                         "InvalidAMIID.NotFound", 400)
        self.assertError(self.ec2("DescribeImages", {"ImageId.1": "ami-xyz"}),
                         "InvalidAMIID.Malformed", 400)

    def test_other_owner_sees_nothing_of_ours(self):
        r = self.assertOk(self.ec2("DescribeImages", {"Owner.1": "210987654321"}))
        self.assertEqual(r.items("imagesSet"), [])


if __name__ == "__main__":
    unittest.main()
