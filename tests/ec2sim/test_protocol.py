"""The EC2 endpoint's wire behaviour: authentication, common parameters,
document shapes, and HTTP/1.1 connection handling."""

import socket
import unittest

from simtest import NS, EmulatorTestCase, amz_date
import sim_sigv4

OWN = {"Owner.1": "self"}


class Authentication(EmulatorTestCase):
    def test_signed_post_is_accepted(self):
        r = self.assertOk(self.ec2("DescribeSnapshots", OWN))
        self.assertEqual(r.root.tag, NS + "DescribeSnapshotsResponse")

    def test_signed_get_is_accepted(self):
        self.assertOk(self.ec2("DescribeVolumes", {"MaxResults": "5"}, method="GET"))

    def test_unknown_access_key(self):
        self.assertError(self.ec2("DescribeSnapshots", OWN, access_key="AKIDUNKNOWN"),
                         "AuthFailure", 401)

    def test_wrong_secret_and_the_log_shows_the_canonical_request(self):
        self.assertError(self.ec2("DescribeSnapshots", OWN, secret="not-the-secret"),
                         "SignatureDoesNotMatch", 403)
        entry = self.admin("log")["entries"][-1]
        self.assertEqual(entry["code"], "SignatureDoesNotMatch")
        self.assertTrue(entry["canonical_request"].startswith("POST\n/\n\n"))
        self.assertIn("AWS4-HMAC-SHA256", entry["string_to_sign"])

    def test_body_changed_after_signing(self):
        r = self.ec2("DescribeSnapshots", OWN,
                     tamper=lambda b: b.replace(b"self", b"1234"))
        self.assertError(r, "SignatureDoesNotMatch", 403)

    def test_scope_for_another_region(self):
        self.assertError(self.ec2("DescribeSnapshots", OWN, region="eu-west-1"),
                         "SignatureDoesNotMatch", 403)

    def test_clock_skew_limit_is_five_minutes(self):
        now = self.sim.clock.now()
        self.assertOk(self.ec2("DescribeSnapshots", OWN, when=now - 299))
        self.assertOk(self.ec2("DescribeSnapshots", OWN, when=now + 299))
        self.assertError(self.ec2("DescribeSnapshots", OWN, when=now - 301),
                         "RequestExpired", 400)
        self.assertError(self.ec2("DescribeSnapshots", OWN, when=now + 301),
                         "RequestExpired", 400)

    def test_skew_follows_the_emulator_clock(self):
        before = self.sim.clock.now()
        self.advance(3600)
        self.assertError(self.ec2("DescribeSnapshots", OWN, when=before),
                         "RequestExpired", 400)
        self.assertOk(self.ec2("DescribeSnapshots", OWN))

    def test_missing_authorization(self):
        conn = self.connection()
        conn.request("GET", "/?Action=DescribeSnapshots&Version=2016-11-15")
        r = conn.getresponse()
        body = r.read()
        self.assertEqual(r.status, 401)
        self.assertIn(b"<Code>MissingAuthenticationToken</Code>", body)

    def test_malformed_authorization(self):
        conn = self.connection()
        conn.request("GET", "/?Action=DescribeSnapshots&Version=2016-11-15",
                     headers={"Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE",
                              "X-Amz-Date": amz_date(self.sim.clock.now())})
        r = conn.getresponse()
        body = r.read()
        self.assertEqual(r.status, 400)
        self.assertIn(b"<Code>IncompleteSignature</Code>", body)

    def test_session_token_of_registered_credentials(self):
        self.admin("credentials", {"access_key": "ASIATESTTEMPORARY01",
                                   "secret_key": "temp-secret", "session_token": "tok-1",
                                   "expiration": 600})
        self.assertOk(self.ec2("DescribeSnapshots", OWN, access_key="ASIATESTTEMPORARY01",
                               secret="temp-secret", token="tok-1"))
        self.assertError(self.ec2("DescribeSnapshots", OWN, access_key="ASIATESTTEMPORARY01",
                                  secret="temp-secret"), "AuthFailure", 401)
        self.assertError(self.ec2("DescribeSnapshots", OWN, access_key="ASIATESTTEMPORARY01",
                                  secret="temp-secret", token="tok-2"), "AuthFailure", 401)
        self.advance(601)
        self.assertError(self.ec2("DescribeSnapshots", OWN, access_key="ASIATESTTEMPORARY01",
                                  secret="temp-secret", token="tok-1"), "RequestExpired", 400)

    def test_session_token_with_permanent_key(self):
        self.assertError(self.ec2("DescribeSnapshots", OWN, token="made-up"),
                         "AuthFailure", 401)


