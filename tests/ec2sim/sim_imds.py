"""Instance metadata (IMDSv2) and the container credentials endpoint.

Both hand out the same kind of temporary credentials (an ASIA access key,
a secret and a session token) that the EC2 endpoint then accepts until
their expiration by the emulator clock.  Replies are (status, content type,
body bytes, extra headers).
"""

import json
import string
import threading

import sim_xml
from sim_control import make_rng

TEXT = "text/plain"
NOT_FOUND = (404, "text/html", b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
             b"<html><head><title>404 - Not Found</title></head>"
             b"<body><h1>404 - Not Found</h1></body></html>\n", [])


def _text(body, status=200, headers=()):
    return (status, TEXT, body.encode("utf-8"), list(headers))


def _json_body(obj):
    # IMDS pretty-prints with " : " between names and values.
    return json.dumps(obj, indent=2, separators=(",", " : "))


class Imds:
    def __init__(self, sim):
        self.sim = sim
        self._lock = threading.Lock()
        self._rng = make_rng(sim.config.seed, "imds")
        self._tokens = {}

    def reset(self):
        with self._lock:
            self._tokens.clear()

    def _new_token(self, ttl, now):
        with self._lock:
            for t in [t for t, exp in self._tokens.items() if exp <= now]:
                del self._tokens[t]
            token = "AQAEA" + "".join(self._rng.choice(
                string.ascii_letters + string.digits + "-_") for _ in range(51)) + "=="
            self._tokens[token] = now + ttl
            return token

    def _token_ok(self, token, now):
        with self._lock:
            exp = self._tokens.get(token)
            return exp is not None and now < exp

    def instance_id(self):
        return "i-%017x" % (int(self.sim.config.account) % (1 << 64))

    def handle(self, method, path, headers, now, note):
        """headers: {lower-case name: value}."""
        cfg = self.sim.config
        if path == "/latest/api/token":
            note["action"] = "IMDS:token"
            if method != "PUT":
                return _text("Method Not Allowed", 405, [("Allow", "PUT")])
            if "x-forwarded-for" in headers:
                return _text("Forbidden", 403)
            ttl = headers.get("x-aws-ec2-metadata-token-ttl-seconds")
            try:
                n = int(ttl)
            except (TypeError, ValueError):
                n = 0
            if not 1 <= n <= 21600:
                return _text("Bad Request", 400)
            token = self._new_token(n, now)
            return _text(token, 200, [("X-aws-ec2-metadata-token-ttl-seconds", str(n))])
        if method not in ("GET", "HEAD"):
            if method == "PUT":
                return _text("Forbidden", 403)
            return _text("Method Not Allowed", 405, [("Allow", "GET")])
        token = headers.get("x-aws-ec2-metadata-token")
        if token is not None:
            if not self._token_ok(token, now):
                note["code"] = "token-invalid"
                return _text("Unauthorized", 401)
        elif cfg.imds_v1_disabled:
            note["code"] = "token-required"
            return _text("Unauthorized", 401)
        else:
            note["imds_v1"] = True
        note["action"] = "IMDS"
        return self._metadata(path, now, note)

    def _metadata(self, path, now, note):
        cfg = self.sim.config
        role = cfg.role_name
        az = cfg.region + "a"
        creds_dir = "/latest/meta-data/iam/security-credentials/"
        if path.endswith("/") and path not in (
                "/latest/meta-data/", "/latest/meta-data/iam/",
                "/latest/meta-data/placement/", creds_dir):
            path = path.rstrip("/")     # leaf items answer with a slash too
        if path == "/latest/meta-data/" or path == "/latest/meta-data":
            return _text("ami-id\nhostname\niam/\ninstance-id\ninstance-type\n"
                         "local-ipv4\nplacement/")
        if path == "/latest/meta-data/ami-id":
            return _text("ami-0f0e0d0c0b0a09080")
        if path == "/latest/meta-data/instance-id":
            return _text(self.instance_id())
        if path == "/latest/meta-data/instance-type":
            return _text("t3.micro")
        if path == "/latest/meta-data/hostname":
            return _text("ip-10-0-0-10.ec2.internal")
        if path == "/latest/meta-data/local-ipv4":
            return _text("10.0.0.10")
        if path == "/latest/meta-data/placement/":
            return _text("availability-zone\nregion")
        if path == "/latest/meta-data/placement/region":
            return _text(cfg.region)
        if path == "/latest/meta-data/placement/availability-zone":
            return _text(az)
        if path == "/latest/meta-data/iam/":
            return _text("info\nsecurity-credentials/") if role else NOT_FOUND
        if path == "/latest/meta-data/iam/info" and role:
            return _text(_json_body({
                "Code": "Success", "LastUpdated": sim_xml.iso_s(now),
                "InstanceProfileArn": "arn:aws:iam::%s:instance-profile/%s"
                                      % (cfg.account, role),
                "InstanceProfileId": "AIPAEXAMPLEPROFILEID0"}))
        if path == creds_dir:
            return _text(role) if role else NOT_FOUND
        if path.startswith(creds_dir) and role and path[len(creds_dir):] == role:
            note["action"] = "IMDS:credentials"
            c = self.sim.credentials.current("imds", now)
            note["issued"] = c.access_key
            return _text(_json_body({
                "Code": "Success",
                "LastUpdated": sim_xml.iso_s(c.expiration - self.sim.credentials.lifetime),
                "Type": "AWS-HMAC",
                "AccessKeyId": c.access_key,
                "SecretAccessKey": c.secret,
                "Token": c.token,
                "Expiration": sim_xml.iso_s(c.expiration),
            }))
        if path == "/latest/dynamic/instance-identity/document":
            return _text(_json_body({
                "accountId": cfg.account, "architecture": "x86_64",
                "availabilityZone": az, "imageId": "ami-0f0e0d0c0b0a09080",
                "instanceId": self.instance_id(), "instanceType": "t3.micro",
                "pendingTime": sim_xml.iso_s(now - 3600),
                "privateIp": "10.0.0.10", "region": cfg.region,
                "version": "2017-09-30"}))
        return NOT_FOUND

    def container(self, method, headers, now, note):
        """GET <anything under /_container/>: container role credentials."""
        note["action"] = "ContainerCredentials"
        if method != "GET":
            return (405, "application/json", b'{"message":"method not allowed"}', [])
        want = self.sim.config.container_token
        if want is not None and headers.get("authorization") != want:
            note["code"] = "unauthorized"
            return (401, "application/json",
                    b'{"code":"AccessDenied","message":"invalid authorization token"}', [])
        c = self.sim.credentials.current("container", now)
        note["issued"] = c.access_key
        body = json.dumps({
            "RoleArn": "arn:aws:iam::%s:role/%s" % (self.sim.config.account,
                                                    self.sim.config.role_name or "task"),
            "AccessKeyId": c.access_key,
            "SecretAccessKey": c.secret,
            "Token": c.token,
            "Expiration": sim_xml.iso_s(c.expiration),
        })
        return (200, "application/json", body.encode("utf-8"), [])
