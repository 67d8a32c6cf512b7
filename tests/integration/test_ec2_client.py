"""The EC2 client (src/ec2.c) against the emulator, through the
tests/tools/ec2_client driver: every action, pagination and batching,
throttling, server errors, lost connections, broken bodies, refused
credentials and time limits."""

import os
import re
import subprocess
import unittest

from emulator import ACCESS_KEY, REGION, ROOT, Emulator, env_with_keys

CLIENT = os.environ.get("EC2_CLIENT",
                        os.path.join(ROOT, "build", "tools", "ec2_client"))
VOL = "vol-0a1b2c3d"
DAY = 86400


def vol(i):
    return "vol-%08x" % (0x10000000 + i)


@unittest.skipUnless(os.access(CLIENT, os.X_OK), "SKIP: %s not built" % CLIENT)
class ClientTest(unittest.TestCase):
    sim_args = ()

    def setUp(self):
        self.sim = Emulator(*self.sim_args)
        self.addCleanup(self.sim.stop)

    def client(self, *args, **env):
        r = subprocess.run([CLIENT, self.sim.url, REGION, *args],
                           env=env_with_keys(**env), capture_output=True,
                           text=True, timeout=120)
        stats = re.search(r"^stats: (.*)$", r.stderr, re.M)
        r.stats = dict(kv.split("=") for kv in stats.group(1).split()) \
            if stats else {}
        r.stats = {k: int(v) for k, v in r.stats.items()}
        return r

    def snapshots_of(self, volume):
        return [s for s in self.sim.state()["snapshots"]
                if s["volume_id"] == volume]

    def listed(self, out):
        """{volume: (exists, complete, [snapshot ids])} from `list`."""
        vols, cur = {}, None
        for line in out.splitlines():
            if line.startswith("  "):
                vols[cur][2].append(line.split()[0])
            else:
                v, exists, complete, _ = line.split()
                cur = v
                vols[v] = (exists == "exists", complete == "complete", [])
        return vols


