"""Instances and multi-volume snapshots: the control calls that make and
change instances and their volumes, DescribeInstances, CreateSnapshots and
its snapshot sets, and how permissions, throttling, faults and the log
treat them.  botocore's own parsers read every document at the end."""

import sys
import unittest
import xml.etree.ElementTree as ET

from simtest import NS, EmulatorTestCase, tags_of

try:
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import ClientError
    BOTO_MISSING = None
except ImportError as e:      # pragma: no cover - depends on the machine
    BOTO_MISSING = str(e)
    sys.stderr.write("\n*** test_instances: botocore/boto3 NOT importable (%s): "
                     "the conformance tests are SKIPPED ***\n" % e)

I1 = "i-0123456789abcdef0"           # running: root, data, st1 logs
I2 = "i-00000000000000002"           # stopped: root only
ROOT1 = "vol-000000000000000a1"
DATA1 = "vol-000000000000000a2"
LOGS1 = "vol-000000000000000a3"      # st1: one snapshot in progress at most
ROOT2 = "vol-000000000000000b1"
SPARE = "vol-000000000000000c1"      # available, in the default zone
ELSEWHERE = "vol-000000000000000c2"  # available, in another zone
NOBODY = "i-0000000000000dead"
DENIED = ("You are not authorized to perform this operation. Encoded "
          "authorization failure message: ")


def instance_items(r):
    return r.root.findall("%sreservationSet/%sitem/%sinstancesSet/%sitem"
                          % (NS, NS, NS, NS))


def instance_ids(r):
    return [i.findtext(NS + "instanceId") for i in instance_items(r)]


def mappings(item):
    """{device: (volume id, status, attach time, delete on termination)}."""
    out = {}
    for m in item.findall("%sblockDeviceMapping/%sitem" % (NS, NS)):
        ebs = m.find(NS + "ebs")
        out[m.findtext(NS + "deviceName")] = (
            ebs.findtext(NS + "volumeId"), ebs.findtext(NS + "status"),
            ebs.findtext(NS + "attachTime"), ebs.findtext(NS + "deleteOnTermination"))
    return out


def tag_spec(tags, resource="snapshot", n=1):
    out = [("TagSpecification.%d.ResourceType" % n, resource)]
    for m, (k, v) in enumerate(tags.items(), 1):
        out += [("TagSpecification.%d.Tag.%d.Key" % (n, m), k),
                ("TagSpecification.%d.Tag.%d.Value" % (n, m), v)]
    return out


def filters(*pairs):
    out = []
    for n, (name, values) in enumerate(pairs, 1):
        out.append(("Filter.%d.Name" % n, name))
        out += [("Filter.%d.Value.%d" % (n, m), v) for m, v in enumerate(values, 1)]
    return out


class Fleet(EmulatorTestCase):
    """Two instances with their volumes, and two volumes of no instance."""

    def setUp(self):
        super().setUp()
        self.seed_fleet()

    def seed_fleet(self):
        return self.seed(
            volumes=[{"id": SPARE, "state": "available", "tags": {"Name": "spare"}},
                     {"id": ELSEWHERE, "state": "available",
                      "availability_zone": "us-east-1b"}],
            instances=[
                {"id": I1, "type": "m5.large", "launch_time": "2025-12-01T00:00:00Z",
                 "tags": {"Name": "web", "Backup": "daily"},
                 "volumes": [
                     {"device": "/dev/xvda",
                      "volume": {"id": ROOT1, "tags": {"Name": "web-root"}}},
                     {"device": "/dev/sdf",
                      "volume": {"id": DATA1, "size": 100, "encrypted": True,
                                 "tags": {"Name": "web-data", "Backup": "daily"}}},
                     {"device": "/dev/sdg",
                      "volume": {"id": LOGS1, "size": 500, "type": "st1",
                                 "tags": {"Name": "web-logs"}}}]},
                {"id": I2, "state": "stopped", "tags": {"Name": "db"},
                 "launch_time": "2025-12-02T00:00:00Z",
                 "volumes": [{"volume": {"id": ROOT2}}]}])

    def describe(self, params=()):
        return self.assertOk(self.ec2("DescribeInstances", list(params)))

    def item(self, iid):
        r = self.describe([("InstanceId.1", iid)])
        items = instance_items(r)
        self.assertEqual(len(items), 1)
        return items[0]

    def volume_item(self, vid):
        r = self.assertOk(self.ec2("DescribeVolumes", {"VolumeId.1": vid}))
        return r.items("volumeSet")[0]

    def attachment_of(self, vid):
        """(instance, device, status, attach time, delete on termination)
        from DescribeVolumes, or None."""
        items = self.volume_item(vid).findall("%sattachmentSet/%sitem" % (NS, NS))
        if not items:
            return None
        a = items[0]
        return tuple(a.findtext(NS + n) for n in (
            "instanceId", "device", "status", "attachTime", "deleteOnTermination"))

    def instance_state(self, iid):
        for i in self.admin("state")["instances"]:
            if i["id"] == iid:
                return i
        return None

    def snapshots_now(self):
        return {s["id"]: s for s in self.admin("state")["snapshots"]}


# -- control calls ---------------------------------------------------------