class CommonParameters(EmulatorTestCase):
    def test_missing_action(self):
        self.assertError(self.ec2(None, OWN), "MissingAction", 400)

    def test_unknown_action(self):
        self.assertError(self.ec2("DescribeInstanceStatus"), "InvalidAction", 400)

    def test_missing_version(self):
        self.assertError(self.ec2("DescribeSnapshots", OWN, version=None),
                         "MissingParameter", 400)

    def test_other_version(self):
        self.assertError(self.ec2("DescribeSnapshots", OWN, version="2014-10-01"),
                         "NoSuchVersion", 400)

    def test_unknown_parameter(self):
        self.assertError(self.ec2("DescribeSnapshots", {"OwnerId.1": "self"}),
                         "UnknownParameter", 400)

    def test_lists_are_numbered_from_one(self):
        self.assertError(self.ec2("DescribeSnapshots", {"Owner.0": "self"}),
                         "UnknownParameter", 400)

    def test_bad_boolean(self):
        self.assertError(self.ec2("DescribeSnapshots", {"DryRun": "yes"}),
                         "InvalidParameterValue", 400)


class Documents(EmulatorTestCase):
    def test_success_shape(self):
        self.seed_small()
        r = self.assertOk(self.ec2("DescribeSnapshots", {"SnapshotId.1": "snap-00000000000000011"}))
        self.assertEqual(r.headers["content-type"], "text/xml;charset=UTF-8")
        self.assertTrue(r.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n'
                                          b'<DescribeSnapshotsResponse xmlns='
                                          b'"http://ec2.amazonaws.com/doc/2016-11-15/">'))
        children = list(r.root)
        self.assertEqual(children[0].tag, NS + "requestId")
        self.assertEqual(children[1].tag, NS + "snapshotSet")
        item = r.items("snapshotSet")[0]
        self.assertEqual(item.findtext(NS + "snapshotId"), "snap-00000000000000011")
        self.assertEqual(item.findtext(NS + "status"), "completed")
        self.assertEqual(item.findtext(NS + "startTime"), "2025-12-01T00:00:00.000Z")
        self.assertEqual(item.findtext(NS + "progress"), "100%")
        self.assertEqual(item.findtext(NS + "ownerId"), "123456789012")
        self.assertIsNone(r.root.find(NS + "nextToken"))

    def test_error_shape(self):
        r = self.ec2("DescribeSnapshots", {"SnapshotId.1": "snap-0000000000000dead"})
        self.assertError(r, "InvalidSnapshot.NotFound", 400)
        self.assertEqual([c.tag for c in r.root], ["Errors", "RequestID"])
        self.assertIn(b"<Response><Errors><Error><Code>", r.body)

    def test_request_ids_are_deterministic_with_the_seed(self):
        first = self.ec2("DescribeSnapshots", OWN).text("requestId")
        again = self.ec2("DescribeSnapshots", OWN).text("requestId")
        self.assertNotEqual(first, again)
        other = type(self.emu)(clock=self.sim.clock.now(), frozen_clock=True)
        other.start()
        self.addCleanup(other.stop)
        self.assertEqual(other.sim.request_id(), first)

    def test_empty_set(self):
        r = self.assertOk(self.ec2("DescribeVolumes"))
        self.assertIn(b"<volumeSet/>", r.body)
        self.assertEqual(r.items("volumeSet"), [])


class Connections(EmulatorTestCase):
    def test_keep_alive_across_successes_and_errors(self):
        conn = self.connection()
        self.assertOk(self.ec2("DescribeSnapshots", OWN, conn=conn))
        sock = conn.sock
        self.assertError(self.ec2("DescribeSnapshots", {"Owner.1": "me"}, conn=conn),
                         "InvalidUserID.Malformed", 400)
        self.assertOk(self.ec2("DescribeSnapshots", OWN, conn=conn))
        self.assertIs(conn.sock, sock)
        self.assertEqual(self.admin("counters")["total"]["requests"], 3)

    def test_expect_continue_and_chunked_body(self):
        body = b"Action=DescribeVolumes&Version=2016-11-15"
        host = "127.0.0.1:%d" % self.emu.port
        headers = [("Content-Type", "application/x-www-form-urlencoded")]
        signed = sim_sigv4.sign_headers(
            "POST", host, "/", "", headers, body, "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "ec2",
            amz_date(self.sim.clock.now()))
        lines = ["POST / HTTP/1.1"] + ["%s: %s" % h for h in headers + signed]
        lines += ["Expect: 100-continue", "Transfer-Encoding: chunked", "", ""]
        with socket.create_connection(("127.0.0.1", self.emu.port), timeout=5) as s:
            s.sendall("\r\n".join(lines).encode())
            interim = s.recv(100)
            self.assertTrue(interim.startswith(b"HTTP/1.1 100 Continue"), interim)
            s.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            data = b""
            while b"</DescribeVolumesResponse>" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertIn(b"HTTP/1.1 200 OK", data)
        self.assertIn(b"Content-Length:", data)

    def test_binds_loopback_only(self):
        self.assertEqual(self.emu.server.server_address[0], "127.0.0.1")
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.2", self.emu.port), timeout=2).close()


if __name__ == "__main__":
    unittest.main()