class Actions(ClientTest):
    def test_check_volumes(self):
        self.sim.seed(volumes=[{"id": VOL}, {"id": "vol-0a1b2c3e",
                                              "state": "deleting"}])
        r = self.client("check", VOL, "vol-0a1b2c3e", "vol-0000dead")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, f"{VOL} exists\nvol-0a1b2c3e missing\n"
                         "vol-0000dead missing\n")
        self.assertEqual(r.stats["DescribeVolumes"], 1)
        params = self.sim.log()[-1]["params"]
        # A filter, so that an unknown id cannot fail the whole call.
        self.assertEqual(params["Filter.1.Name"], "volume-id")
        self.assertNotIn("VolumeId.1", params)

    def test_select_by_tags(self):
        self.sim.seed(volumes=[
            {"id": "vol-0000000a", "tags": {"Backup": "daily", "Team": "a"}},
            {"id": "vol-0000000b", "tags": {"Backup": "daily"}},
            {"id": "vol-0000000c", "tags": {"Backup": "weekly", "Team": "a"}},
            {"id": "vol-0000000d", "tags": {"Backup": "daily", "Team": "a"},
             "state": "deleting"}])
        r = self.client("select", "Backup=daily", "Team=a")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "vol-0000000a\n")
        r = self.client("select", "Backup=daily")
        self.assertEqual(sorted(r.stdout.split()),
                         ["vol-0000000a", "vol-0000000b"])

    def test_list_only_own_snapshots_with_tags(self):
        self.sim.seed(volumes=[{"id": VOL}], snapshots=[
            {"id": "snap-0000000a", "volume": VOL, "state": "completed",
             "start_time": "2026-11-20T10:00:00Z", "description": "mine",
             "tags": {"ec2backup:policy": "prod",
                      "ec2backup:date": "2026-11-20",
                      "ec2backup:protect": ""}},
            {"id": "snap-0000000b", "volume": VOL, "state": "pending",
             "start_time": "2026-11-21T10:00:00Z",
             "tags": {"ec2backup:date": "not a date"}},
            {"id": "snap-0000000c", "volume": VOL, "state": "completed",
             "start_time": "2026-11-19T10:00:00Z", "owner": "999999999999",
             "public": True}])
        r = self.client("list", VOL)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], f"{VOL} exists complete 2")
        self.assertEqual(sorted(lines[1:]), sorted([
            "  snap-0000000a completed 1795168800 owner=prod date=20777 "
            "protected=1 description=mine",
            "  snap-0000000b pending 1795255200 owner=- date=-2147483648 "
            "protected=0 description=-"]))
        self.assertEqual(self.sim.log()[-1]["params"]["Owner.1"], "self")

    def test_create_with_tags(self):
        self.sim.seed(volumes=[{"id": VOL}])
        r = self.client("create", VOL, "prod", "2026-11-22", "Team=db")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.fullmatch(rf"{VOL} created (snap-[0-9a-f]+)\n", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        snaps = self.snapshots_of(VOL)
        self.assertEqual(len(snaps), 1)
        self.assertEqual(snaps[0]["id"], m.group(1))
        self.assertEqual(snaps[0]["tags"], {"ec2backup:policy": "prod",
                                            "ec2backup:date": "2026-11-22",
                                            "Team": "db"})
        self.assertEqual(snaps[0]["description"], "ec2backup test")

    def test_delete_outcomes(self):
        self.sim.seed(volumes=[{"id": VOL}], snapshots=[
            {"id": "snap-0000000a", "volume": VOL, "state": "completed"},
            {"id": "snap-0000000b", "volume": VOL, "state": "completed"}],
            images=[{"id": "ami-0000000b", "snapshot_ids": ["snap-0000000b"]}])
        r = self.client("delete", "snap-0000000a", "snap-0000000b",
                        "snap-0000dead")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout.splitlines(), [
            "snap-0000000a deleted ", "snap-0000000b in-use "
            "InvalidSnapshot.InUse", "snap-0000dead gone "])
        self.assertEqual([s["id"] for s in self.snapshots_of(VOL)],
                         ["snap-0000000b"])

    def test_images_in_use(self):
        self.sim.seed(volumes=[{"id": VOL}], snapshots=[
            {"id": "snap-0000000a", "volume": VOL, "state": "completed"},
            {"id": "snap-0000000b", "volume": VOL, "state": "completed"}],
            images=[{"id": "ami-0000000b", "snapshot_ids": ["snap-0000000b"]}])
        r = self.client("images", VOL)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.splitlines()),
                         ["snap-0000000a -", "snap-0000000b ami-0000000b"])
        params = self.sim.log()[-1]["params"]
        self.assertEqual(params["Action"], "DescribeImages")
        self.assertEqual(params["Owner.1"], "self")
        self.assertEqual(params["Filter.1.Name"],
                         "block-device-mapping.snapshot-id")


class Scale(ClientTest):
    def test_pagination_over_2500_snapshots(self):
        self.sim.seed(volumes=[{"id": VOL}], snapshots=[
            {"id": "snap-%08x" % i, "volume": VOL, "state": "completed",
             "start_time": "2026-01-01T00:00:00Z"} for i in range(2500)])
        r = self.client("list", VOL)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.listed(r.stdout)[VOL]
        self.assertEqual(got[:2], (True, True))
        self.assertEqual(sorted(got[2]), ["snap-%08x" % i for i in range(2500)])
        self.assertEqual(r.stats["DescribeSnapshots"], 3)  # 1000+1000+500
        tokens = [e["params"].get("NextToken") for e in self.sim.log()]
        self.assertIsNone(tokens[0])
        self.assertTrue(all(tokens[1:]))

    def test_volumes_are_batched(self):
        vols = [vol(i) for i in range(450)]
        self.sim.seed(volumes=[{"id": v} for v in vols], snapshots=[
            {"id": "snap-%08x" % i, "volume": vols[i % 450],
             "state": "completed"} for i in range(900)])
        r = self.client("list", *vols)
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.listed(r.stdout)
        self.assertTrue(all(c for _, c, _ in got.values()))
        self.assertEqual(sum(len(s) for _, _, s in got.values()), 900)
        self.assertEqual(len(got[vols[0]][2]), 2)
        # 200 + 200 + 50 volumes: three calls, never one per volume.
        self.assertEqual(r.stats["DescribeSnapshots"], 3)
        r = self.client("check", *vols)
        self.assertEqual(r.stats["DescribeVolumes"], 3)