class Seeding(Fleet):
    def test_instances_with_their_volumes(self):
        i1 = self.instance_state(I1)
        self.assertEqual((i1["state"], i1["state_code"], i1["type"], i1["root_device_name"]),
                         ("running", 16, "m5.large", "/dev/xvda"))
        self.assertEqual([(m["device"], m["volume_id"], m["status"], m["delete_on_termination"])
                          for m in i1["block_device_mappings"]],
                         [("/dev/xvda", ROOT1, "attached", True),
                          ("/dev/sdf", DATA1, "attached", False),
                          ("/dev/sdg", LOGS1, "attached", False)])
        self.assertRegex(i1["reservation_id"], r"^r-[0-9a-f]{17}$")
        vols = {v["id"]: v for v in self.admin("state")["volumes"]}
        self.assertEqual((vols[DATA1]["state"], vols[DATA1]["size"], vols[DATA1]["encrypted"],
                          vols[DATA1]["availability_zone"], vols[DATA1]["instance_id"]),
                         ("in-use", 100, True, "us-east-1a", I1))
        self.assertEqual(vols[LOGS1]["type"], "st1")
        # Volumes made with the instance date from its launch.
        self.assertEqual(vols[ROOT1]["create_time"], "2025-12-01T00:00:00.000Z")
        i2 = self.instance_state(I2)
        self.assertEqual((i2["state"], i2["state_code"]), ("stopped", 80))
        self.assertEqual([(m["device"], m["volume_id"]) for m in i2["block_device_mappings"]],
                         [("/dev/xvda", ROOT2)])
        self.assertEqual(self.admin("state?summary=1")["instances"], 2)

    def test_volume_side_agrees_with_the_instance_side(self):
        bdm = mappings(self.item(I1))
        for device, (vid, status, when, dot) in bdm.items():
            with self.subTest(volume=vid):
                self.assertEqual(self.attachment_of(vid), (I1, device, status, when, dot))
                self.assertEqual(self.volume_item(vid).findtext(NS + "status"), "in-use")
        self.assertEqual(bdm["/dev/xvda"][2:], ("2025-12-01T00:00:00.000Z", "true"))
        self.assertIsNone(self.attachment_of(SPARE))

    def test_existing_volumes_and_defaults(self):
        out = self.seed(instances=[
            {"id": "i-00000000000000003", "root_device_name": "/dev/sda1",
             "volumes": [{"volume_id": SPARE},
                         {"volume_id": "vol-000000000000000d1", "status": "attaching",
                          "delete_on_termination": True, "attach_time": -60}]}],
            volumes=[{"id": "vol-000000000000000d1", "state": "available"}])
        self.assertEqual(out["instances"], ["i-00000000000000003"])
        bdm = self.instance_state("i-00000000000000003")["block_device_mappings"]
        self.assertEqual([(m["device"], m["volume_id"], m["status"], m["delete_on_termination"])
                          for m in bdm],
                         [("/dev/sda1", SPARE, "attached", True),
                          ("/dev/sdf", "vol-000000000000000d1", "attaching", True)])
        self.assertEqual(bdm[1]["attach_time"], "2025-12-31T23:59:00.000Z")
        self.assertEqual(self.attachment_of("vol-000000000000000d1")[2], "attaching")
        # No 'volumes': one new root volume; a generated id.
        iid = self.seed(instances=[{}])["instances"][0]
        self.assertRegex(iid, r"^i-[0-9a-f]{17}$")
        bdm = self.instance_state(iid)["block_device_mappings"]
        self.assertEqual([(m["device"], m["delete_on_termination"]) for m in bdm],
                         [("/dev/xvda", True)])

    def test_one_reservation_for_several_instances(self):
        shared = "r-00000000000000042"
        self.seed(instances=[{"id": "i-0000000000000000a", "reservation_id": shared},
                             {"id": "i-0000000000000000b", "reservation_id": shared}])
        r = self.describe(filters(("reservation-id", ["r-00000000000000042"])))
        reservations = r.items("reservationSet")
        self.assertEqual(len(reservations), 1)
        self.assertEqual(instance_ids(r), ["i-0000000000000000a", "i-0000000000000000b"])

    def test_rejects_bad_instances_and_leaves_nothing_behind(self):
        before = self.admin("state")
        for spec, words in (
                ({"id": "i-123"}, "malformed instance id"),
                ({"id": I1}, "already exists"),
                ({"state": "asleep"}, "bad instance state"),
                ({"colour": "red"}, "unknown instance field"),
                ({"volumes": [{"volume_id": DATA1}]}, "already attached"),
                ({"volumes": [{"volume_id": "vol-0000000000000beef"}]}, "no volume"),
                ({"volumes": [{"volume": {"id": "vol-000000000000000e1"}},
                              {"volume_id": ELSEWHERE}]}, "us-east-1b"),
                ({"volumes": [{"device": "/dev/sdf"}, {"device": "/dev/sdf"}]}, "is taken"),
                ({"volumes": [{"volume": {"state": "in-use"}}]}, "cannot be given"),
                ({"volumes": [{"volume_id": SPARE, "volume": {}}]}, "not both"),
                ({"volumes": [{"status": "glued"}]}, "status is one of"),
                ({"state": "terminated", "volumes": [{}]}, "no volumes"),
                ({"reservation_id": "r-1"}, "malformed reservation id"),
                ({"tags": {"aws:x": "1"}}, "reserved")):
            with self.subTest(spec=spec):
                self.assertIn(words, self.admin("seed", {"instances": [spec]},
                                                expect=400)["error"])
        self.assertEqual(self.admin("state"), before)

    def test_volumes_and_instances_do_not_claim_each_other(self):
        # A volume cannot be seeded as attached to an emulated instance ...
        self.assertIn("attach it through the instance", self.admin(
            "seed", {"volumes": [{"instance_id": I1}]}, expect=400)["error"])
        self.assertIn("derived", self.admin(       # in-use, instance id from its own id
            "seed", {"volumes": [{"id": "vol-00000000000000002"}]}, expect=400)["error"])
        # ... nor an instance take the id a seeded in-use volume names.
        self.seed(volumes=[{"id": "vol-000000000000000f1", "instance_id": "i-000000000000000f1"}])
        self.assertIn("seeded as attached", self.admin(
            "seed", {"instances": [{"id": "i-000000000000000f1"}]}, expect=400)["error"])

    def test_reset_forgets_instances(self):
        self.admin("reset", {})
        self.assertEqual(self.admin("state")["instances"], [])
        self.assertError(self.ec2("DescribeInstances", {"InstanceId.1": I1}),
                         "InvalidInstanceID.NotFound", 400)


class AttachAndDetach(Fleet):
    def test_attach_an_existing_volume(self):
        out = self.admin("attach", {"instance_id": I1, "volume_id": SPARE, "device": "/dev/sdh"})
        self.assertEqual(out["volume"]["state"], "in-use")
        self.assertEqual(mappings(self.item(I1))["/dev/sdh"],
                         (SPARE, "attached", "2026-01-01T00:00:00.000Z", "false"))
        self.assertEqual(self.attachment_of(SPARE),
                         (I1, "/dev/sdh", "attached", "2026-01-01T00:00:00.000Z", "false"))

    def test_attach_a_new_volume_attaching_then_attached(self):
        out = self.admin("attach", {"instance_id": I2, "device": "/dev/sdk", "status": "attaching",
                                    "volume": {"size": 20, "tags": {"Name": "new"}}})
        vid = out["volume"]["id"]
        self.assertEqual((out["volume"]["size"], out["volume"]["tags"]), (20, {"Name": "new"}))
        self.assertEqual(mappings(self.item(I2))["/dev/sdk"][:2], (vid, "attaching"))
        self.admin("attach", {"instance_id": I2, "volume_id": vid})
        self.assertEqual(mappings(self.item(I2))["/dev/sdk"][:2], (vid, "attached"))
        self.assertEqual(self.attachment_of(vid)[2], "attached")

    def test_attach_refusals(self):
        self.admin("instance", {"ids": [I2], "state": "terminated"})
        sdh = {"instance_id": I1, "device": "/dev/sdh"}
        for body, words in (
                (dict(sdh, volume_id=DATA1), "already attached"),
                (dict(sdh, volume_id=SPARE, device="/dev/sdf"), "is taken"),
                (dict(sdh, volume_id=ELSEWHERE), "us-east-1b"),
                (dict(sdh, volume_id=SPARE, instance_id=I2), "terminated"),
                ({"instance_id": NOBODY, "volume_id": SPARE}, "no instance"),
                (dict(sdh, volume_id=SPARE, status="detached"), "attaching or attached"),
                ({"volume_id": SPARE}, "missing field instance_id")):
            with self.subTest(body=body):
                self.assertIn(words, self.admin("attach", body, expect=400)["error"])
        self.assertIsNone(self.attachment_of(SPARE))

    def test_detach_wholly(self):
        out = self.admin("detach", {"volume_id": DATA1})
        self.assertEqual((out["volume"]["state"], out["volume"]["attachment"]),
                         ("available", None))
        self.assertNotIn("/dev/sdf", mappings(self.item(I1)))
        self.assertIsNone(self.attachment_of(DATA1))
        self.assertEqual(self.volume_item(DATA1).findtext(NS + "status"), "available")
        # and it can go to another instance
        self.admin("attach", {"instance_id": I2, "volume_id": DATA1, "device": "/dev/sdf"})
        self.assertEqual(self.attachment_of(DATA1)[:2], (I2, "/dev/sdf"))

    def test_detaching_and_detached_show_on_both_sides(self):
        for status in ("detaching", "detached"):
            with self.subTest(status=status):
                self.admin("detach", {"volume_id": DATA1, "status": status})
                self.assertEqual(mappings(self.item(I1))["/dev/sdf"][1], status)
                self.assertEqual(self.attachment_of(DATA1)[2], status)
        for body, words in (({"volume_id": SPARE}, "not attached"),
                            ({"volume_id": "vol-0000000000000beef"}, "no volume"),
                            ({"volume_id": DATA1, "status": "gone"}, "detaching or detached")):
            with self.subTest(body=body):
                self.assertIn(words, self.admin("detach", body, expect=400)["error"])

    def test_detach_a_volume_of_an_instance_not_modelled(self):
        self.seed(volumes=[{"id": "vol-00000000000000077"}])
        self.assertEqual(self.attachment_of("vol-00000000000000077")[0],
                         "i-00000000000000077")
        self.assertEqual(instance_ids(self.describe()), [I1, I2])
        self.admin("detach", {"volume_id": "vol-00000000000000077"})
        self.assertIsNone(self.attachment_of("vol-00000000000000077"))

    def test_removing_an_attached_volume_drops_its_mapping(self):
        self.admin("volume", {"remove": [DATA1]})
        self.assertEqual(sorted(mappings(self.item(I1))), ["/dev/sdg", "/dev/xvda"])


