"""Every bundled policy and every example of the manual pages, run as a
user runs them: the binary against the emulator, with the environment of
an ordinary machine (AWS_CA_BUNDLE set to the system's bundle, a real
looking ~/.aws, TZ set or not, LANG C.UTF-8 or C) rather than a scrubbed
one.  Each policy's volumes are read from the file itself, so a new
example is covered the day it is added."""

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from emulator import ACCESS_KEY, ROOT, SECRET_KEY, Emulator
from test_run import BINARY

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
POLICIES = sorted(glob.glob(os.path.join(ROOT, "policies", "*.cfg")))
MANUALS = [os.path.join(ROOT, "docs", "ec2backup.8"),
           os.path.join(ROOT, "docs", "ec2backup.cfg.5")]


def policy_facts(text):
    """(region, volume ids, select tags) of a policy, read as a user would
    read the file: enough libconfig for the examples."""
    text = re.sub(r"#.*", "", text)
    region = re.search(r'^\s*region\s*=\s*"([^"]*)"', text, re.M)
    ids = re.findall(r'\bid\s*=\s*"(vol-[0-9a-f]+)"', text)
    select = re.search(r"select\s*=\s*\{(.*?)\}\s*;\s*\}?", text, re.S)
    tags = []
    if select:
        tags = re.findall(r'key\s*=\s*"([^"]*)"\s*;\s*value\s*=\s*"([^"]*)"',
                          select.group(1))
    return (region.group(1) if region else "us-east-1"), ids, tags


def instance_facts(text):
    """The instance ids of a policy, and whether it leaves root volumes
    out."""
    text = re.sub(r"#.*", "", text)
    return (re.findall(r'\bid\s*=\s*"(i-[0-9a-f]+)"', text),
            re.search(r"exclude_boot_volume\s*=\s*true", text) is not None)


def loop_tools():
    return os.geteuid() == 0 and all(shutil.which(t) for t in (
        "losetup", "mkfs.ext4", "mount", "umount", "fsfreeze"))


def manual_examples(path):
    """The literal blocks of a manual page, as (text, first line)."""
    blocks, cur = [], None
    with open(path) as f:
        for line in f:
            if line.startswith(".Bd -literal"):
                cur = []
            elif line.startswith(".Ed") and cur is not None:
                blocks.append("".join(cur))
                cur = None
            elif cur is not None:
                cur.append(line.replace("\\&", "").replace("\\e", "\\"))
    return blocks


class Machine:
    """A home directory and environment as an ordinary machine has."""

    def __init__(self, region, style):
        self.home = tempfile.mkdtemp(prefix="ec2backup-home-")
        aws = os.path.join(self.home, ".aws")
        os.mkdir(aws, 0o700)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("TZ", "LANG",
                                                          "LC_ALL")}
        env.update(HOME=self.home, AWS_CA_BUNDLE=SYSTEM_BUNDLE,
                   AWS_EC2_METADATA_DISABLED="true")
        if style == "files":
            with open(os.path.join(aws, "credentials"), "w") as f:
                f.write("[default]\naws_access_key_id = %s\n"
                        "aws_secret_access_key = %s\n"
                        % (ACCESS_KEY, SECRET_KEY))
            with open(os.path.join(aws, "config"), "w") as f:
                f.write("[default]\nregion = %s\noutput = json\n" % region)
            env.update(LANG="C", TZ="America/New_York")
        else:
            with open(os.path.join(aws, "config"), "w") as f:
                f.write("[default]\nregion = us-west-2\n")
            env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY,
                       AWS_SECRET_ACCESS_KEY=SECRET_KEY,
                       AWS_REGION=region, LANG="C.UTF-8")
        self.env = env

    def close(self):
        shutil.rmtree(self.home)