class Faults(ClientTest):
    def seed_one(self, n=30):
        self.sim.seed(volumes=[{"id": VOL}], snapshots=[
            {"id": "snap-%08x" % i, "volume": VOL, "state": "completed"}
            for i in range(n)])

    def assert_listed_once(self, r, n=30):
        self.assertEqual(r.returncode, 0, r.stderr)
        exists, complete, ids = self.listed(r.stdout)[VOL]
        self.assertTrue(complete)
        # A page read twice must not count its snapshots twice.
        self.assertEqual(sorted(ids), ["snap-%08x" % i for i in range(n)])

    def test_server_errors_are_retried(self):
        self.seed_one()
        self.sim.faults({"action": "DescribeSnapshots", "sequence": [
            "internal_error", "unavailable", "ok"]})
        r = self.client("list", VOL)
        self.assert_listed_once(r)
        self.assertEqual(r.stats["retries"], 2)

    def test_lost_connections_are_retried(self):
        self.seed_one()
        self.sim.faults({"action": "DescribeSnapshots", "sequence": [
            "reset_before", "reset_after", "ok"]})
        self.assert_listed_once(self.client("list", VOL))

    def test_truncated_and_malformed_bodies_are_retried(self):
        self.seed_one(1200)
        self.sim.faults({"action": "DescribeSnapshots", "sequence": [
            "ok", "truncate", "malformed", "ok"]})
        r = self.client("list", VOL)
        self.assert_listed_once(r, 1200)
        self.assertEqual(r.stats["retries"], 2)

    def test_persistent_bad_body_marks_listing_incomplete(self):
        self.seed_one()
        self.sim.faults({"action": "DescribeSnapshots", "kind": "truncate"})
        r = self.client("list", VOL)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.listed(r.stdout)[VOL][1], False)
        self.assertRegex(r.stderr, r"DescribeSnapshots: the listing of 1 "
                         rf"volumes \({VOL}, \.\.\.\) is incomplete: "
                         r"(MalformedResponse|ConnectionError): .*; nothing "
                         r"is created or deleted on them this run")

    def test_throttling_storm_finishes(self):
        vols = [vol(i) for i in range(40)]
        self.sim.seed(volumes=[{"id": v} for v in vols])
        self.sim.faults({"action": "DeleteSnapshot", "kind": "throttle",
                         "probability": 0.4})
        self.sim.seed(snapshots=[{"id": "snap-%08x" % i, "volume": vols[i],
                                  "state": "completed"} for i in range(40)])
        r = self.client("delete", *["snap-%08x" % i for i in range(40)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count(" deleted "), 40)
        self.assertGreater(r.stats["throttled"], 0)
        self.assertEqual(r.stats["retries"], r.stats["throttled"])
        left = [s for s in self.sim.state()["snapshots"]
                if s["volume_id"] in vols]
        self.assertEqual(left, [])

    def test_create_answer_lost_after_it_happened(self):
        self.sim.seed(volumes=[{"id": VOL}])
        self.sim.faults({"action": "CreateSnapshot", "sequence":
                         ["reset_after"]})
        r = self.client("create", VOL, "prod", "2026-11-22")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, rf"^{VOL} created snap-[0-9a-f]+ "
                         "found-by-lookup\n$")
        self.assertEqual(len(self.snapshots_of(VOL)), 1)
        self.assertEqual(r.stats["CreateSnapshot"], 1)
        lookup = self.sim.log()[-1]["params"]
        self.assertEqual(lookup["Action"], "DescribeSnapshots")
        self.assertEqual(lookup["Filter.2.Name"], "tag:ec2backup:policy")
        self.assertEqual(lookup["Filter.3.Value.1"], "2026-11-22")

    def test_create_answer_lost_before_it_happened(self):
        # The client cannot tell this from a loss after the snapshot was
        # made: it looks, finds nothing, and does not send it again.
        self.sim.seed(volumes=[{"id": VOL}])
        self.sim.faults({"action": "CreateSnapshot", "sequence":
                         ["reset_before", "ok"]})
        r = self.client("create", VOL, "prod", "2026-11-22",
                        EC2_LOOKUP_MS="4000")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("not sent again, so no snapshot was made", r.stdout)
        self.assertEqual(self.snapshots_of(VOL), [])
        self.assertEqual(r.stats["CreateSnapshot"], 1)
        self.assertGreaterEqual(r.stats["DescribeSnapshots"], 2)

    def test_create_server_error_is_not_blindly_retried(self):
        self.sim.seed(volumes=[{"id": VOL}])
        self.sim.faults({"action": "CreateSnapshot", "kind":
                         "internal_error"})
        r = self.client("create", VOL, "prod", "2026-11-22",
                        EC2_LOOKUP_MS="5000")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.snapshots_of(VOL), [])
        # One try, then only looks for it: never a second try.
        self.assertEqual(r.stats["CreateSnapshot"], 1)
        self.assertGreaterEqual(r.stats["DescribeSnapshots"], 2)

    def test_error_about_one_item_is_final(self):
        r = self.client("create", "vol-0000dead", "prod", "2026-11-22")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout.split()[:3], ["vol-0000dead", "failed",
                                                "InvalidVolume.NotFound"])
        self.assertEqual(r.stats["retries"], 0)


