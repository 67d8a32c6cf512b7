"""Instance metadata (IMDSv2) and container credentials, and the EC2
endpoint's acceptance of the temporary credentials they hand out."""

import json
import unittest

from simtest import EmulatorTestCase

ROLE = "ec2backup-test-role"
CREDS = "/latest/meta-data/iam/security-credentials/"


class ImdsCase(EmulatorTestCase):
    def call(self, method, path, headers=None):
        conn = self.new_connection()
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        conn.close()
        return r.status, body.decode(), dict((k.lower(), v) for k, v in r.getheaders())

    def token(self, ttl="21600"):
        status, body, headers = self.call(
            "PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": ttl})
        self.assertEqual(status, 200)
        self.assertEqual(headers["x-aws-ec2-metadata-token-ttl-seconds"], ttl)
        return body

    def get(self, path, token=None):
        headers = {"X-aws-ec2-metadata-token": token} if token else {}
        return self.call("GET", path, headers)[:2]

    def credentials(self):
        t = self.token()
        status, role = self.get(CREDS, t)
        self.assertEqual((status, role), (200, ROLE))
        status, body = self.get(CREDS + role, t)
        self.assertEqual(status, 200)
        return json.loads(body)


class Tokens(ImdsCase):
    def test_ttl_bounds(self):
        for ttl in ("1", "21600"):
            self.assertTrue(self.token(ttl))
        for bad in ("0", "21601", "x"):
            status, _, _ = self.call("PUT", "/latest/api/token",
                                     {"X-aws-ec2-metadata-token-ttl-seconds": bad})
            self.assertEqual(status, 400, bad)
        status, _, _ = self.call("PUT", "/latest/api/token")
        self.assertEqual(status, 400)

    def test_forwarded_put_is_refused(self):
        status, _, _ = self.call("PUT", "/latest/api/token",
                                 {"X-aws-ec2-metadata-token-ttl-seconds": "60",
                                  "X-Forwarded-For": "10.1.1.1"})
        self.assertEqual(status, 403)

    def test_token_expires_with_the_emulator_clock(self):
        t = self.token("60")
        self.assertEqual(self.get("/latest/meta-data/placement/region", t), (200, "us-east-1"))
        self.advance(60)
        self.assertEqual(self.get("/latest/meta-data/placement/region", t)[0], 401)

    def test_bad_token_is_refused_even_with_v1_allowed(self):
        self.assertEqual(self.get("/latest/meta-data/placement/region", "forged")[0], 401)

    def test_v1_allowed_by_default(self):
        self.assertEqual(self.get("/latest/meta-data/placement/availability-zone"),
                         (200, "us-east-1a"))


class V1Disabled(ImdsCase):
    options = {"imds_v1_disabled": True}

    def test_get_without_token_is_refused(self):
        self.assertEqual(self.get("/latest/meta-data/placement/region")[0], 401)
        self.assertEqual(self.get("/latest/meta-data/placement/region", self.token()),
                         (200, "us-east-1"))


class RoleCredentials(ImdsCase):
    options = {"credential_lifetime": 3600}

    def test_shape(self):
        c = self.credentials()
        self.assertEqual(set(c), {"Code", "LastUpdated", "Type", "AccessKeyId",
                                  "SecretAccessKey", "Token", "Expiration"})
        self.assertEqual((c["Code"], c["Type"]), ("Success", "AWS-HMAC"))
        self.assertTrue(c["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(c["Expiration"], "2026-01-01T01:00:00Z")

    def test_credentials_work_until_expiration_then_refresh(self):
        c = self.credentials()
        call = dict(access_key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["Token"])
        self.assertOk(self.ec2("DescribeVolumes", **call))
        self.assertError(self.ec2("DescribeVolumes", access_key=c["AccessKeyId"],
                                  secret=c["SecretAccessKey"]), "AuthFailure", 401)
        self.advance(3600)
        self.assertError(self.ec2("DescribeVolumes", **call), "RequestExpired", 400)
        fresh = self.credentials()
        self.assertNotEqual(fresh["AccessKeyId"], c["AccessKeyId"])
        self.assertOk(self.ec2("DescribeVolumes", access_key=fresh["AccessKeyId"],
                               secret=fresh["SecretAccessKey"], token=fresh["Token"]))

    def test_new_credentials_five_minutes_before_expiry(self):
        c = self.credentials()
        self.advance(3600 - 301)
        self.assertEqual(self.credentials()["AccessKeyId"], c["AccessKeyId"])
        self.advance(1)
        fresh = self.credentials()
        self.assertNotEqual(fresh["AccessKeyId"], c["AccessKeyId"])
        self.assertOk(self.ec2("DescribeVolumes", access_key=c["AccessKeyId"],
                               secret=c["SecretAccessKey"], token=c["Token"]))

    def test_lifetime_set_at_run_time(self):
        self.admin("credentials", {"lifetime": 120, "rotate": ["imds"]})
        self.assertEqual(self.credentials()["Expiration"], "2026-01-01T00:02:00Z")

    def test_unknown_role_and_no_role(self):
        t = self.token()
        self.assertEqual(self.get(CREDS + "other-role", t)[0], 404)
        self.admin("config", {"role_name": ""})
        self.assertEqual(self.get(CREDS, t)[0], 404)

    def test_fetches_are_logged_and_counted(self):
        self.credentials()
        counters = self.admin("counters")["actions"]
        self.assertEqual(counters["IMDS:token"]["requests"], 1)
        self.assertEqual(counters["IMDS:credentials"]["requests"], 1)
        text = json.dumps(self.admin("log"))
        c = self.credentials()
        self.assertNotIn(c["SecretAccessKey"], json.dumps(self.admin("log")) + text)


class Container(ImdsCase):
    options = {"container_token": "Bearer secret-value"}

    def test_authorization_and_credentials(self):
        self.assertEqual(self.call("GET", "/_container/credentials")[0], 401)
        self.assertEqual(self.call("GET", "/_container/credentials",
                                   {"Authorization": "wrong"})[0], 401)
        status, body, headers = self.call("GET", "/_container/credentials",
                                          {"Authorization": "Bearer secret-value"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        c = json.loads(body)
        self.assertTrue({"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} <= set(c))
        self.assertOk(self.ec2("DescribeSnapshots", {"Owner.1": "self"},
                               access_key=c["AccessKeyId"], secret=c["SecretAccessKey"],
                               token=c["Token"]))


if __name__ == "__main__":
    unittest.main()
