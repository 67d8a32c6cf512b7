"""Hostile answers a test can ask for: items repeated across pages (the same
or contradicting themselves), page tokens that never end, DeleteSnapshot
answering false, refusals limited to some resources, and new snapshots that
listings show only after a delay.  Each is off by default, does what
docs/testing.md says when on, and goes away with the call that clears it."""

import unittest
import xml.etree.ElementTree as ET

from simtest import NS, T0_EPOCH, EmulatorTestCase, tags_of

OWN = [("Owner.1", "self")]
ALL_IDS = ["snap-a%016x" % n for n in range(1, 26)]
VOL1 = "vol-00000000000000001"
VOL2 = "vol-00000000000000002"
SC1 = "vol-00000000000000003"
SNAP11 = "snap-00000000000000011"
SNAP12 = "snap-00000000000000012"
SNAP21 = "snap-00000000000000021"
DENIED = ("You are not authorized to perform this operation. Encoded "
          "authorization failure message: ")


def snap_ids(r):
    return r.ids("snapshotSet", "snapshotId")


def restart(test):
    """Go on with a fresh emulator started as the test's was (same seed)."""
    other = type(test.emu)(clock=T0_EPOCH, frozen_clock=True)
    other.start()
    test.addCleanup(other.stop)
    test.emu, test.sim = other, other.sim
    test._close()
    test._conn = None


def same_item(a, b):
    """Whether two <item> elements are the same, white space after them aside."""
    return ET.tostring(a).rstrip() == ET.tostring(b).rstrip()


class Paging(EmulatorTestCase):
    """Five volumes with five snapshots each: 25 snapshots, ids in order."""

    def setUp(self):
        super().setUp()
        self.seed_paging()

    def seed_paging(self):
        self.seed(generate={"volumes": 5, "snapshots_per_volume": 5,
                            "id_prefix": "a", "start": "2025-06-01T00:00:00Z",
                            "snapshot_tags": {"ManagedBy": "ec2backup"}})

    def page(self, token=None, size=5, action="DescribeSnapshots", params=OWN):
        p = list(params) + [("MaxResults", str(size))]
        if token:
            p.append(("NextToken", token))
        return self.assertOk(self.ec2(action, p))

    def walk(self, size=5, limit=30, action="DescribeSnapshots", params=OWN,
             set_name="snapshotSet", id_name="snapshotId"):
        """[(ids, next token)] of every page, stopping after `limit`."""
        out = []
        token = None
        while len(out) < limit:
            r = self.page(token, size, action, params)
            token = r.text("nextToken")
            out.append((r.ids(set_name, id_name), token))
            if not token:
                break
        return out


