"""The emulator as a whole: one HTTP/1.1 server on 127.0.0.1 that answers
the EC2 Query API at `/`, instance metadata under `/latest/`, container
credentials under `/_container/` and the test-control calls under `/_sim/`.

`Simulator` holds the state and decides every reply; `Handler` only moves
bytes, including the broken ways of moving them that fault rules ask for
(resets, truncation, trickling).  `Emulator` starts and stops a server in a
background thread, for the command line and for tests.
"""

import base64
import dataclasses
import hashlib
import json
import socket
import struct
import sys
import threading
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sim_xml
from sim_admin import Admin
from sim_control import (BEFORE_ACTION, Credentials, Faults, Permissions,
                         Recorder, Throttle, make_rng)
from sim_ec2 import (ACTIONS, API_VERSION, Ec2Api, Ec2Error, Params,
                     authenticate, bucket_for, request_resources)
from sim_imds import Imds
from sim_store import Clock, Store

XML = "text/xml;charset=UTF-8"
MAX_BODY = 64 << 20

DEFAULT_ACCESS_KEY = "AKIDEXAMPLE"
DEFAULT_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

# Snapshots of other accounts that every fresh account can see, as on EC2
# where a DescribeSnapshots without Owner lists public snapshots too.
PUBLIC_OWNERS = (("444455556666", None), ("777788889999", "amazon"),
                 ("210987654321", None))


@dataclasses.dataclass
class Config:
    seed: int = 0
    region: str = "us-east-1"
    account: str = "123456789012"
    access_key: str = DEFAULT_ACCESS_KEY
    secret_key: str = DEFAULT_SECRET_KEY
    throttle_scale: float = 1.0
    throttle: bool = True
    complete_after: float = 0.0
    visibility_delay: float = 0.0
    # Terminated instances stay listed this many seconds (EC2: "usually
    # less than one hour").
    terminated_visible_for: float = 3600.0
    # At most this many items a page, whatever MaxResults asks (EC2 may
    # return fewer than asked); 0: no cap.
    page_size: int = 0
    imds_v1_disabled: bool = False
    credential_lifetime: float = 21600.0
    role_name: str = "ec2backup-test-role"
    container_token: str = None
    public_snapshots: int = 3
    max_skew: float = 300.0
    filter_value_limit: int = 200
    clock: float = None
    frozen_clock: bool = False
    log_limit: int = 100000
    verbose: bool = False


class Reply:
    __slots__ = ("status", "ctype", "body", "headers", "fault", "reset",
                 "after")

    def __init__(self, status, ctype, body, headers=None):
        self.status = status
        self.ctype = ctype
        self.body = body
        self.headers = headers or []
        self.fault = None
        self.reset = False
        self.after = None


class Context:
    """What an action knows of its call: the time, the request id, and the
    log entry (where a fault that changed the answer is noted)."""

    __slots__ = ("now", "request_id", "note")

    def __init__(self, now, request_id, note=None):
        self.now = now
        self.request_id = request_id
        self.note = note if note is not None else {}


# What the faults that refuse a call answer, on EC2 and on the metadata
# endpoints.
INJECTED_ERRORS = {
    "internal_error": ("InternalError", "An internal error has occurred. Please try again."),
    "unavailable": ("Unavailable", "The server is overloaded and cannot handle the request."),
    "throttle": ("RequestLimitExceeded", "Request limit exceeded."),
}
INJECTED_HTTP = {
    "internal_error": (500, b"Internal Server Error"),
    "unavailable": (503, b"Service Unavailable"),
    "throttle": (429, b"Too Many Requests"),
}


def _error_reply(e, request_id):
    return Reply(e.status, XML, sim_xml.error_document(e.code, e.message, request_id))


def _reset_reply():
    reply = Reply(0, "text/plain", b"")
    reply.reset = True
    return reply


