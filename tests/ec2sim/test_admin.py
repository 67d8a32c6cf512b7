"""The /_sim/ control interface: seeding, the generator, clock, log,
counters, state, reset, credentials, config and shutdown."""

import time
import unittest

from simtest import NS, T0, EmulatorTestCase


class Seeding(EmulatorTestCase):
    def test_seed_and_state(self):
        out = self.seed_small()
        self.assertEqual(len(out["volumes"]), 3)
        self.assertEqual(len(out["snapshots"]), 6)
        state = self.admin("state")
        self.assertEqual((state["now"], state["account"], state["region"]),
                         ("2026-01-01T00:00:00.000Z", "123456789012", "us-east-1"))
        snap = [s for s in state["snapshots"] if s["id"] == "snap-00000000000000021"][0]
        self.assertEqual(snap["volume_id"], "vol-00000000000000002")
        self.assertEqual(snap["start_time"], "2025-11-01T00:00:00.000Z")
        self.assertEqual(snap["description"], "manual")
        self.assertEqual(snap["tags"], {"Owner": "alice"})
        summary = self.admin("state?summary=1")
        self.assertEqual(summary["snapshots"], 9)
        self.assertEqual(summary["snapshot_states"], {"completed": 7, "pending": 1, "error": 1})

    def test_relative_times_and_generated_ids(self):
        out = self.seed(volumes=[{"tags": {"Name": "x"}}],
                        snapshots=[{"volume": "vol-00000000000000009", "start_time": -3600}])
        self.assertRegex(out["volumes"][0], r"^vol-[0-9a-f]{17}$")
        snap = self.admin("state")["snapshots"][-1]
        self.assertEqual(snap["start_time"], "2025-12-31T23:00:00.000Z")
        self.assertEqual(snap["volume_id"], "vol-00000000000000009")

    def test_rejects_bad_input(self):
        for body, words in (
                ({"volumes": [{"id": "vol-1"}]}, "malformed volume id"),
                ({"snapshots": [{"id": "snap-00000000000000001"}]}, "needs 'volume'"),
                ({"snapshots": [{"volume": "vol-00000000000000001", "colour": 1}]},
                 "unknown snapshot field"),
                ({"snapshots": [{"volume": "vol-00000000000000001", "state": "done"}]},
                 "bad snapshot state"),
                ({"snapshots": [{"volume": "vol-00000000000000001",
                                 "start_time": "yesterday"}]}, "ISO 8601"),
                ({"volumes": [{"tags": {"aws:x": "1"}}]}, "reserved"),
                ({"bogus": []}, "unknown seed key")):
            with self.subTest(body=body):
                self.assertIn(words, self.admin("seed", body, expect=400)["error"])
        self.assertIn("no such admin call", self.admin("nothing", expect=404)["error"])

    def test_generator(self):
        started = time.monotonic()
        out = self.seed(generate={"volumes": 200, "snapshots_per_volume": 50,
                                  "id_prefix": "abc", "start": "2025-01-01T00:00:00Z",
                                  "interval_seconds": 3600,
                                  "volume_tags": {"Backup": "daily", "Name": "db-{n}"},
                                  "snapshot_tags": {"ManagedBy": "ec2backup",
                                                    "Seq": "{volume}/{i}"}})
        self.assertLess(time.monotonic() - started, 5)
        gen = out["generated"]
        self.assertEqual((gen["volumes"], gen["snapshots"]), (200, 10000))
        self.assertEqual((gen["first_volume"], gen["last_volume"]),
                         ("vol-abc00000000000001", "vol-abc000000000000c8"))
        state = self.admin("state")
        vol = [v for v in state["volumes"] if v["id"] == "vol-abc00000000000002"][0]
        self.assertEqual(vol["tags"], {"Backup": "daily", "Name": "db-2"})
        snaps = [s for s in state["snapshots"] if s["volume_id"] == "vol-abc00000000000002"]
        self.assertEqual(len(snaps), 50)
        self.assertEqual(snaps[1]["start_time"], "2025-01-01T01:00:00.000Z")
        self.assertEqual(snaps[1]["tags"], {"ManagedBy": "ec2backup",
                                            "Seq": "vol-abc00000000000002/2"})
        self.assertIn("already exists",
                      self.admin("seed", {"generate": {"volumes": 1, "id_prefix": "abc"}},
                                 expect=400)["error"])

    def test_replace(self):
        self.seed_small()
        self.seed(replace=True, volumes=[{"id": "vol-00000000000000042"}])
        state = self.admin("state")
        self.assertEqual([v["id"] for v in state["volumes"]], ["vol-00000000000000042"])
        self.assertEqual(len(state["snapshots"]), 3)   # the public ones remain