class RepeatedItems(Paging):
    def test_off_by_default(self):
        pages = self.walk()
        flat = [i for ids, _ in pages for i in ids]
        self.assertEqual(flat, ALL_IDS)
        self.assertEqual(self.admin("faults")["rules"], [])

    def test_identical_repeats_open_each_later_page(self):
        self.admin("faults", {"action": "DescribeSnapshots", "kind": "repeat_items",
                              "repeat": 2})
        first = self.page()
        second = self.page(first.text("nextToken"))
        self.assertEqual(snap_ids(second), ALL_IDS[3:5] + ALL_IDS[5:8])
        by_id = {i.findtext(NS + "snapshotId"): i for i in first.items("snapshotSet")}
        for item in second.items("snapshotSet")[:2]:
            self.assertTrue(same_item(item, by_id[item.findtext(NS + "snapshotId")]))
        rest = self.walk()
        self.assertEqual([ids for ids, _ in rest], [ALL_IDS[3 * k:3 * k + 5] for k in range(8)])
        self.assertTrue(all(len(ids) <= 5 for ids, _ in rest))
        self.admin("faults", method="DELETE")
        self.assertEqual([i for ids, _ in self.walk() for i in ids], ALL_IDS)

    def test_count_limits_the_pages_changed(self):
        self.admin("faults", {"action": "DescribeSnapshots", "kind": "repeat_items",
                              "count": 1})
        pages = [ids for ids, _ in self.walk()]
        self.assertEqual(pages, [ALL_IDS[0:5], ALL_IDS[4:9], ALL_IDS[9:14], ALL_IDS[14:19],
                                 ALL_IDS[19:24], ALL_IDS[24:]])
        self.assertEqual(self.admin("faults")["rules"], [])
        entries = self.admin("log")["entries"]
        self.assertEqual([e["fault"] for e in entries], [None, "repeat_items"] + [None] * 4)

    def test_first_pages_and_full_listings_are_left_alone(self):
        self.admin("faults", {"action": "DescribeSnapshots", "kind": "repeat_items",
                              "count": 1})
        self.assertEqual(snap_ids(self.assertOk(self.ec2("DescribeSnapshots", OWN))), ALL_IDS)
        self.assertEqual(snap_ids(self.page()), ALL_IDS[:5])
        self.assertEqual(self.admin("faults")["rules"][0]["count"], 1)

    def repeated_copy(self, rule):
        """The first page's last item and its repeat on the second page."""
        self.admin("faults", dict({"action": "DescribeSnapshots", "kind": "repeat_items"}, **rule))
        first = self.page()
        second = self.page(first.text("nextToken"))
        original = first.items("snapshotSet")[-1]
        copy = second.items("snapshotSet")[0]
        self.assertEqual(copy.findtext(NS + "snapshotId"), original.findtext(NS + "snapshotId"))
        return original, copy

    def test_a_repeat_on_another_volume(self):
        original, copy = self.repeated_copy({"variant": "volume_id"})
        self.assertEqual(original.findtext(NS + "volumeId"), "vol-a0000000000000001")
        self.assertEqual(copy.findtext(NS + "volumeId"), "vol-a0000000000000002")
        self.admin("faults", method="DELETE")
        _, copy = self.repeated_copy({"variant": "volume_id", "value": "vol-0000000000000beef"})
        self.assertEqual(copy.findtext(NS + "volumeId"), "vol-0000000000000beef")

    def test_a_repeat_in_another_state(self):
        original, copy = self.repeated_copy({"variant": "state"})
        self.assertEqual(original.findtext(NS + "status"), "completed")
        self.assertEqual(copy.findtext(NS + "status"), "error")
        self.admin("faults", method="DELETE")
        _, copy = self.repeated_copy({"variant": "state", "value": "pending"})
        self.assertEqual((copy.findtext(NS + "status"), copy.findtext(NS + "progress")),
                         ("pending", "0%"))
        self.assertIsNone(copy.find(NS + "completionTime"))
        state = self.snapshot_state(copy.findtext(NS + "snapshotId"))
        self.assertEqual(state["state"], "completed")       # only the copy lies

    def test_a_repeat_with_other_tags(self):
        original, copy = self.repeated_copy({"variant": "tags"})
        self.assertEqual(tags_of(original), {"ManagedBy": "ec2backup"})
        self.assertEqual(tags_of(copy), {})
        self.admin("faults", method="DELETE")
        _, copy = self.repeated_copy({"variant": "tags", "value": {"ManagedBy": "other"}})
        self.assertEqual(tags_of(copy), {"ManagedBy": "other"})

    def test_volumes_and_images(self):
        self.admin("faults", {"action": "DescribeVolumes", "kind": "repeat_items",
                              "variant": "state"})
        self.seed(generate={"volumes": 6, "id_prefix": "b"})
        first = self.page(size=5, action="DescribeVolumes", params=())
        second = self.page(first.text("nextToken"), 5, "DescribeVolumes", ())
        a, b = first.items("volumeSet")[-1], second.items("volumeSet")[0]
        self.assertEqual(a.findtext(NS + "volumeId"), b.findtext(NS + "volumeId"))
        self.assertEqual((a.findtext(NS + "status"), b.findtext(NS + "status")),
                         ("in-use", "error"))
        for n in range(6):
            self.admin("ami", {"name": "img%d" % n, "snapshot_ids": [ALL_IDS[n]]})
        self.admin("faults", {"action": "DescribeImages", "kind": "repeat_items"})
        pages = self.walk(action="DescribeImages", params=OWN, set_name="imagesSet",
                          id_name="imageId")
        self.assertEqual([len(ids) for ids, _ in pages], [5, 2])
        self.assertEqual(pages[1][0][0], pages[0][0][-1])

    def test_a_sequence_scripts_pages_first_pages_included(self):
        self.admin("faults", {"action": "DescribeSnapshots",
                              "sequence": ["repeat_items", "ok", "repeat_items"]})
        pages = [ids for ids, _ in self.walk()]
        self.assertEqual(pages, [ALL_IDS[0:5], ALL_IDS[5:10], ALL_IDS[9:14],
                                 ALL_IDS[14:19], ALL_IDS[19:24], ALL_IDS[24:]])
        self.assertEqual(self.admin("faults")["rules"], [])

    def test_deterministic_with_the_seed(self):
        def run():
            self.admin("faults", {"action": "DescribeSnapshots", "kind": "repeat_items",
                                  "probability": 0.5})
            return [ids for ids, _ in self.walk(size=5)] + \
                [ids for ids, _ in self.walk(size=5)]
        first = run()
        self.admin("reset", {})
        self.seed_paging()
        self.assertEqual(run(), first)

    def test_rule_validation(self):
        for rule, words in (
                ({"action": "DescribeVolumes", "variant": "volume_id"}, "variant"),
                ({"action": "*"}, "applies to"),
                ({"action": "CreateSnapshot"}, "applies to"),
                ({"action": "DescribeSnapshots", "repeat": 0}, "repeat"),
                ({"action": "DescribeSnapshots", "variant": "state", "value": "done"}, "state"),
                ({"action": "DescribeSnapshots", "value": "x"}, "variant"),
                ({"action": "DescribeSnapshots", "resources": ["snap-00000000000000011"]},
                 "resources"),
                ({"action": "DescribeSnapshots", "fraction": 0.5}, "do not apply")):
            with self.subTest(rule=rule):
                body = dict({"kind": "repeat_items"}, **rule)
                self.assertIn(words, self.admin("faults", body, expect=400)["error"])
        self.assertIn("cannot mix", self.admin("faults", {
            "action": "DescribeSnapshots", "sequence": ["repeat_items", "internal_error"]},
            expect=400)["error"])
        self.assertEqual(self.admin("faults")["rules"], [])


