#!/bin/bash
# The nightly snapshot job the way classic cron scripts do it (in the style
# of ec2-automate-backup): one `aws ec2 ...` command per describe, create
# and delete, one volume after the other.
#
#   ec2-automate-backup.sh -t Backup=daily -p nightly -k 7 [-u ENDPOINT] [-r REGION]
#
# Volumes carrying the tag are snapshotted; each new snapshot is tagged
# ec2backup:policy=POLICY, ec2backup:date=YYYY-MM-DD (UTC) and
# Name="ec2backup POLICY DATE", as ec2backup tags its own.  Then the
# volume's snapshots tagged for POLICY beyond the newest KEEP (today's
# included) are deleted.  Credentials and region come from the usual AWS_*
# environment.  Exit status 1 if any command failed.
#
# AWS selects the aws command (default: Debian's /usr/bin/aws, not one
# that a pyenv shim or a virtualenv may put first on PATH).

set -u
AWS=${AWS:-/usr/bin/aws}
endpoint=
region=${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}
tag=
policy=
keep=7

usage() {
	echo "usage: $0 -t KEY=VALUE -p POLICY [-k KEEP] [-u ENDPOINT] [-r REGION]" >&2
	exit 2
}

while getopts "t:p:k:u:r:" opt; do
	case $opt in
	t) tag=$OPTARG ;;
	p) policy=$OPTARG ;;
	k) keep=$OPTARG ;;
	u) endpoint=$OPTARG ;;
	r) region=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$tag" ] && [ -n "$policy" ] && [ "$keep" -ge 1 ] 2>/dev/null || usage
case $tag in *=*) ;; *) usage ;; esac

ec2() {
	if [ -n "$endpoint" ]; then
		"$AWS" --endpoint-url "$endpoint" --region "$region" \
		    --output text ec2 "$@"
	else
		"$AWS" --region "$region" --output text ec2 "$@"
	fi
}

today=$(date -u +%Y-%m-%d)
status=0

volumes=$(ec2 describe-volumes \
    --filters "Name=tag:${tag%%=*},Values=${tag#*=}" \
    --query 'Volumes[].VolumeId') || {
	echo "$0: cannot list the volumes tagged $tag" >&2
	exit 1
}

for volume in $volumes; do
	# This policy's snapshots of the volume, one "START-TIME SNAPSHOT-ID"
	# line each.
	snapshots=$(ec2 describe-snapshots --owner-ids self \
	    --filters "Name=volume-id,Values=$volume" \
	        "Name=tag:ec2backup:policy,Values=$policy" \
	    --query 'Snapshots[].[StartTime,SnapshotId]') || {
		echo "$0: $volume: cannot list its snapshots" >&2
		status=1
		continue
	}

	tags="{Key=ec2backup:policy,Value=$policy},{Key=ec2backup:date,Value=$today}"
	tags="$tags,{Key=Name,Value=ec2backup $policy $today}"
	snapshot=$(ec2 create-snapshot --volume-id "$volume" \
	    --description "ec2backup $policy $volume $today" \
	    --tag-specifications "ResourceType=snapshot,Tags=[$tags]" \
	    --query SnapshotId) || {
		echo "$0: $volume: cannot create a snapshot" >&2
		status=1
		continue
	}
	echo "$volume: created $snapshot"

	# Today's snapshot takes one of the KEEP places: keep the newest
	# KEEP-1 of the older ones and delete the rest.
	old=$(printf '%s\n' "$snapshots" | sort -r |
	    awk -v keep="$((keep - 1))" 'NF == 2 && ++n > keep { print $2 }')
	for s in $old; do
		if ec2 delete-snapshot --snapshot-id "$s" >/dev/null; then
			echo "$volume: deleted $s"
		else
			echo "$0: $volume: cannot delete $s" >&2
			status=1
		fi
	done
done
exit $status