class ChangingResources(EmulatorTestCase):
    """Volumes and snapshots changed behind a client's back."""

    VOL1 = "vol-00000000000000001"
    SNAP11 = "snap-00000000000000011"

    def setUp(self):
        super().setUp()
        self.seed_small()

    def test_removed_volume_keeps_its_snapshots(self):
        self.assertEqual(self.admin("volume", {"remove": [self.VOL1]}), {"removed": [self.VOL1]})
        vols = self.assertOk(self.ec2("DescribeVolumes")).ids("volumeSet", "volumeId")
        self.assertNotIn(self.VOL1, vols)
        self.assertEqual(len(vols), 2)
        self.assertError(self.ec2("DescribeVolumes", {"VolumeId.1": self.VOL1}),
                         "InvalidVolume.NotFound", 400)
        self.assertError(self.ec2("CreateSnapshot", {"VolumeId": self.VOL1}),
                         "InvalidVolume.NotFound", 400)
        r = self.assertOk(self.ec2("DescribeSnapshots", {
            "Owner.1": "self", "Filter.1.Name": "volume-id", "Filter.1.Value.1": self.VOL1}))
        self.assertEqual(len(r.ids("snapshotSet", "snapshotId")), 3)
        self.assertIn("no volume", self.admin("volume", {"remove": [self.VOL1]},
                                              expect=400)["error"])

    def test_snapshot_state_by_id(self):
        for state in ("error", "recoverable", "recovering", "pending", "completed"):
            with self.subTest(state=state):
                out = self.admin("snapshot", {"ids": [self.SNAP11], "state": state})
                self.assertEqual(out["snapshots"][0]["state"], state)
                r = self.assertOk(self.ec2("DescribeSnapshots", {"SnapshotId.1": self.SNAP11}))
                self.assertEqual(r.items("snapshotSet")[0].findtext(NS + "status"), state)
        out = self.admin("snapshot", {"ids": [self.SNAP11], "state": "error",
                                      "message": "disk full"})
        self.assertEqual(out["snapshots"][0]["status_message"], "disk full")
        self.assertIn("state", self.admin("snapshot", {"ids": [self.SNAP11], "state": "done"},
                                          expect=400)["error"])

    def test_pending_again_counts_against_the_volume(self):
        sc1 = "vol-00000000000000003"
        self.seed(snapshots=[{"id": "snap-000000000000000c1", "volume": sc1}])
        self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": sc1}))
        self.admin("complete", {})
        self.advance(15)
        self.admin("snapshot", {"ids": ["snap-000000000000000c1"], "state": "pending"})
        self.assertError(self.ec2("CreateSnapshot", {"VolumeId": sc1}),
                         "ConcurrentSnapshotLimitExceeded", 400)
        self.assertEqual(self.admin("complete", {})["completed"], ["snap-000000000000000c1"])

    def test_tag_and_untag_by_id(self):
        out = self.admin("snapshot", {"ids": [self.SNAP11, "snap-00000000000000012"],
                                      "untag": ["Policy"], "tags": {"Keep": "yes"}})
        self.assertEqual([s["tags"] for s in out["snapshots"]],
                         [{"ManagedBy": "ec2backup", "Keep": "yes"}] * 2)
        r = self.assertOk(self.ec2("DescribeSnapshots", {
            "Owner.1": "self", "Filter.1.Name": "tag:Keep", "Filter.1.Value.1": "yes"}))
        self.assertEqual(r.ids("snapshotSet", "snapshotId"),
                         [self.SNAP11, "snap-00000000000000012"])
        self.admin("snapshot", {"ids": [self.SNAP11], "untag": ["ManagedBy", "Keep"]})
        self.assertEqual(self.snapshot_state(self.SNAP11)["tags"], {})

    def test_all_or_nothing(self):
        before = self.admin("state")
        for body, words in (
                ({"ids": [self.SNAP11, "snap-0000000000000dead"], "state": "error"},
                 "no snapshot"),
                ({"ids": [self.SNAP11], "tags": {"k%d" % n: "v" for n in range(49)}},
                 "maximum number"),
                ({"ids": [self.SNAP11], "tags": {"aws:x": "1"}}, "reserved"),
                ({"ids": [], "state": "error"}, "non-empty"),
                ({"ids": [self.SNAP11], "colour": "red"}, "unknown")):
            with self.subTest(body=body):
                self.assertIn(words, self.admin("snapshot", body, expect=400)["error"])
        self.assertEqual(self.admin("state"), before)


