#!/usr/bin/python3
"""ec2sim: an emulator of the EC2 Query API for ec2backup's tests.

Run it with Debian's /usr/bin/python3.  It listens on 127.0.0.1 on a free
port, prints one line "PORT <n>" on standard output, writes the port to
--port-file if asked (atomically), and runs until SIGTERM, SIGINT or
POST /_sim/shutdown.  See docs/testing.md.
"""

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sim_server import (Config, Emulator, DEFAULT_ACCESS_KEY,  # noqa: E402
                        DEFAULT_SECRET_KEY)
from sim_store import parse_time  # noqa: E402

__all__ = ["Config", "Emulator", "main"]


def _parser():
    p = argparse.ArgumentParser(
        prog="ec2sim.py",
        description="EC2 Query API emulator for tests (loopback only).")
    p.add_argument("--port-file", metavar="PATH",
                   help="write the port number to PATH (atomically)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for ids, tokens and fault draws (default 0)")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--account", default="123456789012")
    p.add_argument("--access-key", default=DEFAULT_ACCESS_KEY, metavar="AKID")
    p.add_argument("--secret-key", default=DEFAULT_SECRET_KEY, metavar="SECRET")
    p.add_argument("--throttle-scale", type=float, default=1.0, metavar="F",
                   help="multiply every bucket's refill rate by F")
    p.add_argument("--no-throttle", action="store_true",
                   help="never answer RequestLimitExceeded from the buckets")
    p.add_argument("--complete-after", type=float, default=0.0, metavar="SECONDS",
                   help="pending snapshots complete this many emulator seconds "
                        "after their start time (0: only on POST /_sim/complete)")
    p.add_argument("--imds-v1-disabled", action="store_true",
                   help="metadata GETs without a session token get 401")
    p.add_argument("--credential-lifetime", type=float, default=21600.0,
                   metavar="SECONDS",
                   help="lifetime of IMDS and container credentials")
    p.add_argument("--role-name", default="ec2backup-test-role",
                   help="instance role name ('' for an instance without a role)")
    p.add_argument("--container-token", metavar="TOKEN",
                   help="Authorization value /_container/ requests must carry")
    p.add_argument("--public-snapshots", type=int, default=3, metavar="N",
                   help="public snapshots of other accounts (default 3)")
    p.add_argument("--max-skew", type=float, default=300.0, metavar="SECONDS",
                   help="RequestExpired beyond this clock skew (0: no check)")
    p.add_argument("--clock", metavar="ISO8601",
                   help="start the emulator clock at this time")
    p.add_argument("--freeze-clock", action="store_true",
                   help="the clock only moves through POST /_sim/clock")
    p.add_argument("--state-file", metavar="PATH",
                   help="seed from this JSON file (same body as POST /_sim/seed)")
    p.add_argument("--verbose", action="store_true",
                   help="log every HTTP request on standard error")
    return p


def _write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        start = parse_time(args.clock) if args.clock else None
    except ValueError as e:
        print("ec2sim.py: --clock: %s" % e, file=sys.stderr)
        return 2
    config = Config(
        seed=args.seed, region=args.region, account=args.account,
        access_key=args.access_key, secret_key=args.secret_key,
        throttle_scale=args.throttle_scale, throttle=not args.no_throttle,
        complete_after=args.complete_after,
        imds_v1_disabled=args.imds_v1_disabled,
        credential_lifetime=args.credential_lifetime,
        role_name=args.role_name, container_token=args.container_token,
        public_snapshots=args.public_snapshots, max_skew=args.max_skew,
        clock=start, frozen_clock=args.freeze_clock, verbose=args.verbose)
    emu = Emulator(config)
    if args.state_file:
        try:
            with open(args.state_file) as f:
                state = json.load(f)
        except (OSError, ValueError) as e:
            print("ec2sim.py: %s: %s" % (args.state_file, e), file=sys.stderr)
            return 2
        status, result = emu.sim.admin.handle("POST", "seed", "", state)
        if status != 200:
            print("ec2sim.py: %s: %s" % (args.state_file, result["error"]),
                  file=sys.stderr)
            return 2

    stop = threading.Event()
    emu.sim.on_shutdown = stop.set
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    port = emu.start()
    try:
        if args.port_file:
            _write_port_file(args.port_file, port)
        sys.stdout.write("PORT %d\n" % port)
        sys.stdout.flush()
        while not stop.wait(0.2):
            pass
    finally:
        emu.stop()
        if args.port_file:
            try:
                os.unlink(args.port_file)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