class ShortPages(Paging):
    def test_page_size_caps_max_results(self):
        self.assertEqual(self.admin("config")["page_size"], 0)
        self.assertEqual(len(self.walk(size=1000)), 1)
        self.admin("config", {"page_size": 7})
        self.addCleanup(self.admin, "config", {"page_size": 0})
        pages = self.walk(size=1000)
        self.assertEqual([len(ids) for ids, _ in pages], [7, 7, 7, 4])
        self.assertEqual([i for ids, _ in pages for i in ids], ALL_IDS)
        # A smaller MaxResults still wins.
        self.assertEqual(len(self.walk(size=5)), 5)


class EndlessTokens(Paging):
    def test_off_by_default_tokens_lead_to_the_end(self):
        pages = self.walk()
        self.assertEqual([i for ids, _ in pages for i in ids], ALL_IDS)
        tokens = [t for _, t in pages[:-1]]
        self.assertEqual(len(set(tokens)), 4)

    def test_the_same_token_forever(self):
        self.admin("faults", {"action": "DescribeSnapshots", "kind": "token_loop"})
        first = self.page()
        token = first.text("nextToken")
        for _ in range(5):
            r = self.page(token)
            self.assertEqual(snap_ids(r), ALL_IDS[5:10])
            self.assertEqual(r.text("nextToken"), token)
        self.assertEqual(self.admin("faults")["rules"][0]["fired"], 5)
        self.admin("faults", {"clear": "DescribeSnapshots"})
        r = self.page(token)
        self.assertNotEqual(r.text("nextToken"), token)
        self.assertEqual(snap_ids(self.page(r.text("nextToken"))), ALL_IDS[10:15])

    def test_a_cycle_of_three_tokens(self):
        self.admin("faults", {"action": "DescribeSnapshots", "kind": "token_loop",
                              "tokens": 3})
        t1 = self.page().text("nextToken")
        seen = []
        token = t1
        for _ in range(7):
            r = self.page(token)
            seen.append(snap_ids(r))
            token = r.text("nextToken")
            if token == t1:
                seen.append("back")
        self.assertEqual(seen, [ALL_IDS[5:10], ALL_IDS[10:15], ALL_IDS[15:20], "back",
                                ALL_IDS[5:10], ALL_IDS[10:15], ALL_IDS[15:20], "back",
                                ALL_IDS[5:10]])

    def test_for_n_pages_then_behave(self):
        self.admin("faults", {"action": "DescribeSnapshots", "kind": "token_loop",
                              "count": 3})
        pages = [ids for ids, _ in self.walk()]
        self.assertEqual(pages, [ALL_IDS[0:5]] + [ALL_IDS[5:10]] * 4 +
                         [ALL_IDS[10:15], ALL_IDS[15:20], ALL_IDS[20:]])
        self.assertEqual(self.admin("faults")["rules"], [])

    def test_fresh_tokens_with_zero_items(self):
        self.admin("faults", {"action": "DescribeSnapshots", "kind": "token_chain",
                              "count": 4})
        pages = self.walk()
        self.assertEqual([ids for ids, _ in pages[:4]], [[]] * 4)
        tokens = [t for _, t in pages[:4]]
        self.assertEqual(len(set(tokens)), 4)
        self.assertTrue(all(tokens))
        self.assertEqual([i for ids, _ in pages[4:] for i in ids], ALL_IDS)

    def test_fresh_tokens_with_the_same_items_forever(self):
        first = self.page()
        self.admin("faults", {"action": "DescribeSnapshots", "kind": "token_chain",
                              "items": "same"})
        token = first.text("nextToken")
        tokens = {token}
        for _ in range(6):
            r = self.page(token)
            self.assertEqual(snap_ids(r), ALL_IDS[5:10])
            token = r.text("nextToken")
            self.assertNotIn(token, tokens)
            tokens.add(token)
        self.admin("faults", method="DELETE")
        r = self.page(token)
        self.assertEqual(snap_ids(r), ALL_IDS[5:10])
        self.assertEqual(snap_ids(self.page(r.text("nextToken"))), ALL_IDS[10:15])

    def test_tokens_are_deterministic_with_the_seed(self):
        def run():
            self.admin("faults", {"action": "DescribeSnapshots", "kind": "token_chain",
                                  "count": 3})
            return [t for _, t in self.walk()]
        first = run()
        restart(self)
        self.seed_paging()
        self.assertEqual(run(), first)

    def test_volumes(self):
        self.seed(generate={"volumes": 12, "id_prefix": "c"})
        self.admin("faults", {"action": "DescribeVolumes", "kind": "token_loop", "count": 2})
        pages = self.walk(action="DescribeVolumes", params=(), set_name="volumeSet",
                          id_name="volumeId")
        self.assertEqual([len(ids) for ids, _ in pages], [5, 5, 5, 5, 5, 2])
        self.assertEqual(pages[1], pages[2])
        self.assertEqual(pages[1][1], pages[0][1])
        self.assertEqual(pages[3][0], pages[1][0])
        self.assertNotEqual(pages[3][1], pages[0][1])

    def test_rule_validation(self):
        self.assertIn("tokens", self.admin("faults", {
            "action": "DescribeSnapshots", "kind": "token_loop", "tokens": 0},
            expect=400)["error"])
        self.assertIn("items", self.admin("faults", {
            "action": "DescribeSnapshots", "kind": "token_chain", "items": "some"},
            expect=400)["error"])
        self.assertIn("do not apply", self.admin("faults", {
            "action": "DescribeSnapshots", "kind": "token_chain", "tokens": 2},
            expect=400)["error"])