class InstanceStates(Fleet):
    def test_stop_start_and_codes(self):
        for state, code in (("stopping", 64), ("stopped", 80), ("pending", 0),
                            ("running", 16), ("shutting-down", 32)):
            with self.subTest(state=state):
                out = self.admin("instance", {"ids": [I1], "state": state})
                self.assertEqual(out["instances"][0]["state"], state)
                item = self.item(I1)
                self.assertEqual((item.findtext(NS + "instanceState/" + NS + "name"),
                                  item.findtext(NS + "instanceState/" + NS + "code")),
                                 (state, str(code)))
        # the volumes stay attached until termination
        self.assertEqual(len(mappings(self.item(I1))), 3)

    def test_stopped_instances_say_why(self):
        self.advance(3600)
        self.admin("instance", {"ids": [I1], "state": "stopped"})
        item = self.item(I1)
        self.assertEqual(item.findtext(NS + "reason"), "User initiated (2026-01-01 01:00:00 GMT)")
        self.assertEqual(item.findtext("%sstateReason/%scode" % (NS, NS)),
                         "Client.UserInitiatedShutdown")
        self.admin("instance", {"ids": [I1], "state": "running"})
        item = self.item(I1)
        self.assertIsNone(item.find(NS + "stateReason"))
        self.assertEqual(item.findtext(NS + "reason"), "")

    def test_termination(self):
        self.seed(snapshots=[{"id": "snap-000000000000000a1", "volume": ROOT1}])
        self.advance(60)
        out = self.admin("instance", {"ids": [I1], "state": "terminated"})
        self.assertEqual(out["instances"][0]["terminated_at"], "2026-01-01T00:01:00.000Z")
        item = self.item(I1)
        self.assertEqual(item.findtext("%sinstanceState/%scode" % (NS, NS)), "48")
        self.assertEqual(mappings(item), {})
        # delete-on-termination volumes are gone, their snapshots stay ...
        self.assertError(self.ec2("DescribeVolumes", {"VolumeId.1": ROOT1}),
                         "InvalidVolume.NotFound", 400)
        self.assertIn("snap-000000000000000a1", self.snapshots_now())
        # ... the others are available again.
        for vid in (DATA1, LOGS1):
            self.assertEqual(self.volume_item(vid).findtext(NS + "status"), "available")
            self.assertIsNone(self.attachment_of(vid))
        self.assertIn("cannot change state", self.admin(
            "instance", {"ids": [I1], "state": "running"}, expect=400)["error"])
        self.admin("instance", {"ids": [I1], "state": "terminated"})   # already so: fine

    def test_terminated_instances_vanish_after_an_hour(self):
        self.admin("instance", {"ids": [I2], "state": "terminated"})
        self.advance(3599.9)
        self.assertIn(I2, instance_ids(self.describe()))
        self.assertEqual(instance_ids(self.describe(filters(("instance-state-name",
                                                             ["terminated"])))), [I2])
        self.advance(0.1)
        self.assertEqual(instance_ids(self.describe()), [I1])
        r = self.ec2("DescribeInstances", {"InstanceId.1": I2})
        self.assertError(r, "InvalidInstanceID.NotFound", 400)
        self.assertIsNone(self.instance_state(I2))
        self.assertIn("no instance", self.admin("instance", {"ids": [I2], "state": "running"},
                                                expect=400)["error"])

    def test_how_long_terminated_instances_stay_is_a_setting(self):
        self.assertEqual(self.admin("config")["terminated_visible_for"], 3600)
        self.admin("config", {"terminated_visible_for": 10})
        self.seed(instances=[{"id": "i-00000000000000009", "state": "terminated"}])
        self.admin("instance", {"ids": [I2], "state": "terminated"})
        self.advance(9)
        self.assertEqual(set(instance_ids(self.describe())), {I1, I2, "i-00000000000000009"})
        self.advance(1)
        self.assertEqual(instance_ids(self.describe()), [I1])

    def test_tags(self):
        out = self.admin("instance", {"ids": [I1, I2], "untag": ["Backup"],
                                      "tags": {"Owner": "ops"}})
        self.assertEqual([i["tags"] for i in out["instances"]],
                         [{"Name": "web", "Owner": "ops"}, {"Name": "db", "Owner": "ops"}])
        self.assertEqual(tags_of(self.item(I1)), {"Name": "web", "Owner": "ops"})
        self.assertEqual(instance_ids(self.describe(filters(("tag:Owner", ["ops"])))), [I1, I2])

    def test_all_or_nothing(self):
        before = self.admin("state")
        for body, words in (
                ({"ids": [I1, NOBODY], "state": "stopped"}, "no instance"),
                ({"ids": [I1], "state": "sleeping"}, "state is one of"),
                ({"ids": [I1], "tags": {"k%d" % n: "v" for n in range(49)}}, "maximum number"),
                ({"ids": [I1], "untag": "Name"}, "list of tag keys"),
                ({"ids": [], "state": "stopped"}, "non-empty"),
                ({"ids": [I1], "colour": "red"}, "unknown")):
            with self.subTest(body=body):
                self.assertIn(words, self.admin("instance", body, expect=400)["error"])
        self.admin("instance", {"ids": [I2], "state": "terminated"})
        self.assertIn("cannot change state", self.admin(
            "instance", {"ids": [I1, I2], "state": "stopped"}, expect=400)["error"])
        self.assertEqual(self.instance_state(I1), [i for i in before["instances"]
                                                   if i["id"] == I1][0])


# -- DescribeInstances -------------------------------------------------------