@unittest.skipUnless(os.access(BINARY, os.X_OK), "SKIP: ec2backup not built")
class Examples(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ec2backup-examples-")
        self.addCleanup(shutil.rmtree, self.dir)

    def emulator(self, region, ids, tags, instances=()):
        sim = Emulator("--region", region)
        self.addCleanup(sim.stop)
        volumes = [{"id": v} for v in ids]
        if tags:
            volumes.append({"id": "vol-0aaaaaaaaaaaaaaaa",
                            "tags": dict(tags)})
            volumes.append({"id": "vol-0bbbbbbbbbbbbbbbb",
                            "tags": dict(tags[:-1]) if len(tags) > 1 else {}})
        # Each instance: a root volume and two data volumes, tagged.
        sim.seed(volumes=volumes, instances=[
            {"id": i, "volumes": [{"device": "/dev/xvda"},
                                  {"device": "/dev/sdf", "volume": {
                                      "tags": {"Name": "data"}}},
                                  {"device": "/dev/sdg"}]}
            for i in instances])
        return sim

    def real_filesystem(self):
        """A mounted ext4 filesystem on a loop device, for hooks that
        freeze one; its path."""
        image = os.path.join(self.dir, "fs.img")
        with open(image, "wb") as f:
            f.truncate(32 << 20)
        subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
        dev = subprocess.run(["losetup", "-f", "--show", image], check=True,
                             capture_output=True, text=True).stdout.strip()
        self.addCleanup(subprocess.run, ["losetup", "-d", dev])
        mnt = tempfile.mkdtemp(prefix="ec2backup-srv-")
        self.addCleanup(os.rmdir, mnt)
        subprocess.run(["mount", dev, mnt], check=True)
        self.addCleanup(subprocess.run, ["umount", mnt])
        self.addCleanup(subprocess.run, ["fsfreeze", "--unfreeze", mnt],
                        capture_output=True)
        return mnt

    def ec2backup(self, sim, machine, *args):
        return subprocess.run(
            [BINARY, "--endpoint-url", sim.url, "--lock-file",
             os.path.join(self.dir, "lock"), *args],
            env=machine.env, capture_output=True, text=True, timeout=120)

    def run_policy(self, path, style):
        with open(path) as f:
            text = f.read()
        region, ids, tags = policy_facts(text)
        instances, no_root = instance_facts(text)
        self.assertTrue(ids or tags or instances,
                        "%s: no volumes or instances found in it" % path)
        sim = self.emulator(region, ids, tags, instances)
        machine = Machine(region, style)
        self.addCleanup(machine.close)
        name = os.path.basename(path)
        expected = len(ids) + len(instances) + (1 if tags else 0)
        snapshots = len(ids) + (1 if tags else 0) + \
            len(instances) * (2 if no_root else 3)
        r = self.ec2backup(sim, machine, "check", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        for args in (["--dry-run"], ["plan", "-o", "json"], ["list"],
                     ["--dry-run", "--quiet"]):
            r = self.ec2backup(sim, machine, *args, path)
            what = "%s %s (%s)" % (" ".join(args), name, style)
            self.assertEqual(r.returncode, 0, "%s: %s" % (what, r.stderr))
            self.assertNotRegex(r.stderr, r"error|runtime error|Sanitizer",
                                what)
            if "--quiet" in args:
                self.assertEqual(r.stdout + r.stderr, "", what)
            elif "json" in args:
                doc = json.loads(r.stdout)
                self.assertEqual(doc["summary"]["create"], expected, what)
            elif "list" not in args:
                self.assertIn("%d create" % expected, r.stdout, what)
        r = self.ec2backup(sim, machine, "-q", "run", path)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))
        made = [s for s in sim.state()["snapshots"]
                if s["tags"].get("ec2backup:policy")]
        self.assertEqual(len(made), snapshots, name)
        # The tag selection took the volume with every tag only.
        if tags:
            self.assertNotIn("vol-0bbbbbbbbbbbbbbbb",
                             [s["volume_id"] for s in made])

    def test_bundled_policies_with_environment_keys(self):
        self.assertGreaterEqual(len(POLICIES), 3)
        for path in POLICIES:
            with self.subTest(policy=os.path.basename(path)):
                self.run_policy(path, "environment")

    def test_bundled_policies_with_shared_files(self):
        for path in POLICIES:
            with self.subTest(policy=os.path.basename(path)):
                self.run_policy(path, "files")

    def test_policy_examples_of_the_manual(self):
        found = 0
        for block in manual_examples(MANUALS[1]):
            if "keep" not in block:
                continue
            found += 1
            path = os.path.join(self.dir, "example-%d.cfg" % found)
            if "/srv/db" in block:
                # It freezes a data filesystem: a real one, here.
                if not loop_tools():
                    print("SKIP: example %d freezes a filesystem, which "
                          "needs root, loop devices and fsfreeze" % found)
                    continue
                block = block.replace("/srv/db", self.real_filesystem())
            with open(path, "w") as f:
                f.write(block)
            with self.subTest(example=found):
                self.run_policy(path, "environment")
        self.assertGreaterEqual(found, 2)

    def test_command_examples_of_the_manual(self):
        # The EXAMPLES of ec2backup(8), against the bundled policies.
        with open(MANUALS[0]) as f:
            text = f.read()
        examples = text[text.index(".Sh EXAMPLES"):text.index(".Sh SEE ALSO")]
        commands = re.findall(r"^\$ (ec2backup .*)$", examples, re.M)
        self.assertGreaterEqual(len(commands), 3)
        with open(POLICIES[0]) as f:
            region, ids, tags = policy_facts(f.read())
        # The instance policy runs in the same region (the environment's).
        instances = []
        for path in POLICIES:
            with open(path) as f:
                instances += instance_facts(f.read())[0]
        self.assertTrue(instances)
        sim = self.emulator(region, ids, tags, instances)
        machine = Machine(region, "environment")
        self.addCleanup(machine.close)
        pols = os.path.join(self.dir, "policies")
        shutil.copytree(os.path.join(ROOT, "policies"), pols)
        os.remove(os.path.join(pols, "helsinki-office.cfg"))
        os.remove(os.path.join(pols, "tagged-volumes.cfg"))
        for command in commands:
            args = command.split()[1:]
            if "check" in args:
                args = ["check", pols]
                bad = os.path.join(self.dir, "bad", "prod.cfg")
                os.makedirs(os.path.dirname(bad), exist_ok=True)
                with open(bad, "w") as f:
                    f.write("keep = 7;\nname = \"prod\";\nvolumes = ( { id = "
                            "\"vol-0a1b2c3d\"; } );\nkepe = 3;\n")
                r = self.ec2backup(sim, machine, "check",
                                   os.path.dirname(bad))
                self.assertEqual(r.returncode, 2)
                self.assertIn("prod.cfg:4: error: unknown setting 'kepe' "
                              "(did you mean 'keep'?)", r.stderr)
            else:
                args = args + [pols]
            with self.subTest(command=command):
                r = self.ec2backup(sim, machine, *args)
                self.assertEqual(r.returncode, 0, "%s: %s" % (command,
                                                              r.stderr))
        cron = re.search(r"^\d+ \d+ \* \* \* root (ec2backup .*)$", examples,
                         re.M)
        self.assertIsNotNone(cron)
        r = self.ec2backup(sim, machine, *cron.group(1).split()[1:], pols)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))


if __name__ == "__main__":
    unittest.main()