class Simulator:
    def __init__(self, config):
        self.config = config
        self.clock = Clock(config.clock, config.frozen_clock)
        self.store = Store(config.account, config.region)
        self.credentials = Credentials(config.seed)
        self.throttle = Throttle(config.throttle_scale, config.throttle)
        self.faults = Faults(config.seed)
        self.recorder = Recorder(config.log_limit)
        self.permissions = Permissions()
        self.ec2 = Ec2Api(self)
        self.imds = Imds(self)
        self.admin = Admin(self)
        self.ids_rng = make_rng(config.seed, "ids")
        self._req_rng = make_rng(config.seed, "requests")
        self._req_lock = threading.Lock()
        self.token_secret = hashlib.sha256(("ec2sim-token/%s" % config.seed)
                                           .encode()).digest()
        self.token_epoch = 1
        self.stop_event = threading.Event()
        self.on_shutdown = None
        self._setup_credentials()
        self._seed_public()

    def _setup_credentials(self):
        self.credentials.add(self.config.access_key, self.config.secret_key)
        self.credentials.lifetime = float(self.config.credential_lifetime)

    def _seed_public(self):
        now = self.clock.now()
        for n in range(self.config.public_snapshots):
            owner, alias = PUBLIC_OWNERS[n % len(PUBLIC_OWNERS)]
            self.store.add_snapshot(
                "snap-%017x" % (0xfeed0000 + n), "vol-ffffffff",
                start=now - 86400 * (400 + n), owner=owner, alias=alias,
                description="Public snapshot %d of another account" % (n + 1),
                size=8, public=True)

    def clear_resources(self):
        with self.store.lock:
            self.store.clear()
            self.token_epoch += 1
            self._seed_public()

    def reset(self, keep_clock=False):
        """Back to the state at start-up; `config` stays as it is."""
        cfg = self.config
        with self.store.lock:
            self.clear_resources()
            if not keep_clock:
                self.clock = Clock(cfg.clock, cfg.frozen_clock)
            self.credentials = Credentials(cfg.seed)
            self._setup_credentials()
            self.throttle = Throttle(cfg.throttle_scale, cfg.throttle)
            self.faults = Faults(cfg.seed)
            self.recorder.clear()
            self.permissions.clear()
            self.imds.reset()

    # -- helpers used by the API modules ---------------------------------

    def new_id(self, prefix, taken):
        while True:
            rid = "%s-%017x" % (prefix, self.ids_rng.getrandbits(68))
            if not taken(rid):
                return rid

    def request_id(self):
        with self._req_lock:
            r = self._req_rng.getrandbits(128)
        return str(uuid.UUID(int=r, version=4))

    def opaque(self, n):
        with self._req_lock:
            raw = bytes(self._req_rng.getrandbits(8) for _ in range(n))
        return base64.b64encode(raw).decode()

    def tick(self, now):
        """Complete pending snapshots whose time has come, and forget
        terminated instances listed long enough (store lock held).

        The snapshots of a CreateSnapshots set share their start time, so
        they complete at the same tick."""
        after = self.config.complete_after
        if after > 0 and self.store.pending:
            for s in list(self.store.pending.values()):
                if now >= s.start + after:
                    self.store.set_state(s, "completed", s.start + after)
        if self.store.terminated:
            self.store.sweep_terminated(now, self.config.terminated_visible_for)

    # -- EC2 -------------------------------------------------------------

    def handle_ec2(self, method, raw_path, raw_query, headers, body):
        now = self.clock.now()
        rid = self.request_id()
        entry = {"time": sim_xml.iso_ms(now), "kind": "ec2", "method": method,
                 "action": "-", "params": {}, "status": 0, "code": None,
                 "request_id": rid, "fault": None}
        fault = None
        try:
            params = self._admit(method, raw_path, raw_query, headers, body, now, entry)
            action = params.get("Action")
            latency, fault = self.faults.decide(
                action, resources=request_resources(action, params))
            self._delay(latency, entry)
            if fault is not None and fault.kind in BEFORE_ACTION:
                entry["fault"] = fault.kind
                if fault.kind == "reset_before":
                    return self._record(entry, _reset_reply())
                raise Ec2Error(*INJECTED_ERRORS[fault.kind])
            bucket, category = bucket_for(action, params)
            if not self.throttle.take(bucket, category, self.clock.now()):
                raise Ec2Error("RequestLimitExceeded", "Request limit exceeded.")
            ctx = Context(self.clock.now(), rid, entry)
            reply = Reply(200, XML, self.ec2.dispatch(action, params, ctx))
        except Ec2Error as e:
            entry["code"] = e.code
            reply = _error_reply(e, rid)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            entry["code"] = "InternalError"
            reply = _error_reply(Ec2Error("InternalError",
                                          "An internal error has occurred."), rid)
        return self._record(entry, reply, fault)

    def _admit(self, method, raw_path, raw_query, headers, body, now, entry):
        """Parameters of a signed request for a known action and version."""
        try:
            pairs = urllib.parse.parse_qsl(raw_query, keep_blank_values=True,
                                           errors="strict")
            if method == "POST" and body:
                pairs += urllib.parse.parse_qsl(body.decode("utf-8"),
                                                keep_blank_values=True,
                                                errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise Ec2Error("InvalidParameterValue",
                           "The request is not valid UTF-8 form data") from None
        params = Params(pairs)
        entry["params"] = {k: v for k, v in pairs
                           if not k.lower().startswith("x-amz-")}
        action = params.get("Action")
        entry["action"] = action or "-"
        authenticate(self, method, raw_path, raw_query, headers, body, now, entry)
        if not action:
            raise Ec2Error("MissingAction",
                           "The request must contain the parameter Action")
        if action not in ACTIONS:
            raise Ec2Error("InvalidAction",
                           "The action %s is not valid for this web service." % action)
        version = params.get("Version")
        if not version:
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter Version")
        if version != API_VERSION:
            raise Ec2Error("NoSuchVersion",
                           "The requested version (%s) of service AmazonEC2 "
                           "does not exist" % version)
        return params

    def _delay(self, latency, entry):
        if latency:
            entry["latency_ms"] = round(latency * 1000, 3)
            self.stop_event.wait(latency)

    def _record(self, entry, reply, fault=None):
        """Attach a fault that acts after the action, and log the call."""
        if fault is not None and fault.kind not in BEFORE_ACTION:
            entry["fault"] = fault.kind
            reply.fault = fault
            reply.reset = fault.kind == "reset_after"
        entry["status"] = reply.status
        self.recorder.record(entry)
        return reply

    # -- metadata and container credentials --------------------------------

    def handle_metadata(self, method, path, headers, container):
        now = self.clock.now()
        entry = {"time": sim_xml.iso_ms(now), "kind": "container" if container else "imds",
                 "method": method, "action": "ContainerCredentials" if container else "IMDS",
                 "params": {"path": path}, "status": 0, "code": None,
                 "request_id": None, "fault": None}
        latency, fault = self.faults.decide(entry["action"], ec2=False)
        self._delay(latency, entry)
        if fault is not None and fault.kind in BEFORE_ACTION:
            entry["fault"] = fault.kind
            if fault.kind == "reset_before":
                return self._record(entry, _reset_reply())
            status, text = INJECTED_HTTP[fault.kind]
            return self._record(entry, Reply(status, "text/plain", text))
        note = {}
        if container:
            status, ctype, body, extra = self.imds.container(method, headers, now, note)
        else:
            status, ctype, body, extra = self.imds.handle(method, path, headers, now, note)
        entry.update(note)
        return self._record(entry, Reply(status, ctype, body, extra), fault)

    # -- admin ------------------------------------------------------------

    def handle_admin(self, method, name, query, body):
        parsed = None
        if body:
            try:
                parsed = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                return Reply(400, "application/json",
                             json.dumps({"error": "bad JSON: %s" % e}).encode())
        status, obj = self.admin.handle(method, name, query, parsed)
        reply = Reply(status, "application/json",
                      (json.dumps(obj, indent=1) + "\n").encode("utf-8"))
        if name == "shutdown" and status == 200:
            reply.after = self.request_shutdown
        return reply

    def request_shutdown(self):
        if self.on_shutdown is not None:
            self.on_shutdown()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AmazonEC2"
    sys_version = ""
    timeout = 300

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        """The Date header tells the emulator's time, as EC2's tells
        EC2's: a client compares it with its own clock."""
        if timestamp is None:
            timestamp = self.server.sim.clock.now()
        return super().date_time_string(timestamp)

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        if self.server.sim.config.verbose:
            sys.stderr.write("ec2sim: %s\n" % (fmt % args))

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    def _plain(self, status, text, close=False):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            parts = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    self._plain(400, "bad chunk size", close=True)
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_BODY:
                    self._plain(413, "request body too large", close=True)
                    return None
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            n = -1
        if n < 0:
            self._plain(400, "bad Content-Length", close=True)
            return None
        if n > MAX_BODY:
            self._plain(413, "request body too large", close=True)
            return None
        body = self.rfile.read(n)
        if len(body) != n:
            self.close_connection = True
            return None
        return body

    def _serve(self, method):
        body = self._read_body()
        if body is None:
            return
        sim = self.server.sim
        path, _, query = self.path.partition("?")
        if path.startswith("/_sim/"):
            reply = sim.handle_admin(method, path[len("/_sim/"):].strip("/"), query, body)
        elif path.startswith("/latest/"):
            reply = sim.handle_metadata(
                method, path, {k.lower(): v for k, v in self.headers.items()}, False)
        elif path.startswith("/_container/"):
            reply = sim.handle_metadata(
                method, path, {k.lower(): v for k, v in self.headers.items()}, True)
        elif path == "/" and method in ("GET", "POST"):
            reply = sim.handle_ec2(method, path, query, self.headers.items(), body)
        else:
            self._plain(404 if path != "/" else 405, "not found")
            return
        self._send(reply)
        if reply.after is not None:
            reply.after()

    def _reset(self):
        """Close the connection with a TCP reset, answering nothing."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass

    def _send(self, reply):
        fault = reply.fault
        kind = fault.kind if fault is not None else None
        if reply.reset:
            self._reset()
            return
        body = reply.body
        status = reply.status
        if kind == "malformed":
            status = 200
            body = body[:max(1, len(body) // 2)] + b"<&></Response"
        self.send_response(status)
        self.send_header("Content-Type", reply.ctype)
        for name, value in reply.headers:
            self.send_header(name, value)
        if kind == "truncate":
            cut = int(len(body) * float(fault.get("fraction", 0.5)))
            cut = max(0, min(cut, len(body) - 1))
            self.send_header("Connection", "close")
            if fault.get("chunked", False):
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"%x\r\n%s\r\n" % (cut, body[:cut]) if cut else b"")
            else:
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:cut])
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "trickle":
            step = max(1, int(fault.get("bytes", 16)))
            pause = float(fault.get("interval_ms", 50)) / 1000.0
            stop = self.server.sim.stop_event
            for i in range(0, len(body), step):
                if i and stop.wait(pause):
                    self.close_connection = True
                    return
                self.wfile.write(body[i:i + step])
            return
        self.wfile.write(body)


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    # socketserver's default of 5 drops connections when a client opens
    # its --jobs connections at once; a dropped SYN is resent after 1 s.
    request_queue_size = 128

    def __init__(self, sim):
        self.sim = sim
        self._conns = set()
        self._conns_lock = threading.Lock()
        self._idle = threading.Condition(self._conns_lock)
        super().__init__(("127.0.0.1", 0), Handler)

    def process_request(self, request, client_address):
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        try:
            super().shutdown_request(request)
        finally:
            with self._conns_lock:
                self._conns.discard(request)
                self._idle.notify_all()

    def close_connections(self, timeout=5.0):
        """Wake every handler blocked on a kept-alive connection and wait
        until they have all finished."""
        with self._conns_lock:
            for c in list(self._conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._idle.wait_for(lambda: not self._conns, timeout)


class Emulator:
    """A running emulator: start() binds 127.0.0.1 on a free port and
    serves from a background thread; stop() ends it and every connection."""

    def __init__(self, config=None, **options):
        if config is None:
            config = Config(**options)
        elif options:
            config = dataclasses.replace(config, **options)
        self.sim = Simulator(config)
        self.server = None
        self._thread = None
        self._stopped = threading.Event()
        self._stop_lock = threading.Lock()

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self.server = SimServer(self.sim)
        if self.sim.on_shutdown is None:
            self.sim.on_shutdown = lambda: threading.Thread(
                target=self.stop, daemon=True).start()
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01},
            name="ec2sim-%d" % self.port, daemon=True)
        self._thread.start()
        return self.port

    def stop(self):
        with self._stop_lock:
            if self.server is None or self._stopped.is_set():
                return
            self.sim.stop_event.set()
            self.server.shutdown()
            self.server.server_close()
            self.server.close_connections()
            self._thread.join(5)
            self._stopped.set()

    def wait_stopped(self, timeout=None):
        return self._stopped.wait(timeout)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