class DescribeInstances(Fleet):
    def test_document_layout(self):
        r = self.describe([("InstanceId.1", I1)])
        self.assertEqual(r.root.tag, NS + "DescribeInstancesResponse")
        res = r.items("reservationSet")[0]
        self.assertRegex(res.findtext(NS + "reservationId"), r"^r-[0-9a-f]{17}$")
        self.assertEqual(res.findtext(NS + "ownerId"), "123456789012")
        self.assertIsNotNone(res.find(NS + "groupSet"))
        item = instance_items(r)[0]
        self.assertEqual([item.findtext(NS + n) for n in (
            "instanceId", "imageId", "instanceType", "launchTime", "rootDeviceType",
            "rootDeviceName")],
            [I1, "ami-0123456789abcdef0", "m5.large", "2025-12-01T00:00:00.000Z", "ebs",
             "/dev/xvda"])
        self.assertEqual(item.findtext("%splacement/%savailabilityZone" % (NS, NS)), "us-east-1a")
        self.assertEqual(item.findtext("%sinstanceState/%sname" % (NS, NS)), "running")
        self.assertEqual(mappings(item), {
            "/dev/xvda": (ROOT1, "attached", "2025-12-01T00:00:00.000Z", "true"),
            "/dev/sdf": (DATA1, "attached", "2025-12-01T00:00:00.000Z", "false"),
            "/dev/sdg": (LOGS1, "attached", "2025-12-01T00:00:00.000Z", "false")})
        self.assertEqual(tags_of(item), {"Name": "web", "Backup": "daily"})
        self.assertIsNone(r.text("nextToken"))

    def test_all_and_by_id(self):
        self.assertEqual(instance_ids(self.describe()), [I1, I2])
        self.assertEqual(instance_ids(self.describe([("InstanceId.1", I2),
                                                     ("InstanceId.2", I2)])), [I2])
        # ids and filters together: the filter narrows the ids
        self.assertEqual(instance_ids(self.describe(
            [("InstanceId.1", I1), ("InstanceId.2", I2)] +
            filters(("instance-state-name", ["stopped"])))), [I2])

    def test_unknown_ids_are_named(self):
        r = self.ec2("DescribeInstances", {"InstanceId.1": I1, "InstanceId.2": NOBODY})
        self.assertError(r, "InvalidInstanceID.NotFound", 400)
        self.assertEqual(r.root.findtext("Errors/Error/Message"),
                         "The instance ID '%s' does not exist" % NOBODY)
        r = self.ec2("DescribeInstances", [("InstanceId.1", NOBODY), ("InstanceId.2", I1),
                                           ("InstanceId.3", "i-0000000000000beef")])
        self.assertError(r, "InvalidInstanceID.NotFound", 400)
        self.assertEqual(r.root.findtext("Errors/Error/Message"),
                         "The instance IDs '%s, i-0000000000000beef' do not exist" % NOBODY)

    def test_malformed_ids(self):
        for bad in ("i-123", "vol-000000000000000a1", "I-0123456789ABCDEF0", ""):
            with self.subTest(id=bad):
                r = self.ec2("DescribeInstances", {"InstanceId.1": bad})
                self.assertError(r, "InvalidInstanceID.Malformed", 400)
                self.assertEqual(r.root.findtext("Errors/Error/Message"),
                                 'Invalid id: "%s"' % bad)

    def test_filters(self):
        cases = [
            (("instance-id", [I2]), [I2]),
            (("instance-state-name", ["running"]), [I1]),
            (("instance-state-code", ["80"]), [I2]),
            (("instance-type", ["m5.*"]), [I1]),
            (("tag:Name", ["web", "db"]), [I1, I2]),
            (("tag:Name", ["w?b"]), [I1]),
            (("tag:Backup", ["daily"]), [I1]),
            (("tag-key", ["Backup"]), [I1]),
            (("block-device-mapping.volume-id", [ROOT2]), [I2]),
            (("block-device-mapping.volume-id", [DATA1, ROOT2]), [I1, I2]),
            (("block-device-mapping.device-name", ["/dev/sdg"]), [I1]),
            (("block-device-mapping.delete-on-termination", ["false"]), [I1]),
            (("block-device-mapping.status", ["attached"]), [I1, I2]),
            (("block-device-mapping.attach-time", ["2025-12-02*"]), [I2]),
            (("root-device-name", ["/dev/xvda"]), [I1, I2]),
            (("root-device-type", ["ebs"]), [I1, I2]),
            (("availability-zone", ["us-east-1a"]), [I1, I2]),
            (("availability-zone", ["us-east-1b"]), []),
            (("image-id", ["ami-0123456789abcdef0"]), [I1, I2]),
            (("owner-id", ["123456789012"]), [I1, I2]),
            (("launch-time", ["2025-12-01T*"]), [I1]),
        ]
        for f, want in cases:
            with self.subTest(filter=f):
                self.assertEqual(instance_ids(self.describe(filters(f))), want)
        self.assertEqual(instance_ids(self.describe(filters(
            ("tag:Name", ["web", "db"]), ("instance-state-name", ["stopped"])))), [I2])

    def test_mapping_status_filter_follows_the_attachment(self):
        self.admin("detach", {"volume_id": DATA1, "status": "detaching"})
        self.assertEqual(instance_ids(self.describe(filters(
            ("block-device-mapping.status", ["detaching"])))), [I1])
        self.admin("detach", {"volume_id": DATA1})
        self.assertEqual(instance_ids(self.describe(filters(
            ("block-device-mapping.volume-id", [DATA1])))), [])

    def test_bad_filters_and_parameters(self):
        self.assertError(self.ec2("DescribeInstances", filters(("no-such-filter", ["x"]))),
                         "InvalidParameterValue", 400)
        self.assertError(self.ec2("DescribeInstances", {"Filter.1.Name": "instance-id"}),
                         "InvalidParameterValue", 400)
        self.assertError(self.ec2("DescribeInstances", filters(
            ("instance-id", ["i-%017x" % n for n in range(201)]))), "FilterLimitExceeded", 400)
        self.assertError(self.ec2("DescribeInstances", {"InstanceId.0": I1}),
                         "UnknownParameter", 400)
        self.assertError(self.ec2("DescribeInstances", {"Owner.1": "self"}),
                         "UnknownParameter", 400)

    def test_max_results_and_ids_do_not_mix(self):
        for extra in ({"MaxResults": "5"}, {"NextToken": "x"}):
            with self.subTest(extra=extra):
                r = self.ec2("DescribeInstances", dict(extra, **{"InstanceId.1": I1}))
                self.assertError(r, "InvalidParameterCombination", 400)
        self.assertError(self.ec2("DescribeInstances", {"MaxResults": "4"}),
                         "InvalidParameterValue", 400)
        self.assertError(self.ec2("DescribeInstances", {"MaxResults": "many"}),
                         "InvalidParameterValue", 400)

    def test_dry_run(self):
        self.assertError(self.ec2("DescribeInstances", {"DryRun": "true"}), "DryRunOperation", 412)
        self.assertOk(self.ec2("DescribeInstances", {"DryRun": "false"}))


class InstancePages(EmulatorTestCase):
    """Twelve instances, listed five at a time."""

    IDS = ["i-%017x" % n for n in range(1, 13)]

    def setUp(self):
        super().setUp()
        self.seed(instances=[{"id": iid, "tags": {"Fleet": "a" if n % 2 else "b"}}
                             for n, iid in enumerate(self.IDS)])

    def walk(self, params=(), size=5, limit=10):
        pages, token = [], None
        while len(pages) < limit:
            p = list(params) + [("MaxResults", str(size))]
            if token:
                p.append(("NextToken", token))
            r = self.assertOk(self.ec2("DescribeInstances", p))
            token = r.text("nextToken")
            pages.append((instance_ids(r), token))
            if not token:
                break
        return pages

    def test_pages_cover_everything_once(self):
        pages = self.walk()
        self.assertEqual([len(ids) for ids, _ in pages], [5, 5, 2])
        self.assertEqual([i for ids, _ in pages for i in ids], self.IDS)
        self.assertIsNone(pages[-1][1])
        fleet_b = self.walk(filters(("tag:Fleet", ["b"])))
        self.assertEqual([i for ids, _ in fleet_b for i in ids], self.IDS[::2])

    def test_tokens_are_bound_to_the_query(self):
        token = self.walk(limit=1)[0][1]
        r = self.ec2("DescribeInstances", filters(("tag:Fleet", ["a"])) +
                     [("MaxResults", "5"), ("NextToken", token)])
        self.assertError(r, "InvalidNextToken", 400)
        r = self.ec2("DescribeSnapshots", {"MaxResults": "5", "NextToken": token})
        self.assertError(r, "InvalidNextToken", 400)

    def test_above_1000_means_1000(self):
        r = self.assertOk(self.ec2("DescribeInstances", {"MaxResults": "5000"}))
        self.assertEqual(len(instance_ids(r)), 12)

    def test_short_pages(self):
        self.admin("config", {"page_size": 3})
        self.assertEqual([len(ids) for ids, _ in self.walk()], [3, 3, 3, 3])

    def test_hostile_pages_apply(self):
        self.admin("faults", {"action": "DescribeInstances", "kind": "repeat_items",
                              "variant": "state"})
        pages = self.walk()
        self.assertEqual(pages[1][0][0], pages[0][0][-1])       # repeated ...
        r = self.assertOk(self.ec2("DescribeInstances", [("MaxResults", "5"),
                                                         ("NextToken", pages[0][1])]))
        first = instance_items(r)[0]
        self.assertEqual(first.findtext("%sinstanceState/%sname" % (NS, NS)), "terminated")
        self.assertEqual(self.admin("state")["instances"][4]["state"], "running")   # ... copy only
        self.admin("faults", {"clear": True, "action": "DescribeInstances",
                              "kind": "token_loop"})
        pages = self.walk(limit=4)
        self.assertEqual(len(pages), 4)
        self.assertEqual(pages[1][1], pages[2][1])
        self.assertIn("DescribeInstances", self.admin("faults", {
            "action": "DescribeInstances", "kind": "repeat_items", "variant": "volume_id"},
            expect=400)["error"])


