"""Token buckets: sizes and refill rates per category, the scale factor,
and run-time control.  The clock is frozen, so buckets refill only when a
test advances it."""

import unittest

from simtest import EmulatorTestCase

PAGED = {"Owner.1": "self", "MaxResults": "5"}


class Buckets(EmulatorTestCase):
    def drain(self, action, params, expect_ok):
        """Send calls until the first RequestLimitExceeded; return how many
        were let through."""
        let_through = 0
        for _ in range(expect_ok + 5):
            r = self.ec2(action, params)
            if r.code == "RequestLimitExceeded":
                self.assertEqual(r.status, 503)
                return let_through
            let_through += 1
        self.fail("%s was never throttled" % action)

    def test_describe_burst_and_refill(self):
        self.assertEqual(self.drain("DescribeSnapshots", PAGED, 100), 100)
        self.advance(0.05)                      # 20/s -> one token
        self.assertOk(self.ec2("DescribeSnapshots", PAGED))
        self.assertError(self.ec2("DescribeSnapshots", PAGED), "RequestLimitExceeded", 503)
        self.advance(60)                        # never more than the bucket size
        self.assertEqual(self.drain("DescribeSnapshots", PAGED, 100), 100)

    def test_unfiltered_unpaginated_calls_have_the_small_bucket(self):
        self.assertEqual(self.drain("DescribeSnapshots", {}, 50), 50)
        self.assertOk(self.ec2("DescribeSnapshots", PAGED))
        self.assertOk(self.ec2("DescribeSnapshots", {"Filter.1.Name": "status",
                                                     "Filter.1.Value.1": "completed"}))
        self.advance(0.1)                       # 10/s -> one token
        self.assertOk(self.ec2("DescribeSnapshots", {}))
        self.assertError(self.ec2("DescribeSnapshots", {}), "RequestLimitExceeded", 503)

    def test_mutating_buckets(self):
        dry = {"DryRun": "true"}
        for action, params, step in (
                ("CreateSnapshot", dict(dry, VolumeId="vol-00000000000000001"), 0.2),
                ("DeleteSnapshot", dict(dry, SnapshotId="snap-00000000000000001"), 0.2),
                ("CreateTags", dict(dry, **{"ResourceId.1": "vol-00000000000000001",
                                            "Tag.1.Key": "k"}), 0.1)):
            with self.subTest(action=action):
                self.assertEqual(self.drain(action, params, 100), 100)
                self.advance(step * 0.9)
                self.assertError(self.ec2(action, params), "RequestLimitExceeded", 503)
                self.advance(step * 0.1)
                self.assertError(self.ec2(action, params), "DryRunOperation", 412)

    def test_counters_count_throttled_calls(self):
        self.drain("DescribeVolumes", {}, 50)
        c = self.admin("counters")["actions"]["DescribeVolumes"]
        self.assertEqual((c["requests"], c["ok"], c["throttled"]), (51, 50, 1))

    def test_run_time_control(self):
        self.admin("throttle", {"enabled": False})
        for _ in range(60):
            self.assertOk(self.ec2("DescribeVolumes"))
        status = self.admin("throttle", {"enabled": True, "refill": True})
        self.assertTrue(status["enabled"])
        self.assertEqual(self.drain("DescribeVolumes", {}, 50), 50)
        self.admin("throttle", {"buckets": {"describe-unfiltered": {"size": 3,
                                                                    "refill_per_second": 1}},
                                "refill": True})
        self.assertEqual(self.drain("DescribeVolumes", {}, 3), 3)


class Scaled(EmulatorTestCase):
    options = {"throttle_scale": 10}

    def test_refill_is_scaled_and_size_is_not(self):
        self.assertEqual(Buckets.drain(self, "DescribeSnapshots", PAGED, 100), 100)
        self.advance(0.1)                       # 20/s x 10 -> 20 tokens
        self.assertEqual(Buckets.drain(self, "DescribeSnapshots", PAGED, 20), 20)
        status = self.admin("throttle")
        self.assertEqual(status["buckets"]["DescribeSnapshots"]["size"], 100)
        self.assertEqual(status["buckets"]["DescribeSnapshots"]["refill_per_second"], 200)


class Disabled(EmulatorTestCase):
    options = {"throttle": False}

    def test_no_throttle(self):
        for _ in range(120):
            self.assertOk(self.ec2("DescribeSnapshots", PAGED))


if __name__ == "__main__":
    unittest.main()
