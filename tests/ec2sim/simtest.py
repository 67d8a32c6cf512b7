"""Shared pieces of the emulator's tests: a TestCase that runs one emulator
per test in a background thread, a small signed EC2 client over a kept-alive
connection, and XML helpers."""

import http.client
import json
import os
import sys
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import sim_sigv4  # noqa: E402
from sim_server import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, Emulator  # noqa: E402

NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
T0 = "2026-01-01T00:00:00Z"
T0_EPOCH = 1767225600.0


class Result:
    """One HTTP exchange with the EC2 endpoint."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self._root = None

    @property
    def root(self):
        if self._root is None:
            self._root = ET.fromstring(self.body)
        return self._root

    @property
    def code(self):
        """The error code, or None for a success document."""
        if self.root.tag != "Response":
            return None
        return self.root.findtext("Errors/Error/Code")

    def items(self, set_name):
        return self.root.findall("%s%s/%sitem" % (NS, set_name, NS))

    def ids(self, set_name, id_name):
        return [i.findtext(NS + id_name) for i in self.items(set_name)]

    def text(self, name):
        return self.root.findtext(NS + name)


def tags_of(item):
    return {t.findtext(NS + "key"): t.findtext(NS + "value")
            for t in item.findall("%stagSet/%sitem" % (NS, NS))}


def amz_date(epoch):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


class EmulatorTestCase(unittest.TestCase):
    """Starts an emulator for each test and stops it afterwards.

    Subclasses set `options` (keyword arguments of Config).  By default the
    clock is frozen at T0 so that tests move time explicitly."""

    options = {}

    def setUp(self):
        opts = {"clock": T0_EPOCH, "frozen_clock": True}
        opts.update(self.options)
        self.emu = Emulator(**opts)
        self.emu.start()
        self.addCleanup(self.emu.stop)
        self.sim = self.emu.sim
        self._conn = None
        self.addCleanup(self._close)

    def _close(self):
        if self._conn is not None:
            self._conn.close()

    def connection(self):
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=10)
        return self._conn

    def new_connection(self):
        c = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=10)
        self.addCleanup(c.close)
        return c

    # -- admin ----------------------------------------------------------

    def admin(self, name, body=None, method=None, expect=200):
        conn = self.new_connection()
        data = None if body is None else json.dumps(body).encode()
        method = method or ("GET" if body is None else "POST")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        conn.request(method, "/_sim/" + name, body=data, headers=headers)
        r = conn.getresponse()
        payload = json.loads(r.read())
        conn.close()
        self.assertEqual(r.status, expect, payload)
        return payload

    def seed(self, **body):
        return self.admin("seed", body)

    def advance(self, seconds):
        return self.admin("clock", {"advance": seconds})

    def snapshot_state(self, sid):
        for s in self.admin("state")["snapshots"]:
            if s["id"] == sid:
                return s
        return None

    # -- EC2 ------------------------------------------------------------

    def ec2(self, action, params=(), method="POST", access_key=DEFAULT_ACCESS_KEY,
            secret=DEFAULT_SECRET_KEY, token=None, when=None, region=None,
            version="2016-11-15", conn=None, extra_headers=(), tamper=None):
        """Send one signed EC2 request; returns a Result.

        params: dict or (name, value) pairs.  when: epoch seconds of the
        signature (default: the emulator clock)."""
        pairs = list(params.items()) if isinstance(params, dict) else list(params)
        head = [("Action", action)] if action is not None else []
        if version is not None:
            head.append(("Version", version))
        pairs = head + pairs
        encoded = urllib.parse.urlencode(pairs, quote_via=urllib.parse.quote)
        if when is None:
            when = self.sim.clock.now()
        host = "127.0.0.1:%d" % self.emu.port
        if method == "GET":
            pieces = sorted(tuple(p.split("=", 1)) for p in encoded.split("&")) if encoded else []
            raw_query = "&".join(n + "=" + v for n, v in pieces)
            body = b""
            headers = list(extra_headers)
            path = "/?" + raw_query
        else:
            raw_query = ""
            body = encoded.encode()
            headers = [("Content-Type", FORM)] + list(extra_headers)
            path = "/"
        signed = sim_sigv4.sign_headers(
            method, host, "/", raw_query, headers, body, access_key, secret,
            region or self.sim.config.region, "ec2", amz_date(when), token)
        if tamper is not None:
            body = tamper(body)
        conn = conn or self.connection()
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers + signed:
                conn.putheader(name, value)
            if method == "POST":
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if method == "POST" else None)
            r = conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            raise
        return Result(r.status, dict((k.lower(), v) for k, v in r.getheaders()), data)

    def assertError(self, result, code, status):
        self.assertEqual((result.status, result.code), (status, code), result.body[:400])
        self.assertEqual(result.root.tag, "Response")
        self.assertTrue(result.root.findtext("RequestID"))
        self.assertTrue(result.root.findtext("Errors/Error/Message"))

    def assertOk(self, result):
        self.assertEqual(result.status, 200, result.body[:400])
        self.assertTrue(result.root.tag.startswith(NS), result.root.tag)
        return result

    # -- common seeds ---------------------------------------------------

    def seed_small(self):
        """Two volumes with three snapshots each, one volume without."""
        return self.seed(
            volumes=[
                {"id": "vol-00000000000000001", "tags": {"Backup": "daily", "Name": "web"}},
                {"id": "vol-00000000000000002", "tags": {"Backup": "weekly", "Name": "db"}},
                {"id": "vol-00000000000000003", "type": "sc1", "tags": {"Name": "cold"}},
            ],
            snapshots=[
                {"id": "snap-00000000000000011", "volume": "vol-00000000000000001",
                 "start_time": "2025-12-01T00:00:00Z",
                 "tags": {"ManagedBy": "ec2backup", "Policy": "daily"}},
                {"id": "snap-00000000000000012", "volume": "vol-00000000000000001",
                 "start_time": "2025-12-02T00:00:00Z",
                 "tags": {"ManagedBy": "ec2backup", "Policy": "daily"}},
                {"id": "snap-00000000000000013", "volume": "vol-00000000000000001",
                 "start_time": "2025-12-03T00:00:00Z", "state": "pending",
                 "tags": {"ManagedBy": "ec2backup"}},
                {"id": "snap-00000000000000021", "volume": "vol-00000000000000002",
                 "start_time": "2025-11-01T00:00:00Z", "description": "manual",
                 "tags": {"Owner": "alice"}},
                {"id": "snap-00000000000000022", "volume": "vol-00000000000000002",
                 "start_time": "2025-11-08T00:00:00Z",
                 "tags": {"ManagedBy": "other-tool"}},
                {"id": "snap-00000000000000023", "volume": "vol-00000000000000002",
                 "start_time": "2025-11-15T00:00:00Z", "state": "error"},
            ])