# -- CreateSnapshots -----------------------------------------------------------

class CreateSnapshots(Fleet):
    def create(self, instance=I1, extra=()):
        return self.ec2("CreateSnapshots",
                        [("InstanceSpecification.InstanceId", instance)] + list(extra))

    def made(self, r):
        """{volume id: <item>} of a CreateSnapshots answer."""
        return {i.findtext(NS + "volumeId"): i for i in r.items("snapshotSet")}

    def test_one_snapshot_per_attached_volume(self):
        before = self.snapshots_now()
        r = self.assertOk(self.create(extra=[("Description", "nightly")]))
        self.assertEqual(r.root.tag, NS + "CreateSnapshotsResponse")
        made = self.made(r)
        self.assertEqual(list(made), [ROOT1, DATA1, LOGS1])
        sizes = {ROOT1: "8", DATA1: "100", LOGS1: "500"}
        for vid, item in made.items():
            with self.subTest(volume=vid):
                self.assertRegex(item.findtext(NS + "snapshotId"), r"^snap-[0-9a-f]{17}$")
                self.assertEqual(item.findtext(NS + "state"), "pending")
                self.assertIsNone(item.find(NS + "status"))
                self.assertEqual(item.findtext(NS + "startTime"), "2026-01-01T00:00:00.000Z")
                self.assertEqual(item.findtext(NS + "progress"), "")
                self.assertEqual(item.findtext(NS + "ownerId"), "123456789012")
                self.assertEqual(item.findtext(NS + "volumeSize"), sizes[vid])
                self.assertEqual(item.findtext(NS + "description"), "nightly")
                self.assertEqual(item.findtext(NS + "encrypted"),
                                 "true" if vid == DATA1 else "false")
                self.assertEqual(item.findtext(NS + "availabilityZone"), "us-east-1a")
                self.assertEqual(tags_of(item), {})
        ids = [i.findtext(NS + "snapshotId") for i in made.values()]
        listed = self.assertOk(self.ec2("DescribeSnapshots", [
            ("SnapshotId.%d" % n, sid) for n, sid in enumerate(ids, 1)]))
        self.assertEqual(sorted(listed.ids("snapshotSet", "snapshotId")), sorted(ids))
        self.assertEqual({i.findtext(NS + "status") for i in listed.items("snapshotSet")},
                         {"pending"})
        self.assertEqual(len(self.snapshots_now()), len(before) + 3)

    def test_a_stopped_instance_can_be_snapshotted(self):
        made = self.made(self.assertOk(self.create(I2)))
        self.assertEqual(list(made), [ROOT2])

    def test_exclusions(self):
        made = self.made(self.assertOk(self.create(extra=[
            ("InstanceSpecification.ExcludeBootVolume", "true")])))
        self.assertEqual(list(made), [DATA1, LOGS1])
        self.advance(15)
        self.admin("complete", {})
        made = self.made(self.assertOk(self.create(extra=[
            ("InstanceSpecification.ExcludeBootVolume", "false"),
            ("InstanceSpecification.ExcludeDataVolumeId.1", LOGS1)])))
        self.assertEqual(list(made), [ROOT1, DATA1])

    def test_bad_exclusions(self):
        before = self.snapshots_now()
        r = self.create(extra=[("InstanceSpecification.ExcludeDataVolumeId.1", ROOT1)])
        self.assertError(r, "InvalidParameterValue", 400)
        message = r.root.findtext("Errors/Error/Message")
        self.assertIn("root volume", message)
        self.assertIn("ExcludeBootVolume", message)
        for vid in (ROOT2, SPARE, "vol-0000000000000beef"):
            with self.subTest(volume=vid):
                r = self.create(extra=[("InstanceSpecification.ExcludeDataVolumeId.1", DATA1),
                                       ("InstanceSpecification.ExcludeDataVolumeId.2", vid)])
                self.assertError(r, "InvalidParameterValue", 400)
                self.assertIn("not attached", r.root.findtext("Errors/Error/Message"))
        self.assertError(self.create(extra=[
            ("InstanceSpecification.ExcludeDataVolumeId.1", "vol-1")]),
            "InvalidVolumeID.Malformed", 400)
        self.assertError(self.create(extra=[("InstanceSpecification.ExcludeBootVolume", "yes")]),
                         "InvalidParameterValue", 400)
        self.assertEqual(self.snapshots_now(), before)

    def test_at_most_40_exclusions(self):
        big = "i-00000000000000040"
        data = ["vol-%017x" % (0x400 + n) for n in range(41)]
        self.seed(instances=[{"id": big, "volumes": [{}] + [
            {"device": "/dev/xvd%03d" % n, "volume": {"id": vid}}
            for n, vid in enumerate(data)]}])
        excluded = [("InstanceSpecification.ExcludeDataVolumeId.%d" % n, vid)
                    for n, vid in enumerate(data, 1)]
        r = self.create(big, excluded)
        self.assertError(r, "InvalidParameterValue", 400)
        self.assertIn("40", r.root.findtext("Errors/Error/Message"))
        made = self.made(self.assertOk(self.create(big, excluded[:40])))
        self.assertEqual(len(made), 2)              # the root volume and the 41st
        self.assertIn(data[40], made)

    def test_only_attached_volumes(self):
        self.admin("detach", {"volume_id": DATA1, "status": "detaching"})
        self.admin("attach", {"instance_id": I1, "volume_id": SPARE, "device": "/dev/sdh",
                              "status": "attaching"})
        self.assertEqual(list(self.made(self.assertOk(self.create()))), [ROOT1, LOGS1])

    def test_nothing_left_to_snapshot(self):
        r = self.create(I2, [("InstanceSpecification.ExcludeBootVolume", "true")])
        self.assertError(r, "InvalidParameterValue", 400)
        self.assertIn("no attached EBS volume", r.root.findtext("Errors/Error/Message"))
        self.seed(instances=[{"id": "i-00000000000000004", "volumes": []}])
        self.assertError(self.create("i-00000000000000004"), "InvalidParameterValue", 400)

    def test_tags_given_and_copied(self):
        spec = tag_spec({"ManagedBy": "ec2backup", "Name": "from-request"})
        made = self.made(self.assertOk(self.create(extra=spec)))
        self.assertEqual({vid: tags_of(i) for vid, i in made.items()},
                         {vid: {"ManagedBy": "ec2backup", "Name": "from-request"}
                          for vid in (ROOT1, DATA1, LOGS1)})
        self.advance(15)
        self.admin("complete", {})
        made = self.made(self.assertOk(self.create(extra=spec + [
            ("CopyTagsFromSource", "volume")])))
        # each snapshot gets its own volume's tags; a given key wins
        self.assertEqual(tags_of(made[DATA1]), {"Name": "from-request", "Backup": "daily",
                                                "ManagedBy": "ec2backup"})
        self.assertEqual(tags_of(made[LOGS1]), {"Name": "from-request", "ManagedBy": "ec2backup"})
        sid = made[DATA1].findtext(NS + "snapshotId")
        self.assertEqual(self.snapshots_now()[sid]["tags"],
                         {"Name": "from-request", "Backup": "daily", "ManagedBy": "ec2backup"})
        self.advance(15)
        self.admin("complete", {})
        made = self.made(self.assertOk(self.create(extra=[("CopyTagsFromSource", "volume")])))
        self.assertEqual(tags_of(made[ROOT1]), {"Name": "web-root"})

    def test_tag_errors_create_nothing(self):
        before = self.snapshots_now()
        for extra, code in (
                (tag_spec({"a": "b"}, "volume"), "InvalidParameterValue"),
                (tag_spec({"aws:x": "b"}), "InvalidParameterValue"),
                (tag_spec({"": "b"}), "InvalidParameterValue"),
                (tag_spec({"k%d" % n: "v" for n in range(51)}), "TagLimitExceeded"),
                ([("TagSpecification.1.Tag.1.Key", "a")], "MissingParameter"),
                ([("CopyTagsFromSource", "instance")], "InvalidParameterValue"),
                ([("Description", "x" * 256)], "InvalidParameterValue")):
            with self.subTest(extra=extra[:2]):
                self.assertError(self.create(extra=extra), code, 400)
        # 49 given tags plus the two of DATA1: too many for that snapshot only
        r = self.create(extra=tag_spec({"k%d" % n: "v" for n in range(49)}) +
                        [("CopyTagsFromSource", "volume")])
        self.assertError(r, "TagLimitExceeded", 400)
        self.assertEqual(self.snapshots_now(), before)

    def test_instance_errors(self):
        self.assertError(self.ec2("CreateSnapshots"), "MissingParameter", 400)
        self.assertError(self.create(""), "MissingParameter", 400)
        self.assertError(self.create("i-xyz"), "InvalidInstanceID.Malformed", 400)
        r = self.create(NOBODY)
        self.assertError(r, "InvalidInstanceID.NotFound", 400)
        self.assertIn(NOBODY, r.root.findtext("Errors/Error/Message"))
        self.assertError(self.create(extra=[("InstanceSpecification.Bogus", "1")]),
                         "UnknownParameter", 400)
        self.assertError(self.create(extra=[("VolumeId", ROOT1)]), "UnknownParameter", 400)
        for state in ("shutting-down", "terminated"):
            with self.subTest(state=state):
                self.admin("instance", {"ids": [I2], "state": state})
                r = self.create(I2)
                self.assertError(r, "IncorrectState", 400)
                self.assertIn(state, r.root.findtext("Errors/Error/Message"))

    def test_location_and_outpost_are_accepted(self):
        self.assertOk(self.create(extra=[("Location", "regional")]))

    def test_per_volume_rate_both_ways(self):
        self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": DATA1}))
        self.advance(14.9)
        before = self.snapshots_now()
        r = self.create()
        self.assertError(r, "SnapshotCreationPerVolumeRateExceeded", 400)
        self.assertEqual(self.snapshots_now(), before)          # all or nothing
        self.advance(0.1)
        made = self.made(self.assertOk(self.create(extra=[
            ("InstanceSpecification.ExcludeDataVolumeId.1", LOGS1)])))
        self.advance(14.9)
        for vid in made:
            self.assertError(self.ec2("CreateSnapshot", {"VolumeId": vid}),
                             "SnapshotCreationPerVolumeRateExceeded", 400)
        self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": SPARE}))

    def test_concurrent_snapshots_per_volume(self):
        # st1 allows one in progress
        self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": LOGS1}))
        self.advance(15)
        before = self.snapshots_now()
        r = self.create()
        self.assertError(r, "ConcurrentSnapshotLimitExceeded", 400)
        self.assertIn(LOGS1, r.root.findtext("Errors/Error/Message"))
        self.assertEqual(self.snapshots_now(), before)
        self.assertOk(self.create(extra=[("InstanceSpecification.ExcludeDataVolumeId.1", LOGS1)]))
        # others allow five: the sixth call fails
        for _ in range(4):
            self.advance(15)
            self.assertOk(self.create(extra=[
                ("InstanceSpecification.ExcludeDataVolumeId.1", LOGS1)]))
        self.advance(15)
        self.assertError(self.create(extra=[("InstanceSpecification.ExcludeDataVolumeId.1",
                                             LOGS1)]), "ConcurrentSnapshotLimitExceeded", 400)

    def test_dry_run(self):
        before = self.admin("state")
        self.assertError(self.create(extra=[("DryRun", "true")]), "DryRunOperation", 412)
        self.assertEqual(self.admin("state"), before)
        self.assertOk(self.create())      # not even the 15 s rule was touched

    def test_new_snapshots_are_listed_late_like_create_snapshots(self):
        self.admin("config", {"visibility_delay": 30})
        made = self.made(self.assertOk(self.create()))
        sid = made[DATA1].findtext(NS + "snapshotId")
        self.assertError(self.ec2("DescribeSnapshots", {"SnapshotId.1": sid}),
                         "InvalidSnapshot.NotFound", 400)
        self.advance(30)
        self.assertOk(self.ec2("DescribeSnapshots", {"SnapshotId.1": sid}))
        self.admin("config", {"visibility_delay": 0})


