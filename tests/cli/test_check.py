"""The command line as users and CI systems meet it: `ec2backup check`,
--help, --version, usage errors and the documented exit codes.

Runs the built binary (./ec2backup, or $EC2BACKUP) from the top of the
source tree.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

BINARY = os.environ.get("EC2BACKUP", "./ec2backup")
VOL = "vol-0123456789abcdef0"


def run(*args, **kw):
    return subprocess.run([BINARY, *args], capture_output=True, text=True,
                          timeout=60, **kw)


class CheckCommand(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ec2backup-cli-")
        self.addCleanup(shutil.rmtree, self.dir)

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def test_examples_are_valid(self):
        r = run("check", "policies/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout,
                         "4 policies, 4 volumes, 1 instance, 2 tag "
                         "selections: ok\n")
        self.assertEqual(r.stderr, "")

    def test_broken_policy_points_at_the_line(self):
        path = self.write("prod.cfg", "# production\nkepe = 7;\n"
                          f'volumes = ( {{ id = "{VOL}"; }} );\n')
        r = run("check", path)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(
            r.stderr.splitlines(),
            [f"{path}:2: error: unknown setting 'kepe' (did you mean "
             "'keep'?)",
             f"{path}:1: error: missing required setting 'keep' (how many "
             "snapshots to keep per volume, 1 to 1000)"])
        self.assertEqual(r.stdout, "1 policy, 0 volumes: 2 errors\n")

    def test_directory_is_sorted_and_all_files_checked(self):
        self.write("b.cfg", f'keep = 2;\nvolumes = ( {{ id = "{VOL}"; }} );\n')
        self.write("a.cfg", "keep = 0;\nvolumes = ( { id = \"vol-0a1b2c3d\"; } );\n")
        self.write("c.cfg", "keep = 1;\nvolumes = ( { id = \"vol-bad\"; } );\n")
        self.write("notes.txt", "not a policy")
        r = run("check", self.dir)
        self.assertEqual(r.returncode, 2)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].startswith(os.path.join(self.dir, "a.cfg") + ":1: error: 'keep' is 0"), lines)
        self.assertTrue(lines[1].startswith(os.path.join(self.dir, "c.cfg") + ":2: error: 'vol-bad'"), lines)
        self.assertEqual(r.stdout, "3 policies, 1 volume: 2 errors\n")

    def test_warnings_keep_exit_zero(self):
        a = self.write("a.cfg", f'keep = 2;\nvolumes = ( {{ id = "{VOL}"; }} );\n')
        b = self.write("b.cfg", f'keep = 3;\nvolumes = ( {{ id = "{VOL}"; }} );\n')
        r = run("check", a, b)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{b}:2: warning: volume {VOL} is also managed by "
                      f"policy 'a' ({a}:2)", r.stderr)
        self.assertEqual(r.stdout, "2 policies, 2 volumes: ok, 1 warning\n")

    def test_missing_path(self):
        r = run("check", os.path.join(self.dir, "nope"))
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, os.path.join(self.dir, "nope") +
                         ": error: cannot read: No such file or directory\n")

    def test_dash_dash_allows_odd_file_names(self):
        path = self.write("-odd.cfg", f'keep = 2;\nvolumes = ( {{ id = "{VOL}"; }} );\n')
        r = subprocess.run([os.path.abspath(BINARY), "check", "--", "-odd.cfg"],
                           capture_output=True, text=True, cwd=self.dir,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "1 policy, 1 volume: ok\n")
        self.assertTrue(os.path.exists(path))

    @unittest.skipUnless(shutil.which("valgrind"), "SKIP: valgrind not installed")
    def test_valgrind_clean(self):
        bad = self.write("bad.cfg", "kepe = 7;\nvolumes = ( { id = \"vol-x\"; } );\n")
        for args in (["check", "policies/"], ["check", bad, "policies/"]):
            r = subprocess.run(
                ["valgrind", "--quiet", "--leak-check=full",
                 "--show-leak-kinds=all", "--errors-for-leak-kinds=all",
                 "--error-exitcode=99", BINARY, *args],
                capture_output=True, text=True, timeout=120)
            self.assertNotEqual(r.returncode, 99, r.stderr)
            self.assertNotRegex(r.stderr, r"==\d+==")


class CommandLine(unittest.TestCase):
    def test_help(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith(
            "usage: ec2backup [OPTIONS] [COMMAND] [POLICY...]\n"))
        for cmd in ("run", "plan", "list", "check"):
            self.assertRegex(r.stdout, r"\n  %s +\w" % cmd)
        self.assertEqual(run("check", "--help").stdout, r.stdout)

    def test_every_option_is_documented(self):
        helptext = run("--help").stdout
        with open("docs/ec2backup.8") as f:
            man = f.read()
        options = re.findall(r"^\s+(?:-\w, )?--([a-z-]+)", helptext, re.M)
        self.assertGreater(len(options), 15)
        for opt in options:
            with self.subTest(option=opt):
                self.assertRegex(man, r"\n\.It (Fl \w , )?Fl -%s\b" % opt)

    def test_version(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^ec2backup \d+\.\d+\.\d+\n$")

    def test_usage_errors_name_the_bad_word(self):
        hint = "Try 'ec2backup --help' for more information.\n"
        cases = [
            (["--frobnicate", "check"], "unknown option '--frobnicate'"),
            (["-x", "check"], "unknown option '-x'"),
            (["frobnicate"], "unknown command 'frobnicate'"),
            (["check", "--frob"], "unknown option '--frob'"),
            (["-j", "0", "plan"], "--jobs '0': use 1 to 64"),
            (["-o", "yaml", "plan"], "--output 'yaml': use text or json"),
            (["--now", "tomorrow", "-n"], "--now 'tomorrow' is not a UTC "
             "time such as 2026-11-23T03:00:00Z, or a date such as "
             "2026-11-23"),
            (["--now", "2026-11-23T03:00:00Z", "run"], "--now plans as if "
             "it were another time; it needs --dry-run (or the plan "
             "command)"),
            (["--region"], "option '--region' needs a value"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 2)
                self.assertEqual(r.stderr, f"ec2backup: {message}\n{hint}")
                self.assertEqual(r.stdout, "")

    def test_full_disk_is_an_error(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("SKIP: no /dev/full")
        with open("/dev/full", "w") as full:
            r = subprocess.run([BINARY, "check", "policies/"], stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("ec2backup: error: cannot write standard output", r.stderr)


class ManualPages(unittest.TestCase):
    @unittest.skipUnless(shutil.which("man"), "SKIP: man not installed")
    def test_pages_render_without_warnings(self):
        for page in ("docs/ec2backup.8", "docs/ec2backup.cfg.5"):
            with self.subTest(page=page):
                r = subprocess.run(["man", "--warnings", "-l", page],
                                   capture_output=True, text=True, timeout=60,
                                   env={**os.environ, "MANWIDTH": "80",
                                        "MAN_KEEP_FORMATTING": "0"})
                self.assertEqual(r.returncode, 0)
                self.assertEqual(r.stderr, "")
                text = re.sub(".\x08", "", r.stdout)  # bold and underline
                self.assertIn("EXIT STATUS" if page.endswith("8") else
                              "SYNOPSIS\n     /etc/ec2backup/policies/*.cfg",
                              text)


if __name__ == "__main__":
    unittest.main()