class ClockControl(EmulatorTestCase):
    def test_set_advance_freeze(self):
        self.assertEqual(self.admin("clock")["now"], "2026-01-01T00:00:00.000Z")
        self.assertEqual(self.advance(90)["now"], "2026-01-01T00:01:30.000Z")
        self.assertEqual(self.admin("clock", {"set": "2030-06-01T12:00:00Z"})["now"],
                         "2030-06-01T12:00:00.000Z")
        running = self.admin("clock", {"frozen": False})
        self.assertFalse(running["frozen"])
        self.assertGreaterEqual(self.sim.clock.now(), running["epoch"])

    def test_state_file_style_times_use_the_clock(self):
        self.admin("clock", {"set": T0})
        self.seed(snapshots=[{"volume": "vol-00000000000000001", "start_time": -86400}])
        self.assertEqual(self.admin("state")["snapshots"][-1]["start_time"],
                         "2025-12-31T00:00:00.000Z")


class LogAndCounters(EmulatorTestCase):
    def test_log_entries(self):
        self.seed_small()
        self.ec2("DescribeSnapshots", {"Owner.1": "self", "MaxResults": "5"})
        self.ec2("DeleteSnapshot", {"SnapshotId": "snap-0000000000000dead"})
        entries = self.admin("log")["entries"]
        self.assertEqual([e["action"] for e in entries], ["DescribeSnapshots", "DeleteSnapshot"])
        first, second = entries
        self.assertEqual(first["params"], {"Action": "DescribeSnapshots", "Version": "2016-11-15",
                                           "Owner.1": "self", "MaxResults": "5"})
        self.assertEqual((first["status"], first["code"]), (200, None))
        self.assertEqual((second["status"], second["code"]), (400, "InvalidSnapshot.NotFound"))
        self.assertEqual(first["access_key"], "AKIDEXAMPLE")
        self.assertEqual(first["time"], "2026-01-01T00:00:00.000Z")
        later = self.admin("log?since=%d" % first["seq"])["entries"]
        self.assertEqual([e["seq"] for e in later], [second["seq"]])
        only = self.admin("log?action=DeleteSnapshot")["entries"]
        self.assertEqual(len(only), 1)
        c = self.admin("counters")
        self.assertEqual(c["actions"]["DeleteSnapshot"]["codes"], {"InvalidSnapshot.NotFound": 1})
        self.assertEqual(c["total"]["requests"], 2)

    def test_reset(self):
        self.seed_small()
        self.ec2("DescribeVolumes")
        self.admin("faults", {"kind": "internal_error"})
        self.admin("revoke", {"actions": ["DescribeVolumes"]})
        self.advance(100)
        self.admin("reset", {})
        state = self.admin("state")
        self.assertEqual((len(state["volumes"]), len(state["snapshots"])), (0, 3))
        self.assertEqual(state["now"], "2026-01-01T00:00:00.000Z")
        self.assertEqual(self.admin("log")["entries"], [])
        self.assertEqual(self.admin("faults")["rules"], [])
        self.assertEqual(self.admin("revoke")["revoked"], [])
        self.assertOk(self.ec2("DescribeVolumes"))


class Settings(EmulatorTestCase):
    def test_config(self):
        out = self.admin("config", {"complete_after": 5, "imds_v1_disabled": True})
        self.assertEqual((out["complete_after"], out["imds_v1_disabled"]), (5.0, True))
        self.assertIn("cannot be set", self.admin("config", {"region": "x"}, expect=400)["error"])

    def test_credentials_add_expire_remove(self):
        self.admin("credentials", {"access_key": "AKIDSECOND", "secret_key": "second"})
        self.assertOk(self.ec2("DescribeVolumes", access_key="AKIDSECOND", secret="second"))
        self.admin("credentials", {"expire": ["AKIDSECOND"]})
        self.assertError(self.ec2("DescribeVolumes", access_key="AKIDSECOND", secret="second"),
                         "RequestExpired", 400)
        self.admin("credentials", {"remove": ["AKIDSECOND"]})
        self.assertError(self.ec2("DescribeVolumes", access_key="AKIDSECOND", secret="second"),
                         "AuthFailure", 401)

    def test_fault_rule_validation(self):
        self.assertIn("unknown fault kind",
                      self.admin("faults", {"kind": "explode"}, expect=400)["error"])
        self.assertIn("probability",
                      self.admin("faults", {"kind": "unavailable", "probability": 2},
                                 expect=400)["error"])


class Shutdown(EmulatorTestCase):
    def test_admin_shutdown_stops_the_server(self):
        self.assertTrue(self.admin("shutdown", {})["shutting_down"])
        self.assertTrue(self.emu.wait_stopped(5))
        import socket
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.emu.port), timeout=2).close()


if __name__ == "__main__":
    unittest.main()