class SnapshotSets(Fleet):
    options = {"complete_after": 60}

    def make_set(self, instance=I1):
        r = self.assertOk(self.ec2("CreateSnapshots",
                                   {"InstanceSpecification.InstanceId": instance}))
        return r.ids("snapshotSet", "snapshotId")

    def states(self, ids):
        snaps = {s["id"]: s for s in self.admin("state")["snapshots"]}
        return [snaps[i]["state"] for i in ids]

    def test_members_complete_together(self):
        ids = self.make_set()
        set_ids = {self.snapshot_state(i)["set_id"] for i in ids}
        self.assertEqual(len(set_ids), 1)
        self.assertIsNotNone(set_ids.pop())
        self.advance(59.9)
        self.assertEqual(self.states(ids), ["pending"] * 3)
        self.advance(0.1)
        self.assertEqual(self.states(ids), ["completed"] * 3)
        self.assertEqual({self.snapshot_state(i)["completion_time"] for i in ids},
                         {"2026-01-01T00:01:00.000Z"})

    def test_completing_one_completes_the_set(self):
        self.admin("config", {"complete_after": 0})
        ids = self.make_set()
        other = self.make_set(I2)
        done = self.admin("complete", {"ids": [ids[1]]})["completed"]
        self.assertEqual(sorted(done), sorted(ids))
        self.assertEqual(self.states(other), ["pending"])

    def test_a_set_fails_whole(self):
        self.admin("config", {"complete_after": 0})
        ids = self.make_set()
        other = self.make_set(I2)
        # one member deleted while in progress still fails with its set
        self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": ids[0]}))
        out = self.admin("complete", {"fail": [ids[2]], "message": "disk gone"})
        self.assertEqual(sorted(out["failed"]), sorted(ids))
        self.assertEqual(self.states(ids[1:]), ["error", "error"])
        self.assertEqual(self.snapshot_state(ids[1])["status_message"], "disk gone")
        self.assertEqual(self.states(other), ["pending"])
        # an error snapshot still counts: LOGS1 (st1) is full
        self.advance(15)
        self.assertError(self.ec2("CreateSnapshots", {"InstanceSpecification.InstanceId": I1}),
                         "ConcurrentSnapshotLimitExceeded", 400)

    def test_failing_wins_over_completing(self):
        self.admin("config", {"complete_after": 0})
        ids = self.make_set()
        out = self.admin("complete", {"fail": [ids[0]], "all": True})
        self.assertEqual((sorted(out["failed"]), out["completed"]), (sorted(ids), []))
        self.assertEqual(self.states(ids), ["error"] * 3)

    def test_single_snapshots_are_not_sets(self):
        r = self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": SPARE}))
        self.assertIsNone(self.snapshot_state(r.text("snapshotId"))["set_id"])