class Refusals(ClientTest):
    def test_wrong_secret_is_fatal(self):
        self.sim.seed(volumes=[{"id": VOL}])
        secret = "Zq8sEcReTvAlUe0000000000000000000000000"
        r = self.client("list", VOL, AWS_SECRET_ACCESS_KEY=secret,
                        EC2_DEBUG="1")
        self.assertEqual(r.returncode, 3)
        self.assertIn("EC2 refused the credentials from environment "
                      "variables: SignatureDoesNotMatch", r.stderr)
        self.assertNotIn(secret, r.stderr + r.stdout)
        self.assertEqual(r.stats["retries"], 0)

    def test_unknown_key_is_fatal(self):
        r = self.client("check", VOL, AWS_ACCESS_KEY_ID="AKIDUNKNOWN")
        self.assertEqual(r.returncode, 3)
        self.assertIn("AuthFailure", r.stderr)

    def test_unreachable_endpoint(self):
        self.sim.stop()
        r = self.client("check", VOL, EC2_TIMEOUT_MS="2000")
        self.assertEqual(r.returncode, 3)
        self.assertIn(f"cannot reach EC2 at {self.sim.url}", r.stderr)

    def test_run_deadline(self):
        self.sim.seed(volumes=[{"id": VOL}])
        self.sim.faults({"action": "*", "kind": "latency", "latency_ms": 3000})
        r = self.client("check", VOL, EC2_DEADLINE_MS="300")
        self.assertEqual(r.returncode, 3)
        self.assertIn("time limit", r.stderr)


class RateLimits(ClientTest):
    # Refill rates ten times EC2's on both sides keep the test short.
    sim_args = ("--throttle-scale", "10")

    def test_client_stays_under_the_bucket(self):
        n = 300  # the bucket holds 100; 200 more need its refill
        self.sim.seed(volumes=[{"id": VOL}], snapshots=[
            {"id": "snap-%08x" % i, "volume": VOL, "state": "completed"}
            for i in range(n)])
        r = self.client("delete", *["snap-%08x" % i for i in range(n)],
                        EC2_RATE_SCALE="10", EC2_JOBS="16")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count(" deleted "), n)
        self.assertEqual(r.stats["throttled"], 0)
        self.assertEqual(self.sim.counters()["total"]["throttled"], 0)


if __name__ == "__main__":
    unittest.main()
