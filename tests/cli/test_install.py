"""make install puts everything a user needs where the documentation
says, with the real path of the binary in the units, and enables
nothing; make uninstall takes it away again but leaves the policies."""

import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))


class Install(unittest.TestCase):
    def make(self, *args):
        return subprocess.run(["make", "-s", "-C", ROOT, *args],
                              capture_output=True, text=True, timeout=300)

    def test_install_and_uninstall(self):
        dest = tempfile.mkdtemp(prefix="ec2backup-install-")
        self.addCleanup(shutil.rmtree, dest)
        r = self.make("install", "DESTDIR=" + dest, "PREFIX=/opt/eb")
        self.assertEqual(r.returncode, 0, r.stderr)
        files = sorted(os.path.relpath(os.path.join(d, f), dest)
                       for d, _, fs in os.walk(dest) for f in fs)
        self.assertEqual(files, sorted([
            "opt/eb/bin/ec2backup",
            "opt/eb/share/man/man8/ec2backup.8",
            "opt/eb/share/man/man5/ec2backup.cfg.5",
            "opt/eb/share/doc/ec2backup/iam-policy.json",
            "opt/eb/share/doc/ec2backup/examples/daily-databases.cfg",
            "opt/eb/share/doc/ec2backup/examples/database-instance.cfg",
            "opt/eb/share/doc/ec2backup/examples/helsinki-office.cfg",
            "opt/eb/share/doc/ec2backup/examples/tagged-volumes.cfg",
            "opt/eb/share/doc/ec2backup/examples/ec2backup.cron",
            "opt/eb/lib/systemd/system/ec2backup.service",
            "opt/eb/lib/systemd/system/ec2backup.timer",
        ]))
        self.assertTrue(os.path.isdir(os.path.join(
            dest, "etc/ec2backup/policies")))
        with open(os.path.join(dest, "opt/eb/lib/systemd/system/"
                               "ec2backup.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=/opt/eb/bin/ec2backup --quiet run", unit)
        self.assertIn("RuntimeDirectory=ec2backup", unit)
        with open(os.path.join(dest, "opt/eb/share/doc/ec2backup/examples/"
                               "ec2backup.cron")) as f:
            self.assertIn("root  /opt/eb/bin/ec2backup --quiet run", f.read())
        for path in files:
            with open(os.path.join(dest, path), "rb") as f:
                self.assertNotIn(b"@BINDIR@", f.read(), path)
        # Nothing is enabled: no links into *.wants directories.
        self.assertFalse([d for d, _, _ in os.walk(dest)
                          if d.endswith(".wants")])
        # The installed binary checks the installed examples.
        r = subprocess.run([os.path.join(dest, "opt/eb/bin/ec2backup"),
                            "check", os.path.join(
                                dest, "opt/eb/share/doc/ec2backup/examples")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.make("uninstall", "DESTDIR=" + dest, "PREFIX=/opt/eb")
        self.assertEqual(r.returncode, 0, r.stderr)
        left = sorted(os.path.relpath(os.path.join(d, f), dest)
                      for d, _, fs in os.walk(dest) for f in fs)
        self.assertEqual(left, [])
        self.assertTrue(os.path.isdir(os.path.join(
            dest, "etc/ec2backup/policies")))


if __name__ == "__main__":
    unittest.main()