class CreateSnapshotsControl(Fleet):
    """Permissions, throttling, faults and the request log."""

    CALL = {"InstanceSpecification.InstanceId": I1}

    def test_revoked(self):
        self.admin("revoke", {"actions": ["CreateSnapshots"]})
        for params in (self.CALL, dict(self.CALL, DryRun="true")):
            r = self.ec2("CreateSnapshots", params)
            self.assertError(r, "UnauthorizedOperation", 403)
            self.assertTrue(r.root.findtext("Errors/Error/Message").startswith(DENIED))
        self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": DATA1}))
        self.admin("revoke", {"restore": ["CreateSnapshots"]})
        self.advance(15)
        self.assertOk(self.ec2("CreateSnapshots", self.CALL))

    def test_refused_on_the_instance_or_one_of_its_volumes(self):
        self.admin("revoke", {"actions": ["CreateSnapshots"], "resources": [I2]})
        self.assertError(self.ec2("CreateSnapshots", {"InstanceSpecification.InstanceId": I2}),
                         "UnauthorizedOperation", 403)
        self.admin("revoke", {"restore": "all"})
        self.admin("revoke", {"actions": ["CreateSnapshots"], "resources": [DATA1]})
        self.assertError(self.ec2("CreateSnapshots", self.CALL), "UnauthorizedOperation", 403)
        # a volume left out is not part of the request
        r = self.ec2("CreateSnapshots", dict(
            self.CALL, **{"InstanceSpecification.ExcludeDataVolumeId.1": DATA1}))
        self.assertOk(r)

    def test_required_request_tags(self):
        self.admin("revoke", {"actions": ["CreateSnapshots"],
                              "require_tags": ["ec2backup:policy"]})
        # a copied tag is no request tag
        self.assertOk(self.ec2("CreateTags", {"ResourceId.1": ROOT1,
                                              "Tag.1.Key": "ec2backup:policy",
                                              "Tag.1.Value": "x"}))
        copied_only = [("InstanceSpecification.InstanceId", I1), ("CopyTagsFromSource", "volume")]
        self.assertError(self.ec2("CreateSnapshots", copied_only), "UnauthorizedOperation", 403)
        tagged = [("InstanceSpecification.InstanceId", I1)] + tag_spec({"ec2backup:policy": "p"})
        self.assertError(self.ec2("CreateSnapshots", tagged + [("DryRun", "true")]),
                         "DryRunOperation", 412)
        self.assertOk(self.ec2("CreateSnapshots", tagged))

    def test_tags_at_creation_need_create_tags(self):
        self.admin("revoke", {"actions": ["CreateTags"]})
        self.assertError(self.ec2("CreateSnapshots", [("InstanceSpecification.InstanceId", I1)] +
                                  tag_spec({"a": "b"})), "UnauthorizedOperation", 403)
        self.assertOk(self.ec2("CreateSnapshots", [("InstanceSpecification.InstanceId", I1),
                                                   ("CopyTagsFromSource", "volume")]))

    def test_describe_instances_revoked(self):
        self.admin("revoke", {"actions": ["DescribeInstances"], "resources": [I2]})
        self.assertOk(self.ec2("DescribeInstances", {"InstanceId.1": I1}))
        self.assertOk(self.ec2("DescribeInstances"))            # names no id
        self.assertError(self.ec2("DescribeInstances", {"InstanceId.1": I2}),
                         "UnauthorizedOperation", 403)

    def drain(self, action, params, most):
        for n in range(most + 5):
            r = self.ec2(action, params)
            if r.code == "RequestLimitExceeded":
                self.assertEqual(r.status, 503)
                return n
        self.fail("%s was never throttled" % action)

    def test_own_bucket_of_100_refilled_at_5_per_second(self):
        missing = {"InstanceSpecification.InstanceId": NOBODY}   # refused calls take tokens too
        self.assertEqual(self.drain("CreateSnapshots", missing, 100), 100)
        self.advance(0.2)
        self.assertEqual(self.ec2("CreateSnapshots", missing).code, "InvalidInstanceID.NotFound")
        self.assertError(self.ec2("CreateSnapshots", missing), "RequestLimitExceeded", 503)
        self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": SPARE}))    # another bucket
        status = self.admin("throttle")
        self.assertEqual(status["categories"]["CreateSnapshots"],
                         {"size": 100, "refill_per_second": 5.0})

    def test_describe_instances_buckets(self):
        self.assertEqual(self.drain("DescribeInstances", {}, 50), 50)
        self.assertOk(self.ec2("DescribeInstances", {"MaxResults": "5"}))
        self.assertOk(self.ec2("DescribeInstances", {"InstanceId.1": I1}))
        self.assertEqual(self.admin("throttle")["buckets"]["DescribeInstances"]["size"], 100)

    def test_faults_by_action_name(self):
        before = self.snapshots_now()
        self.admin("faults", {"action": "CreateSnapshots", "kind": "internal_error", "count": 1})
        self.assertError(self.ec2("CreateSnapshots", self.CALL), "InternalError", 500)
        self.assertEqual(self.snapshots_now(), before)
        self.admin("faults", {"action": "CreateSnapshots", "kind": "unavailable",
                              "resources": [I2]})
        self.assertError(self.ec2("CreateSnapshots", {"InstanceSpecification.InstanceId": I2}),
                         "Unavailable", 503)
        self.assertOk(self.ec2("CreateSnapshots", self.CALL))
        self.admin("faults", {"action": "DescribeInstances", "kind": "malformed", "count": 1})
        r = self.ec2("DescribeInstances")
        self.assertEqual(r.status, 200)
        with self.assertRaises(ET.ParseError):
            r.root

    def test_reset_after_applies_the_call(self):
        import http.client
        self.admin("faults", {"action": "CreateSnapshots", "kind": "reset_after", "count": 1})
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
            self.ec2("CreateSnapshots", self.CALL)
        self.assertEqual(len([s for s in self.snapshots_now().values() if s["set_id"]]), 3)
        self.assertError(self.ec2("CreateSnapshots", self.CALL),
                         "SnapshotCreationPerVolumeRateExceeded", 400)

    def test_log_and_counters(self):
        self.ec2("CreateSnapshots", self.CALL)
        self.ec2("CreateSnapshots", {"InstanceSpecification.InstanceId": NOBODY})
        self.ec2("DescribeInstances", {"InstanceId.1": I1})
        entries = self.admin("log?action=CreateSnapshots")["entries"]
        self.assertEqual([(e["status"], e["code"]) for e in entries],
                         [(200, None), (400, "InvalidInstanceID.NotFound")])
        self.assertEqual(entries[0]["params"], {"Action": "CreateSnapshots",
                                                "Version": "2016-11-15",
                                                "InstanceSpecification.InstanceId": I1})
        c = self.admin("counters")["actions"]
        self.assertEqual((c["CreateSnapshots"]["ok"], c["CreateSnapshots"]["errors"]), (1, 1))
        self.assertEqual(c["DescribeInstances"]["ok"], 1)


# -- botocore reads it all -----------------------------------------------------

