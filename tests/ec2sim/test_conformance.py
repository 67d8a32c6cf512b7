"""Conformance: AWS's own client (Debian's python3-botocore/boto3) drives
the emulator through every action and error, so that botocore's EC2 service
model parses every document the emulator sends, and its metadata and
container credential fetchers accept what the emulator serves."""

import http.client
import sys
import unittest
import urllib.parse

from simtest import EmulatorTestCase

try:
    import boto3
    import botocore
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import ClientError, PaginationError
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials
    from botocore.parsers import ResponseParserError, create_parser
    from botocore.utils import (ContainerMetadataFetcher, InstanceMetadataFetcher,
                                InstanceMetadataRegionFetcher)
    BOTO_MISSING = None
except ImportError as e:      # pragma: no cover - depends on the machine
    BOTO_MISSING = str(e)
    sys.stderr.write("\n*** test_conformance: botocore/boto3 NOT importable (%s): the "
                     "conformance tests are SKIPPED; install python3-boto3 and run "
                     "with /usr/bin/python3 ***\n" % e)

VOL1 = "vol-00000000000000001"
VOL2 = "vol-00000000000000002"
SKIP_MESSAGE = ("*** botocore/boto3 not importable (%s): EC2 CONFORMANCE NOT CHECKED; "
                "install python3-boto3 and run with /usr/bin/python3 ***" % BOTO_MISSING)


