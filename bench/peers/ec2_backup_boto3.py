#!/usr/bin/python3
"""The nightly snapshot job the classic ec2-backup way, with boto3: one
call at a time, volume after volume.

    ec2_backup_boto3.py --tag Backup=daily --policy nightly --keep 7 \
        [--endpoint-url URL] [--region REGION]

For each volume carrying the tag: describe all of the volume's snapshots
that belong to the policy, create today's (tagged ec2backup:policy,
ec2backup:date and Name as ec2backup tags its own), and delete those
beyond the newest KEEP, today's included.  Credentials come from the usual
AWS_* environment.  Exit status 1 if any call failed.

Run it with Debian's /usr/bin/python3 (python3-boto3).
"""

import argparse
import datetime
import sys

import boto3
import botocore.exceptions


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tag", required=True, metavar="KEY=VALUE")
    p.add_argument("--policy", required=True)
    p.add_argument("--keep", type=int, default=7)
    p.add_argument("--endpoint-url")
    p.add_argument("--region", default=None)
    args = p.parse_args()
    key, sep, value = args.tag.partition("=")
    if not sep or args.keep < 1:
        p.error("--tag takes KEY=VALUE and --keep at least 1")

    ec2 = boto3.client("ec2", region_name=args.region,
                       endpoint_url=args.endpoint_url)
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    failed = 0

    volumes = []
    for page in ec2.get_paginator("describe_volumes").paginate(
            Filters=[{"Name": "tag:" + key, "Values": [value]}]):
        volumes.extend(v["VolumeId"] for v in page["Volumes"])

    for volume in volumes:
        try:
            snapshots = []
            for page in ec2.get_paginator("describe_snapshots").paginate(
                    OwnerIds=["self"],
                    Filters=[{"Name": "volume-id", "Values": [volume]},
                             {"Name": "tag:ec2backup:policy",
                              "Values": [args.policy]}]):
                snapshots.extend(page["Snapshots"])
        except botocore.exceptions.ClientError as e:
            print("%s: cannot list its snapshots: %s" % (volume, e), file=sys.stderr)
            failed += 1
            continue

        try:
            new = ec2.create_snapshot(
                VolumeId=volume,
                Description="ec2backup %s %s %s" % (args.policy, volume, today),
                TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
                    {"Key": "ec2backup:policy", "Value": args.policy},
                    {"Key": "ec2backup:date", "Value": today},
                    {"Key": "Name", "Value": "ec2backup %s %s" % (args.policy, today)},
                ]}])
        except botocore.exceptions.ClientError as e:
            print("%s: cannot create a snapshot: %s" % (volume, e), file=sys.stderr)
            failed += 1
            continue
        print("%s: created %s" % (volume, new["SnapshotId"]))

        # Today's snapshot takes one of the KEEP places.
        snapshots.sort(key=lambda s: (s["StartTime"], s["SnapshotId"]), reverse=True)
        for s in snapshots[args.keep - 1:]:
            try:
                ec2.delete_snapshot(SnapshotId=s["SnapshotId"])
            except botocore.exceptions.ClientError as e:
                print("%s: cannot delete %s: %s" % (volume, s["SnapshotId"], e),
                      file=sys.stderr)
                failed += 1
                continue
            print("%s: deleted %s" % (volume, s["SnapshotId"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
