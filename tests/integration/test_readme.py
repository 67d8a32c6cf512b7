"""README.md shows real output: every ```console block of it must be what
`make demo` prints at the README's fixed time, line for line ("..." in the
README stands for any number of lines left out).  The demo prints each
command exactly as it runs it; the address of the emulator and the lock
file differ from run to run and are taken out before comparing."""

import os
import re
import subprocess
import unittest

from emulator import ROOT

README = os.path.join(ROOT, "README.md")
DEMO = os.path.join(ROOT, "tests", "demo")
FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
PREFIX = re.compile(r"^\$ AWS_ENDPOINT_URL_EC2=http://127\.0\.0\.1:\d+ "
                    r"\./ec2backup --lock-file \S+ ")


def console_blocks(text):
    blocks = []
    for m in re.finditer(r"^( *)```console\n(.*?)^\1```", text, re.M | re.S):
        indent = len(m.group(1))
        blocks.append([line[indent:] for line in
                       m.group(2).rstrip("\n").split("\n")])
    return blocks


def matches(pattern, lines):
    """Whether pattern (lines, "..." for any run of lines) is a run of
    consecutive lines of `lines`."""
    def at(p, i):
        if p == len(pattern):
            return True
        if pattern[p] == "...":
            return any(at(p + 1, j) for j in range(i, len(lines) + 1))
        return i < len(lines) and lines[i] == pattern[p] and at(p + 1, i + 1)
    return any(at(0, i) for i in range(len(lines)))


@unittest.skipUnless(os.path.exists(FAKETIME), "SKIP: libfaketime missing")
class Readme(unittest.TestCase):
    def test_console_blocks_are_real_output(self):
        with open(README) as f:
            text = f.read()
        at = re.search(r"tests/demo --at (\S+)`", text).group(1)
        r = subprocess.run(["/usr/bin/python3", DEMO, "--at", at], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = [PREFIX.sub("$ ec2backup ", line.rstrip())
               for line in r.stdout.split("\n")]
        blocks = console_blocks(text)
        self.assertGreaterEqual(len(blocks), 5)
        for block in blocks:
            with self.subTest(command=block[0]):
                self.assertTrue(block[0].startswith("$ ec2backup "))
                self.assertTrue(matches([b.rstrip() for b in block], out),
                                "README block not in the demo's output:\n"
                                + "\n".join(block) + "\n\ndemo:\n"
                                + "\n".join(out))

    def test_the_demo_prints_what_it_runs(self):
        # Run as printed, the dry run gives the same plan.
        r = subprocess.run(["/usr/bin/python3", DEMO, "--at",
                            "2026-11-22T03:30:00Z"], cwd=ROOT,
                           capture_output=True, text=True, timeout=300)
        shown = [line for line in r.stdout.split("\n")
                 if line.startswith("$ AWS_ENDPOINT_URL_EC2=")]
        self.assertEqual(len(shown), 7)
        for line in shown:
            self.assertRegex(line, PREFIX)