class DeleteAnswersFalse(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def delete(self, sid):
        return self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": sid}))

    def test_off_by_default(self):
        self.assertEqual(self.delete(SNAP11).text("return"), "true")
        self.assertIsNone(self.snapshot_state(SNAP11))

    def test_false_and_nothing_deleted(self):
        self.admin("faults", {"action": "DeleteSnapshot", "kind": "return_false"})
        for _ in range(2):
            r = self.delete(SNAP11)
            self.assertEqual(r.text("return"), "false")
            self.assertIsNotNone(self.snapshot_state(SNAP11))
        entry = self.admin("log")["entries"][-1]
        self.assertEqual((entry["status"], entry["fault"]), (200, "return_false"))
        self.assertEqual(self.admin("counters")["actions"]["DeleteSnapshot"]["fault_kinds"],
                         {"return_false": 2})
        self.admin("faults", method="DELETE")
        self.assertEqual(self.delete(SNAP11).text("return"), "true")
        self.assertIsNone(self.snapshot_state(SNAP11))

    def test_only_for_the_listed_snapshots(self):
        self.admin("faults", {"action": "DeleteSnapshot", "kind": "return_false",
                              "resources": [SNAP11]})
        self.assertEqual(self.delete(SNAP12).text("return"), "true")
        self.assertEqual(self.delete(SNAP11).text("return"), "false")
        self.assertIsNotNone(self.snapshot_state(SNAP11))

    def test_a_count(self):
        self.admin("faults", {"action": "DeleteSnapshot", "kind": "return_false", "count": 2})
        answers = [self.delete(sid).text("return") for sid in (SNAP11, SNAP11, SNAP11)]
        self.assertEqual(answers, ["false", "false", "true"])

    def test_a_sequence(self):
        self.admin("faults", {"action": "DeleteSnapshot", "sequence": ["ok", "return_false"]})
        self.assertEqual(self.delete(SNAP11).text("return"), "true")
        self.assertEqual(self.delete(SNAP12).text("return"), "false")
        self.assertEqual(self.delete(SNAP12).text("return"), "true")

    def test_errors_come_first_and_spend_nothing(self):
        self.admin("faults", {"action": "DeleteSnapshot", "kind": "return_false", "count": 1})
        self.assertError(self.ec2("DeleteSnapshot", {"SnapshotId": "snap-0000000000000dead"}),
                         "InvalidSnapshot.NotFound", 400)
        self.assertError(self.ec2("DeleteSnapshot", {"SnapshotId": SNAP11, "DryRun": "true"}),
                         "DryRunOperation", 412)
        self.assertEqual(self.admin("faults")["rules"][0]["count"], 1)
        self.assertEqual(self.delete(SNAP11).text("return"), "false")

    def test_a_probability_repeatable_with_the_seed(self):
        def run():
            self.seed(replace=True, generate={"volumes": 1, "snapshots_per_volume": 40,
                                              "id_prefix": "d"})
            self.admin("faults", {"action": "DeleteSnapshot", "kind": "return_false",
                                  "probability": 0.5})
            return [self.delete("snap-d%016x" % n).text("return") for n in range(1, 41)]
        first = run()
        self.assertTrue(8 <= first.count("false") <= 32, first)
        self.admin("reset", {})
        self.assertEqual(run(), first)

    def test_only_for_delete_snapshot(self):
        self.assertIn("applies to", self.admin("faults", {
            "action": "CreateTags", "kind": "return_false"}, expect=400)["error"])


class ResourceRefusals(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def test_off_by_default(self):
        self.assertEqual(self.admin("revoke"), {"revoked": [], "resources": {}})

    def test_delete_refused_on_listed_snapshots_only(self):
        out = self.admin("revoke", {"actions": ["DeleteSnapshot"],
                                    "resources": [SNAP11, SNAP12]})
        self.assertEqual(out, {"revoked": [], "resources": {"DeleteSnapshot": [SNAP11, SNAP12]}})
        for params in ({"SnapshotId": SNAP11}, {"SnapshotId": SNAP12, "DryRun": "true"}):
            r = self.ec2("DeleteSnapshot", params)
            self.assertError(r, "UnauthorizedOperation", 403)
            message = r.root.findtext("Errors/Error/Message")
            self.assertTrue(message.startswith(DENIED), message)
            self.assertGreater(len(message), len(DENIED) + 100)
        self.assertIsNotNone(self.snapshot_state(SNAP11))
        self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": SNAP21}))
        self.assertOk(self.ec2("DescribeSnapshots", {"SnapshotId.1": SNAP11}))
        self.admin("revoke", {"restore": ["DeleteSnapshot"]})
        self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": SNAP11}))

    def test_create_snapshot_refused_on_one_volume(self):
        self.admin("revoke", {"actions": ["CreateSnapshot"], "resources": [VOL1]})
        self.assertError(self.ec2("CreateSnapshot", {"VolumeId": VOL1}),
                         "UnauthorizedOperation", 403)
        self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": VOL2}))
        self.admin("revoke", {"restore": "all"})
        self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": VOL1}))

    def test_create_tags_refused_when_any_resource_is(self):
        self.admin("revoke", {"actions": ["CreateTags"], "resources": [SNAP12]})
        self.assertError(self.ec2("CreateTags", {"ResourceId.1": SNAP11, "ResourceId.2": SNAP12,
                                                 "Tag.1.Key": "X", "Tag.1.Value": "1"}),
                         "UnauthorizedOperation", 403)
        self.assertNotIn("X", self.snapshot_state(SNAP11)["tags"])
        self.assertOk(self.ec2("CreateTags", {"ResourceId.1": SNAP11,
                                              "Tag.1.Key": "X", "Tag.1.Value": "1"}))

    def test_whole_and_partial_revocations(self):
        self.admin("revoke", {"actions": ["DeleteSnapshot"], "resources": [SNAP11]})
        self.admin("revoke", {"actions": ["DeleteSnapshot"], "resources": [SNAP21]})
        self.assertEqual(self.admin("revoke")["resources"],
                         {"DeleteSnapshot": [SNAP11, SNAP21]})
        out = self.admin("revoke", {"actions": ["DeleteSnapshot"]})
        self.assertEqual(out, {"revoked": ["DeleteSnapshot"], "resources": {}})
        self.assertError(self.ec2("DeleteSnapshot", {"SnapshotId": SNAP12}),
                         "UnauthorizedOperation", 403)
        self.admin("revoke", {"actions": ["CreateSnapshot"], "resources": [VOL1]})
        self.admin("reset", {})
        self.assertEqual(self.admin("revoke"), {"revoked": [], "resources": {}})

    def test_the_message_is_repeatable_with_the_seed(self):
        self.admin("revoke", {"actions": ["DeleteSnapshot"], "resources": [SNAP11]})
        first = self.ec2("DeleteSnapshot", {"SnapshotId": SNAP11}).body
        restart(self)
        self.seed_small()
        self.admin("revoke", {"actions": ["DeleteSnapshot"], "resources": [SNAP11]})
        self.assertEqual(self.ec2("DeleteSnapshot", {"SnapshotId": SNAP11}).body, first)

    def test_bad_requests(self):
        self.assertIn("'actions'", self.admin("revoke", {"resources": [SNAP11]},
                                              expect=400)["error"])
        self.assertIn("unknown action", self.admin("revoke", {"actions": ["RunInstances"]},
                                                   expect=400)["error"])
        self.assertIn("non-empty list", self.admin("revoke", {"actions": ["DeleteSnapshot"],
                                                              "resources": SNAP11},
                                                   expect=400)["error"])

    def test_fault_rules_limited_to_resources(self):
        self.admin("faults", {"action": "DeleteSnapshot", "kind": "internal_error",
                              "resources": [SNAP11]})
        self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": SNAP12}))
        self.assertError(self.ec2("DeleteSnapshot", {"SnapshotId": SNAP11}),
                         "InternalError", 500)
        self.assertEqual(self.admin("faults")["rules"][0]["resources"], [SNAP11])


class RequiredTags(EmulatorTestCase):
    """An IAM condition on request tags: CreateSnapshot allowed only with
    the ec2backup:policy tag, DryRun or not."""

    def test_create_needs_the_tag(self):
        self.seed(volumes=[{"id": VOL1}])
        out = self.admin("revoke", {"actions": ["CreateSnapshot"],
                                    "require_tags": ["ec2backup:policy"]})
        self.assertEqual(out["require_tags"],
                         {"CreateSnapshot": ["ec2backup:policy"]})
        bare = [("VolumeId", VOL1), ("DryRun", "true")]
        tagged = bare + [("TagSpecification.1.ResourceType", "snapshot"),
                         ("TagSpecification.1.Tag.1.Key", "ec2backup:policy"),
                         ("TagSpecification.1.Tag.1.Value", "prod")]
        self.assertEqual(self.ec2("CreateSnapshot", bare).code,
                         "UnauthorizedOperation")
        self.assertEqual(self.ec2("CreateSnapshot", tagged).code,
                         "DryRunOperation")
        self.admin("revoke", {"restore": ["CreateSnapshot"]})
        self.assertEqual(self.ec2("CreateSnapshot", bare).code,
                         "DryRunOperation")
        self.assertNotIn("require_tags", self.admin("revoke"))


class DelayedVisibility(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def create(self, volume=VOL1):
        r = self.assertOk(self.ec2("CreateSnapshot", [
            ("VolumeId", volume), ("TagSpecification.1.ResourceType", "snapshot"),
            ("TagSpecification.1.Tag.1.Key", "ManagedBy"),
            ("TagSpecification.1.Tag.1.Value", "ec2backup")]))
        return r.text("snapshotId")

    def listed(self, sid):
        """Whether the listings a client may use show sid."""
        calls = [OWN,
                 OWN + [("Filter.1.Name", "tag:ManagedBy"), ("Filter.1.Value.1", "ec2backup")],
                 OWN + [("Filter.1.Name", "volume-id"), ("Filter.1.Value.1", VOL1)],
                 [("Filter.1.Name", "snapshot-id"), ("Filter.1.Value.1", sid)],
                 OWN + [("MaxResults", "1000")]]
        seen = [sid in snap_ids(self.assertOk(self.ec2("DescribeSnapshots", p))) for p in calls]
        by_id = self.ec2("DescribeSnapshots", {"SnapshotId.1": sid})
        seen.append(by_id.status == 200)
        self.assertEqual(len(set(seen)), 1, seen)
        return seen[0]

    def test_off_by_default(self):
        self.assertEqual(self.admin("config")["visibility_delay"], 0)
        self.assertTrue(self.listed(self.create()))

    def test_hidden_from_listings_until_the_delay_has_passed(self):
        self.admin("config", {"visibility_delay": 60})
        sid = self.create()
        self.assertFalse(self.listed(sid))
        self.assertError(self.ec2("DescribeSnapshots", {"SnapshotId.1": sid}),
                         "InvalidSnapshot.NotFound", 400)
        self.assertIsNotNone(self.snapshot_state(sid))
        self.advance(59.9)
        self.assertFalse(self.listed(sid))
        self.advance(0.1)
        self.assertTrue(self.listed(sid))
        self.assertTrue(self.listed("snap-00000000000000011"))

    def test_it_exists_for_everything_else(self):
        self.admin("config", {"visibility_delay": 300})
        sid = self.create(SC1)
        self.advance(15)
        self.assertError(self.ec2("CreateSnapshot", {"VolumeId": SC1}),
                         "ConcurrentSnapshotLimitExceeded", 400)
        self.assertOk(self.ec2("CreateTags", {"ResourceId.1": sid, "Tag.1.Key": "K",
                                              "Tag.1.Value": "v"}))
        self.assertEqual(self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": sid}))
                         .text("return"), "true")
        self.assertIsNone(self.snapshot_state(sid))

    def test_cleared_by_setting_zero(self):
        self.admin("config", {"visibility_delay": 3600})
        sid = self.create()
        self.assertFalse(self.listed(sid))
        self.admin("config", {"visibility_delay": 0})
        self.assertTrue(self.listed(sid))


if __name__ == "__main__":
    unittest.main()