@unittest.skipIf(BOTO_MISSING is not None, "botocore/boto3 not importable: %s" % BOTO_MISSING)
class Botocore(Fleet):
    options = {"clock": None, "frozen_clock": False}

    def setUp(self):
        super().setUp()
        self.client = boto3.session.Session().client(
            "ec2", endpoint_url=self.emu.url, region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            config=BotoConfig(retries={"total_max_attempts": 1}))
        self.addCleanup(self.client.close)

    def assertClientError(self, code, status, call, **kwargs):
        with self.assertRaises(ClientError) as cm:
            call(**kwargs)
        err = cm.exception.response
        self.assertEqual((err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]),
                         (code, status))
        self.assertTrue(err["Error"]["Message"])
        return err

    def test_describe_instances(self):
        r = self.client.describe_instances()
        self.assertEqual(len(r["Reservations"]), 2)
        res = r["Reservations"][0]
        self.assertEqual((res["OwnerId"], res["Groups"]), ("123456789012", []))
        self.assertRegex(res["ReservationId"], r"^r-[0-9a-f]{17}$")
        i = res["Instances"][0]
        self.assertEqual((i["InstanceId"], i["State"], i["InstanceType"], i["RootDeviceType"],
                          i["RootDeviceName"], i["Placement"]["AvailabilityZone"]),
                         (I1, {"Code": 16, "Name": "running"}, "m5.large", "ebs", "/dev/xvda",
                          "us-east-1a"))
        self.assertEqual(i["LaunchTime"].isoformat(), "2025-12-01T00:00:00+00:00")
        self.assertEqual([(m["DeviceName"], m["Ebs"]["VolumeId"], m["Ebs"]["Status"],
                           m["Ebs"]["DeleteOnTermination"]) for m in i["BlockDeviceMappings"]],
                         [("/dev/xvda", ROOT1, "attached", True),
                          ("/dev/sdf", DATA1, "attached", False),
                          ("/dev/sdg", LOGS1, "attached", False)])
        self.assertEqual(i["BlockDeviceMappings"][0]["Ebs"]["AttachTime"].isoformat(),
                         "2025-12-01T00:00:00+00:00")
        self.assertEqual(i["Tags"], [{"Key": "Name", "Value": "web"},
                                     {"Key": "Backup", "Value": "daily"}])
        stopped = r["Reservations"][1]["Instances"][0]
        self.assertEqual(stopped["State"], {"Code": 80, "Name": "stopped"})
        self.assertEqual(stopped["StateReason"]["Code"], "Client.UserInitiatedShutdown")
        self.assertTrue(stopped["StateTransitionReason"].startswith("User initiated ("))
        by_volume = self.client.describe_instances(Filters=[
            {"Name": "block-device-mapping.volume-id", "Values": [ROOT2]}])
        self.assertEqual([x["InstanceId"] for res in by_volume["Reservations"]
                          for x in res["Instances"]], [I2])

    def test_instance_without_volumes_and_terminated(self):
        self.admin("instance", {"ids": [I2], "state": "terminated"})
        i = self.client.describe_instances(InstanceIds=[I2])["Reservations"][0]["Instances"][0]
        self.assertEqual((i["State"]["Name"], i["BlockDeviceMappings"]), ("terminated", []))

    def test_volumes_agree(self):
        v = self.client.describe_volumes(VolumeIds=[DATA1])["Volumes"][0]
        a = v["Attachments"][0]
        self.assertEqual((a["InstanceId"], a["Device"], a["State"], a["DeleteOnTermination"]),
                         (I1, "/dev/sdf", "attached", False))
        self.assertEqual(a["AttachTime"].isoformat(), "2025-12-01T00:00:00+00:00")

    def test_paginator(self):
        self.seed(instances=[{} for _ in range(9)])
        pages = list(self.client.get_paginator("describe_instances").paginate(
            PaginationConfig={"PageSize": 5}))
        ids = [i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]]
        self.assertEqual((len(pages), len(ids), len(set(ids))), (3, 11, 11))

    def test_describe_errors(self):
        c = self.client
        err = self.assertClientError("InvalidInstanceID.NotFound", 400, c.describe_instances,
                                     InstanceIds=[NOBODY])
        self.assertIn(NOBODY, err["Error"]["Message"])
        self.assertClientError("InvalidInstanceID.Malformed", 400, c.describe_instances,
                               InstanceIds=["i-xyz"])
        self.assertClientError("InvalidParameterCombination", 400, c.describe_instances,
                               InstanceIds=[I1], MaxResults=5)
        self.assertClientError("DryRunOperation", 412, c.describe_instances, DryRun=True)

    def test_create_snapshots(self):
        r = self.client.create_snapshots(
            InstanceSpecification={"InstanceId": I1, "ExcludeBootVolume": True},
            Description="nightly", CopyTagsFromSource="volume",
            TagSpecifications=[{"ResourceType": "snapshot",
                                "Tags": [{"Key": "RunId", "Value": "r-42"}]}])
        snaps = {s["VolumeId"]: s for s in r["Snapshots"]}
        self.assertEqual(sorted(snaps), sorted([DATA1, LOGS1]))
        s = snaps[DATA1]
        self.assertEqual((s["State"], s["VolumeSize"], s["Description"], s["Encrypted"],
                          s["OwnerId"], s["Progress"]),
                         ("pending", 100, "nightly", True, "123456789012", ""))
        self.assertRegex(s["SnapshotId"], r"^snap-[0-9a-f]{17}$")
        self.assertEqual(s["StartTime"], snaps[LOGS1]["StartTime"])
        self.assertEqual(s["Tags"], [{"Key": "Name", "Value": "web-data"},
                                     {"Key": "Backup", "Value": "daily"},
                                     {"Key": "RunId", "Value": "r-42"}])
        listed = self.client.describe_snapshots(SnapshotIds=[s["SnapshotId"]])["Snapshots"][0]
        self.assertEqual((listed["State"], listed["VolumeId"]), ("pending", DATA1))

    def test_create_snapshots_errors(self):
        c = self.client
        self.assertClientError("InvalidInstanceID.NotFound", 400, c.create_snapshots,
                               InstanceSpecification={"InstanceId": NOBODY})
        self.assertClientError("InvalidInstanceID.Malformed", 400, c.create_snapshots,
                               InstanceSpecification={"InstanceId": "i-xyz"})
        self.assertClientError("InvalidParameterValue", 400, c.create_snapshots,
                               InstanceSpecification={"InstanceId": I1,
                                                      "ExcludeDataVolumeIds": [ROOT1]})
        self.assertClientError("DryRunOperation", 412, c.create_snapshots,
                               InstanceSpecification={"InstanceId": I1}, DryRun=True)
        c.create_snapshots(InstanceSpecification={"InstanceId": I1})
        self.assertClientError("SnapshotCreationPerVolumeRateExceeded", 400, c.create_snapshots,
                               InstanceSpecification={"InstanceId": I1})
        self.advance(15)
        self.assertClientError("ConcurrentSnapshotLimitExceeded", 400, c.create_snapshots,
                               InstanceSpecification={"InstanceId": I1})
        self.admin("instance", {"ids": [I2], "state": "terminated"})
        self.assertClientError("IncorrectState", 400, c.create_snapshots,
                               InstanceSpecification={"InstanceId": I2})
        self.admin("revoke", {"actions": ["CreateSnapshots"]})
        self.assertClientError("UnauthorizedOperation", 403, c.create_snapshots,
                               InstanceSpecification={"InstanceId": I1}, DryRun=True)
        self.admin("throttle", {"buckets": {"CreateSnapshots": {"size": 1,
                                                                "refill_per_second": 0.001}},
                                "refill": True})
        self.admin("revoke", {"restore": "all"})
        self.assertClientError("DryRunOperation", 412, c.create_snapshots,
                               InstanceSpecification={"InstanceId": I1}, DryRun=True)
        self.assertClientError("RequestLimitExceeded", 503, c.create_snapshots,
                               InstanceSpecification={"InstanceId": I1})


if __name__ == "__main__":
    unittest.main()
