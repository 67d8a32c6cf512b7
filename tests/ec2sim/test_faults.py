"""Injected faults: error replies, resets before and after the action,
latency, truncated and malformed bodies, trickling, probabilities and
scripted sequences."""

import http.client
import time
import unittest
import xml.etree.ElementTree as ET

from simtest import T0_EPOCH, EmulatorTestCase

VOL1 = "vol-00000000000000001"
OWN = {"Owner.1": "self"}


class ErrorReplies(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def test_each_error_kind_once(self):
        for kind, code, status in (("internal_error", "InternalError", 500),
                                   ("unavailable", "Unavailable", 503),
                                   ("throttle", "RequestLimitExceeded", 503)):
            with self.subTest(kind=kind):
                self.admin("faults", {"action": "DescribeSnapshots", "kind": kind, "count": 1})
                self.assertError(self.ec2("DescribeSnapshots", OWN), code, status)
                self.assertOk(self.ec2("DescribeSnapshots", OWN))
        c = self.admin("counters")["actions"]["DescribeSnapshots"]
        self.assertEqual(c["faults"], 3)
        self.assertEqual(c["fault_kinds"], {"internal_error": 1, "unavailable": 1, "throttle": 1})

    def test_rule_only_hits_its_action(self):
        self.admin("faults", {"action": "DeleteSnapshot", "kind": "internal_error"})
        self.assertOk(self.ec2("DescribeSnapshots", OWN))
        self.assertError(self.ec2("DeleteSnapshot", {"SnapshotId": "snap-00000000000000011"}),
                         "InternalError", 500)
        self.assertIsNotNone(self.snapshot_state("snap-00000000000000011"))
        self.admin("faults", method="DELETE")
        self.assertOk(self.ec2("DeleteSnapshot", {"SnapshotId": "snap-00000000000000011"}))

    def test_failed_call_leaves_no_trace(self):
        self.admin("faults", {"action": "CreateSnapshot", "kind": "unavailable", "count": 1})
        self.assertError(self.ec2("CreateSnapshot", {"VolumeId": VOL1}), "Unavailable", 503)
        self.assertEqual(len(self.admin("state")["snapshots"]), 9)
        self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": VOL1}))

    def test_a_sequence(self):
        self.admin("faults", {"action": "*", "sequence": ["ok", "internal_error", "ok", "throttle"]})
        codes = [self.ec2("DescribeVolumes").code for _ in range(5)]
        self.assertEqual(codes, [None, "InternalError", None, "RequestLimitExceeded", None])
        self.assertEqual(self.admin("faults")["rules"], [])


class Resets(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def test_reset_before_does_not_apply_the_action(self):
        self.admin("faults", {"action": "CreateSnapshot", "kind": "reset_before", "count": 1})
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
            self.ec2("CreateSnapshot", {"VolumeId": VOL1})
        self.assertEqual(len(self.admin("state")["snapshots"]), 9)
        self.assertOk(self.ec2("CreateSnapshot", {"VolumeId": VOL1}))

    def test_reset_after_applies_the_action(self):
        self.admin("faults", {"action": "CreateSnapshot", "kind": "reset_after", "count": 1})
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
            self.ec2("CreateSnapshot", {"VolumeId": VOL1})
        made = [s for s in self.admin("state")["snapshots"]
                if s["volume_id"] == VOL1 and s["start_time"].startswith("2026-01-01")]
        self.assertEqual(len(made), 1)
        self.assertError(self.ec2("CreateSnapshot", {"VolumeId": VOL1}),
                         "SnapshotCreationPerVolumeRateExceeded", 400)
        entry = self.admin("log", method=None)["entries"][0]
        self.assertEqual((entry["fault"], entry["status"]), ("reset_after", 200))

    def test_reset_is_a_tcp_reset(self):
        self.admin("faults", {"kind": "reset_before", "count": 1})
        with self.assertRaises(ConnectionResetError):
            self.ec2("DescribeVolumes")


class BrokenBodies(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.seed_small()

    def test_truncated_with_content_length(self):
        self.admin("faults", {"kind": "truncate", "fraction": 0.3, "count": 1})
        with self.assertRaises(http.client.IncompleteRead) as cm:
            self.ec2("DescribeSnapshots", OWN)
        self.assertGreater(cm.exception.expected, 0)
        self.assertOk(self.ec2("DescribeSnapshots", OWN))

    def test_truncated_chunked(self):
        self.admin("faults", {"kind": "truncate", "chunked": True, "count": 1})
        with self.assertRaises(http.client.IncompleteRead):
            self.ec2("DescribeSnapshots", OWN)

    def test_malformed_xml_with_status_200(self):
        self.admin("faults", {"action": "DeleteSnapshot", "kind": "malformed", "count": 1})
        r = self.ec2("DeleteSnapshot", {"SnapshotId": "snap-00000000000000011"})
        self.assertEqual(r.status, 200)
        with self.assertRaises(ET.ParseError):
            ET.fromstring(r.body)
        self.assertIsNone(self.snapshot_state("snap-00000000000000011"))
        self.assertOk(self.ec2("DescribeVolumes"))    # connection still usable

    def test_trickle_delivers_the_whole_body_slowly(self):
        plain = self.assertOk(self.ec2("DescribeVolumes")).body
        self.admin("faults", {"kind": "trickle", "bytes": 512, "interval_ms": 20, "count": 1})
        started = time.monotonic()
        slow = self.ec2("DescribeVolumes")
        elapsed = time.monotonic() - started
        self.assertEqual(slow.status, 200)
        self.assertEqual(len(slow.body), len(plain))
        pauses = (len(plain) - 1) // 512
        self.assertGreaterEqual(pauses, 2)
        self.assertGreaterEqual(elapsed, pauses * 0.02 * 0.9)

    def test_latency(self):
        self.admin("faults", {"kind": "latency", "latency_ms": 150, "jitter_ms": 50, "count": 1})
        started = time.monotonic()
        self.assertOk(self.ec2("DescribeVolumes"))
        self.assertGreaterEqual(time.monotonic() - started, 0.15)
        entry = self.admin("log")["entries"][-1]
        self.assertTrue(150 <= entry["latency_ms"] <= 200, entry)


class Probability(EmulatorTestCase):
    def outcomes(self, emu_test):
        emu_test.admin("faults", {"action": "DescribeVolumes", "kind": "internal_error",
                                  "probability": 0.5})
        return [emu_test.ec2("DescribeVolumes").code for _ in range(40)]

    def test_roughly_half_and_repeatable_with_the_seed(self):
        first = self.outcomes(self)
        failed = first.count("InternalError")
        self.assertTrue(8 <= failed <= 32, first)
        self.admin("reset", {})
        self.assertEqual(self.outcomes(self), first)

    def test_another_seed_gives_another_sequence(self):
        first = self.outcomes(self)
        self.emu.stop()
        other = type(self.emu)(seed=7, clock=T0_EPOCH, frozen_clock=True)
        other.start()
        self.addCleanup(other.stop)
        self.emu = other
        self.sim = other.sim
        self._close()
        self._conn = None
        self.assertNotEqual(self.outcomes(self), first)

    def test_count_limits_a_probabilistic_rule(self):
        self.admin("faults", {"kind": "unavailable", "probability": 1.0, "count": 2})
        codes = [self.ec2("DescribeVolumes").code for _ in range(4)]
        self.assertEqual(codes, ["Unavailable", "Unavailable", None, None])


class MetadataFaults(EmulatorTestCase):
    def put_token(self):
        conn = self.new_connection()
        conn.request("PUT", "/latest/api/token",
                     headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        r = conn.getresponse()
        r.read()
        return r.status

    def test_a_rule_for_every_action_spares_the_metadata_endpoints(self):
        self.admin("faults", {"kind": "internal_error"})
        self.assertEqual(self.put_token(), 200)
        self.assertError(self.ec2("DescribeVolumes"), "InternalError", 500)

    def test_imds_and_container_rules(self):
        self.admin("faults", {"rules": [
            {"action": "IMDS", "kind": "internal_error", "count": 1},
            {"action": "ContainerCredentials", "kind": "unavailable", "count": 1}]})
        conn = self.new_connection()
        conn.request("PUT", "/latest/api/token",
                     headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 500)
        conn.request("GET", "/_container/credentials")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 503)
        conn.request("GET", "/_container/credentials")
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 200)


if __name__ == "__main__":
    unittest.main()
