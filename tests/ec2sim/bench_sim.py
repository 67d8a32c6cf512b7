#!/usr/bin/python3
"""Time the emulator serving DescribeSnapshots for a large account.

Starts ec2sim.py as a separate process (so that client and server do not
share an interpreter), seeds VOLUMES x PER_VOLUME snapshots with the
generator, then fetches every page of Owner.1=self with MaxResults=1000
twice (the first pass renders and caches the items, the second serves them
from the cache), and finally all snapshots again through volume-id filter
batches.  The client only reads the bytes and finds nextToken; it does not
parse XML, so the figures are the emulator's cost plus loopback transfer.

    /usr/bin/python3 tests/ec2sim/bench_sim.py [--volumes N] [--per-volume M] [--batch B]
"""

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sim_sigv4  # noqa: E402
from sim_server import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY  # noqa: E402

TOKEN = re.compile(rb"<nextToken>([^<]+)</nextToken>")


class Client:
    def __init__(self, port):
        self.host = "127.0.0.1:%d" % port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def admin(self, name, body=None):
        data = None if body is None else json.dumps(body).encode()
        self.conn.request("POST" if data else "GET", "/_sim/" + name, body=data)
        r = self.conn.getresponse()
        out = json.loads(r.read())
        if r.status != 200:
            raise SystemExit("admin %s: %s" % (name, out))
        return out

    def ec2(self, params):
        body = urllib.parse.urlencode(params, quote_via=urllib.parse.quote).encode()
        headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        signed = sim_sigv4.sign_headers(
            "POST", self.host, "/", "", headers, body, DEFAULT_ACCESS_KEY,
            DEFAULT_SECRET_KEY, "us-east-1", "ec2",
            time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
        self.conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for name, value in headers + signed:
            self.conn.putheader(name, value)
        self.conn.putheader("Content-Length", str(len(body)))
        self.conn.endheaders(body)
        r = self.conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise SystemExit("EC2 call failed: %d %s" % (r.status, data[:300]))
        return data

    def list_all(self, extra):
        """Fetch every page; returns (pages, items, bytes)."""
        pages = items = size = 0
        token = None
        while True:
            params = [("Action", "DescribeSnapshots"), ("Version", "2016-11-15"),
                      ("Owner.1", "self"), ("MaxResults", "1000")] + extra
            if token:
                params.append(("NextToken", token))
            data = self.ec2(params)
            pages += 1
            items += data.count(b"<snapshotId>")
            size += len(data)
            m = TOKEN.search(data, max(0, len(data) - 400))
            if not m:
                return pages, items, size
            token = m.group(1).decode()


def report(label, seconds, pages, items, size):
    print("%-42s %7.2f s  %5d pages  %8d snapshots  %7.1f MB  %6.0f pages/s  %6.0f MB/s"
          % (label, seconds, pages, items, size / 1e6, pages / seconds, size / 1e6 / seconds))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--volumes", type=int, default=10000)
    p.add_argument("--per-volume", type=int, default=100)
    p.add_argument("--batch", type=int, default=200, help="volume ids per filter")
    args = p.parse_args()

    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "ec2sim.py"),
                             "--no-throttle", "--public-snapshots", "0"],
                            stdout=subprocess.PIPE)
    try:
        started = time.monotonic()
        line = proc.stdout.readline().decode()
        port = int(line.split()[1])
        print("start-up                                   %7.2f s" % (time.monotonic() - started))
        client = Client(port)

        t = time.monotonic()
        gen = client.admin("seed", {"generate": {
            "volumes": args.volumes, "snapshots_per_volume": args.per_volume,
            "id_prefix": "0", "start": "2024-01-01T00:00:00Z", "interval_seconds": 86400,
            "volume_tags": {"Backup": "daily"},
            "snapshot_tags": {"ManagedBy": "ec2backup", "Policy": "daily"}}})["generated"]
        print("seed %d volumes x %d snapshots           %7.2f s"
              % (gen["volumes"], args.per_volume, time.monotonic() - t))

        for label in ("all pages, first pass (render + cache)", "all pages, second pass (cached)"):
            t = time.monotonic()
            pages, items, size = client.list_all([])
            report(label, time.monotonic() - t, pages, items, size)

        t = time.monotonic()
        pages = items = size = 0
        width = 17 - 1
        for first in range(1, args.volumes + 1, args.batch):
            vols = ["vol-0%0*x" % (width, n)
                    for n in range(first, min(first + args.batch, args.volumes + 1))]
            extra = [("Filter.1.Name", "volume-id")]
            extra += [("Filter.1.Value.%d" % (i + 1), v) for i, v in enumerate(vols)]
            a, b, c = client.list_all(extra)
            pages, items, size = pages + a, items + b, size + c
        report("volume-id filter, %d volumes per call" % args.batch,
               time.monotonic() - t, pages, items, size)
        client.admin("shutdown", {})
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