@unittest.skipIf(BOTO_MISSING is not None, SKIP_MESSAGE)
class Botocore(EmulatorTestCase):
    # botocore signs with the real time, so the emulator clock runs from it.
    options = {"clock": None, "frozen_clock": False}
    session = None

    @classmethod
    def setUpClass(cls):
        cls.session = boto3.session.Session()

    def setUp(self):
        super().setUp()
        self.seed_small()
        self.client = self.make_client()

    def make_client(self, access_key="AKIDEXAMPLE",
                    secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token=None):
        c = self.session.client(
            "ec2", endpoint_url=self.emu.url, region_name="us-east-1",
            aws_access_key_id=access_key, aws_secret_access_key=secret,
            aws_session_token=token,
            config=BotoConfig(retries={"total_max_attempts": 1}))
        self.addCleanup(c.close)
        return c

    def fetcher(self, cls, **kwargs):
        """A botocore metadata fetcher whose connection pool is closed after
        the test."""
        f = cls(**kwargs)
        session = getattr(f, "_session", None)
        if session is not None:
            self.addCleanup(session.close)
        return f

    def assertClientError(self, code, status, call, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            call(*args, **kwargs)
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], code)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status)
        self.assertTrue(err["Error"]["Message"])
        self.assertTrue(err["ResponseMetadata"]["RequestId"])
        return err

    # -- actions ---------------------------------------------------------

    def test_describe_snapshots(self):
        r = self.client.describe_snapshots(OwnerIds=["self"])
        snaps = {s["SnapshotId"]: s for s in r["Snapshots"]}
        self.assertEqual(len(snaps), 6)
        s = snaps["snap-00000000000000011"]
        self.assertEqual((s["State"], s["VolumeId"], s["Progress"], s["OwnerId"], s["VolumeSize"]),
                         ("completed", VOL1, "100%", "123456789012", 8))
        self.assertEqual(s["StartTime"].isoformat(), "2025-12-01T00:00:00+00:00")
        self.assertEqual(s["Tags"], [{"Key": "ManagedBy", "Value": "ec2backup"},
                                     {"Key": "Policy", "Value": "daily"}])
        everyone = self.client.describe_snapshots()["Snapshots"]
        self.assertEqual(len(everyone), 9)
        filtered = self.client.describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": "tag:ManagedBy", "Values": ["ec2*"]},
                                        {"Name": "status", "Values": ["completed", "pending"]}])
        self.assertEqual(sorted(x["SnapshotId"] for x in filtered["Snapshots"]),
                         ["snap-00000000000000011", "snap-00000000000000012",
                          "snap-00000000000000013"])
        by_id = self.client.describe_snapshots(SnapshotIds=["snap-00000000000000022"])
        self.assertEqual(by_id["Snapshots"][0]["Tags"], [{"Key": "ManagedBy",
                                                          "Value": "other-tool"}])

    def test_paginators(self):
        self.seed(generate={"volumes": 4, "snapshots_per_volume": 9, "id_prefix": "d"})
        pages = list(self.client.get_paginator("describe_snapshots").paginate(
            OwnerIds=["self"], PaginationConfig={"PageSize": 5}))
        ids = [s["SnapshotId"] for p in pages for s in p["Snapshots"]]
        self.assertEqual(len(pages), 9)
        self.assertEqual(len(ids), 42)
        self.assertEqual(len(set(ids)), 42)
        vols = list(self.client.get_paginator("describe_volumes").paginate(
            PaginationConfig={"PageSize": 5}))
        self.assertEqual(sum(len(p["Volumes"]) for p in vols), 7)
        self.assertEqual(len(vols), 2)

    def test_describe_volumes(self):
        r = self.client.describe_volumes(Filters=[{"Name": "tag:Backup", "Values": ["daily"]}])
        v = r["Volumes"][0]
        self.assertEqual((v["VolumeId"], v["State"], v["Size"], v["VolumeType"]),
                         (VOL1, "in-use", 8, "gp3"))
        self.assertEqual(v["Attachments"][0]["State"], "attached")
        self.assertIn({"Key": "Name", "Value": "web"}, v["Tags"])
        self.assertEqual(len(self.client.describe_volumes(VolumeIds=[VOL2])["Volumes"]), 1)

    def test_create_snapshot_complete_and_waiter(self):
        r = self.client.create_snapshot(
            VolumeId=VOL1, Description="nightly",
            TagSpecifications=[{"ResourceType": "snapshot",
                                "Tags": [{"Key": "ManagedBy", "Value": "ec2backup"}]}])
        self.assertEqual((r["State"], r["VolumeId"], r["Description"]),
                         ("pending", VOL1, "nightly"))
        self.assertEqual(r["Tags"], [{"Key": "ManagedBy", "Value": "ec2backup"}])
        self.admin("complete", {"ids": [r["SnapshotId"]]})
        self.client.get_waiter("snapshot_completed").wait(
            SnapshotIds=[r["SnapshotId"]], WaiterConfig={"Delay": 1, "MaxAttempts": 1})
        done = self.client.describe_snapshots(SnapshotIds=[r["SnapshotId"]])["Snapshots"][0]
        self.assertEqual((done["State"], done["Progress"]), ("completed", "100%"))

    def test_delete_snapshot(self):
        r = self.client.delete_snapshot(SnapshotId="snap-00000000000000011")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertIsNone(self.snapshot_state("snap-00000000000000011"))

    def test_describe_images(self):
        ami = self.admin("ami", {"name": "golden", "description": "base image",
                                 "snapshot_ids": ["snap-00000000000000012"],
                                 "tags": {"Role": "web"}})["image_id"]
        r = self.client.describe_images(Owners=["self"], Filters=[
            {"Name": "block-device-mapping.snapshot-id", "Values": ["snap-00000000000000012"]}])
        img = r["Images"][0]
        self.assertEqual((img["ImageId"], img["Name"], img["State"], img["Public"]),
                         (ami, "golden", "available", False))
        self.assertEqual(img["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"],
                         "snap-00000000000000012")
        self.assertEqual(img["Tags"], [{"Key": "Role", "Value": "web"}])

    def test_create_tags(self):
        self.client.create_tags(Resources=["snap-00000000000000021", VOL2],
                                Tags=[{"Key": "Keep", "Value": ""}])
        self.assertEqual(self.snapshot_state("snap-00000000000000021")["tags"],
                         {"Owner": "alice", "Keep": ""})

    # -- errors ------------------------------------------------------------

    def test_dry_run_and_unauthorized(self):
        calls = [(self.client.describe_snapshots, {"OwnerIds": ["self"]}),
                 (self.client.describe_volumes, {}),
                 (self.client.describe_images, {"Owners": ["self"]}),
                 (self.client.create_snapshot, {"VolumeId": VOL1}),
                 (self.client.delete_snapshot, {"SnapshotId": "snap-00000000000000011"}),
                 (self.client.create_tags, {"Resources": [VOL1],
                                            "Tags": [{"Key": "k", "Value": "v"}]})]
        for call, kwargs in calls:
            self.assertClientError("DryRunOperation", 412, call, DryRun=True, **kwargs)
        self.admin("revoke", {"actions": ["DescribeSnapshots", "DescribeVolumes",
                                          "DescribeImages", "CreateSnapshot",
                                          "DeleteSnapshot", "CreateTags"]})
        for call, kwargs in calls:
            self.assertClientError("UnauthorizedOperation", 403, call, DryRun=True, **kwargs)
            self.assertClientError("UnauthorizedOperation", 403, call, **kwargs)

    def test_authentication_errors(self):
        self.assertClientError("AuthFailure", 401,
                               self.make_client(access_key="AKIDNOBODY").describe_volumes)
        self.assertClientError("SignatureDoesNotMatch", 403,
                               self.make_client(secret="wrong").describe_volumes)
        self.advance(600)
        self.assertClientError("RequestExpired", 400, self.client.describe_volumes)

    def test_parameter_errors(self):
        c = self.client
        self.assertClientError("InvalidParameterCombination", 400, c.describe_snapshots,
                               SnapshotIds=["snap-00000000000000011"], MaxResults=5)
        self.assertClientError("InvalidParameterValue", 400, c.describe_snapshots, MaxResults=4)
        self.assertClientError("InvalidNextToken", 400, c.describe_snapshots,
                               MaxResults=5, NextToken="bm90IGEgdG9rZW4=")
        self.assertClientError("InvalidUserID.Malformed", 400, c.describe_snapshots,
                               OwnerIds=["someone"])
        self.assertClientError("InvalidParameterValue", 400, c.describe_snapshots,
                               Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
        self.assertClientError("FilterLimitExceeded", 400, c.describe_snapshots,
                               Filters=[{"Name": "volume-id",
                                         "Values": ["vol-%017x" % n for n in range(201)]}])
        self.assertClientError("InvalidParameterCombination", 400, c.describe_volumes,
                               VolumeIds=[VOL1], MaxResults=5)

    def test_not_found_and_malformed(self):
        c = self.client
        self.assertClientError("InvalidSnapshot.NotFound", 400, c.describe_snapshots,
                               SnapshotIds=["snap-0000000000000dead"])
        self.assertClientError("InvalidSnapshot.NotFound", 400, c.delete_snapshot,
                               SnapshotId="snap-0000000000000dead")
        self.assertClientError("InvalidSnapshotID.Malformed", 400, c.delete_snapshot,
                               SnapshotId="snap-xyz")
        self.assertClientError("InvalidVolume.NotFound", 400, c.describe_volumes,
                               VolumeIds=["vol-0000000000000dead"])
        self.assertClientError("InvalidVolume.NotFound", 400, c.create_snapshot,
                               VolumeId="vol-0000000000000dead")
        self.assertClientError("InvalidVolumeID.Malformed", 400, c.create_snapshot,
                               VolumeId="vol-xyz")
        self.assertClientError("InvalidAMIID.NotFound", 400, c.describe_images,
                               ImageIds=["ami-0000000000000dead"])
        self.assertClientError("InvalidID", 400, c.create_tags,
                               Resources=["i-0123456789abcdef0"], Tags=[{"Key": "k", "Value": ""}])
        self.assertClientError("TagLimitExceeded", 400, c.create_tags, Resources=[VOL1],
                               Tags=[{"Key": "k%d" % n, "Value": ""} for n in range(51)])

    def test_snapshot_rules(self):
        c = self.client
        self.admin("ami", {"snapshot_ids": ["snap-00000000000000012"]})
        self.assertClientError("InvalidSnapshot.InUse", 400, c.delete_snapshot,
                               SnapshotId="snap-00000000000000012")
        c.create_snapshot(VolumeId="vol-00000000000000003")
        self.assertClientError("SnapshotCreationPerVolumeRateExceeded", 400,
                               c.create_snapshot, VolumeId="vol-00000000000000003")
        self.advance(15)
        self.assertClientError("ConcurrentSnapshotLimitExceeded", 400,
                               c.create_snapshot, VolumeId="vol-00000000000000003")

    def raw(self, params, sign=True, token=None):
        """POST params signed by botocore's own SigV4 signer; returns the
        reply parsed by botocore's EC2 protocol parser."""
        body = urllib.parse.urlencode(params)
        req = AWSRequest(method="POST", url=self.emu.url + "/", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        if sign:
            SigV4Auth(BotoCredentials("AKIDEXAMPLE",
                                      "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
                      "ec2", "us-east-1").add_auth(req)
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=10)
        self.addCleanup(conn.close)
        conn.request("POST", "/", body=body.encode(), headers=dict(req.headers.items()))
        r = conn.getresponse()
        reply = {"status_code": r.status, "headers": dict(r.getheaders()), "body": r.read()}
        return r.status, create_parser("ec2").parse(reply, None)

    def test_errors_outside_the_client_model(self):
        for params, code, status, kw in (
                ({"Action": "RebootInstances", "Version": "2016-11-15"},
                 "InvalidAction", 400, {}),
                ({"Action": "DescribeVolumes"}, "MissingParameter", 400, {}),
                ({"Action": "DescribeVolumes", "Version": "2010-08-31"},
                 "NoSuchVersion", 400, {}),
                ({"Action": "DescribeSnapshots", "Version": "2016-11-15", "OwnerId.1": "self"},
                 "UnknownParameter", 400, {}),
                ({"Action": "DescribeVolumes", "Version": "2016-11-15"},
                 "MissingAuthenticationToken", 401, {"sign": False}),
                ({"Action": "DescribeVolumes", "Version": "2016-11-15"},
                 "AuthFailure", 401, {"token": "never-issued"})):
            with self.subTest(code=code):
                got_status, parsed = self.raw(params, **kw)
                self.assertEqual((got_status, parsed["Error"]["Code"]), (status, code))
                self.assertTrue(parsed["ResponseMetadata"]["RequestId"])
        status, parsed = self.raw({"Action": "DescribeVolumes", "Version": "2016-11-15"})
        self.assertEqual((status, "Error" in parsed), (200, False))

    def test_missing_parameters_past_client_validation(self):
        lax = self.session.client(
            "ec2", endpoint_url=self.emu.url, region_name="us-east-1",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            config=BotoConfig(retries={"total_max_attempts": 1}, parameter_validation=False))
        self.addCleanup(lax.close)
        self.assertClientError("MissingParameter", 400, lax.create_snapshot)
        self.assertClientError("MissingParameter", 400, lax.delete_snapshot)
        self.assertClientError("MissingParameter", 400, lax.create_tags, Resources=[VOL1])

    def test_server_side_errors(self):
        self.admin("faults", {"action": "DescribeVolumes", "sequence": [
            "internal_error", "unavailable", "throttle"]})
        self.assertClientError("InternalError", 500, self.client.describe_volumes)
        self.assertClientError("Unavailable", 503, self.client.describe_volumes)
        self.assertClientError("RequestLimitExceeded", 503, self.client.describe_volumes)
        self.admin("throttle", {"buckets": {"describe": {"size": 1, "refill_per_second": 0.001}},
                                "refill": True})
        self.client.describe_volumes(MaxResults=5)
        self.assertClientError("RequestLimitExceeded", 503, self.client.describe_volumes,
                               MaxResults=5)

    def test_malformed_body_fails_to_parse(self):
        self.admin("faults", {"action": "DescribeVolumes", "kind": "malformed", "count": 1})
        with self.assertRaises(ResponseParserError):
            self.client.describe_volumes()

    # -- hostile answers ---------------------------------------------------

    def paginate_snapshots(self):
        pages = list(self.client.get_paginator("describe_snapshots").paginate(
            OwnerIds=["self"], PaginationConfig={"PageSize": 5}))
        return [(s["SnapshotId"], s["State"]) for p in pages for s in p["Snapshots"]]

    def test_repeated_items_parse_and_pass_unnoticed(self):
        self.seed(generate={"volumes": 2, "snapshots_per_volume": 7, "id_prefix": "e"})
        self.admin("faults", {"action": "DescribeSnapshots", "kind": "repeat_items",
                              "variant": "state"})
        seen = self.paginate_snapshots()
        ids = [sid for sid, _ in seen]
        self.assertEqual(len(set(ids)), 20)
        self.assertGreater(len(ids), 20)
        twice = [sid for sid in set(ids) if ids.count(sid) > 1]
        for sid in twice:
            self.assertEqual(len({state for i, state in seen if i == sid}), 2)

    def test_token_loops(self):
        self.seed(generate={"volumes": 2, "snapshots_per_volume": 7, "id_prefix": "e"})
        self.admin("faults", {"action": "DescribeSnapshots", "kind": "token_loop"})
        with self.assertRaises(PaginationError):
            self.paginate_snapshots()
        self.admin("faults", {"clear": True, "action": "DescribeSnapshots",
                              "kind": "token_loop", "tokens": 2, "count": 4})
        ids = [sid for sid, _ in self.paginate_snapshots()]
        self.assertEqual(len(set(ids)), 20)
        self.assertEqual(len(ids), 40)      # a cycle of two tokens, twice over
        self.admin("faults", {"action": "DescribeSnapshots", "kind": "token_chain",
                              "count": 3})
        self.assertEqual(len(self.paginate_snapshots()), 20)

    def test_delete_snapshot_answering_false(self):
        self.admin("faults", {"action": "DeleteSnapshot", "kind": "return_false"})
        r = self.client.delete_snapshot(SnapshotId="snap-00000000000000011")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertNotIn("Return", r)       # the SDK's model drops <return>
        self.assertIsNotNone(self.snapshot_state("snap-00000000000000011"))

    def test_unauthorized_for_one_resource(self):
        self.admin("revoke", {"actions": ["DeleteSnapshot"],
                              "resources": ["snap-00000000000000011"]})
        err = self.assertClientError("UnauthorizedOperation", 403, self.client.delete_snapshot,
                                     SnapshotId="snap-00000000000000011")
        self.assertIn("Encoded authorization failure message: ", err["Error"]["Message"])
        self.client.delete_snapshot(SnapshotId="snap-00000000000000012")

    # -- credentials -------------------------------------------------------

    def test_instance_metadata_credentials_and_region(self):
        self.admin("config", {"imds_v1_disabled": True})
        fetcher = self.fetcher(InstanceMetadataFetcher, timeout=2, num_attempts=1,
                               base_url=self.emu.url, env={})
        creds = fetcher.retrieve_iam_role_credentials()
        self.assertEqual(creds["role_name"], "ec2backup-test-role")
        self.assertTrue(creds["access_key"].startswith("ASIA"))
        region = self.fetcher(InstanceMetadataRegionFetcher, timeout=2, num_attempts=1,
                              base_url=self.emu.url, env={}).retrieve_region()
        self.assertEqual(region, "us-east-1")
        c = self.make_client(creds["access_key"], creds["secret_key"], creds["token"])
        self.assertEqual(len(c.describe_snapshots(OwnerIds=["self"])["Snapshots"]), 6)
        log = self.admin("log")["entries"]
        self.assertEqual(log[-1]["access_key"], creds["access_key"])
        self.assertNotIn(True, [e.get("imds_v1") for e in log])

    def test_container_credentials(self):
        self.admin("credentials", {"container_token": "Bearer t0k"})
        fetcher = self.fetcher(ContainerMetadataFetcher, sleep=lambda seconds: None)
        creds = fetcher.retrieve_full_uri(
            self.emu.url + "/_container/credentials", headers={"Authorization": "Bearer t0k"})
        c = self.make_client(creds["AccessKeyId"], creds["SecretAccessKey"], creds["Token"])
        self.assertEqual(len(c.describe_volumes()["Volumes"]), 3)
        with self.assertRaises(botocore.exceptions.MetadataRetrievalError):
            fetcher.retrieve_full_uri(
                self.emu.url + "/_container/credentials", headers={"Authorization": "nope"})

    def test_expired_temporary_credentials(self):
        self.admin("credentials", {"lifetime": 900})
        creds = self.fetcher(InstanceMetadataFetcher, timeout=2, num_attempts=1,
                             base_url=self.emu.url, env={}).retrieve_iam_role_credentials()
        c = self.make_client(creds["access_key"], creds["secret_key"], creds["token"])
        c.describe_volumes()
        self.admin("credentials", {"expire": [creds["access_key"]]})
        self.assertClientError("RequestExpired", 400, c.describe_volumes)


if __name__ == "__main__":
    unittest.main()
