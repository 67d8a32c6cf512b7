"""What a cron user relies on: with --quiet the run is silent exactly when
nothing needs a person, every warning reaches standard error once with
what to do, output cannot be forged by what EC2 returns, and a terminal
gets a clean progress line and colour (unless NO_COLOR)."""

import datetime
import json
import os
import pty
import subprocess
import unittest

from test_run import START, RunTest, iso


def owned(sid, vol, t, state="completed", policy="prod"):
    return {"id": sid, "volume": vol, "state": state, "start_time": iso(t),
            "tags": {"ec2backup:policy": policy,
                     "ec2backup:date": t.strftime("%Y-%m-%d")}}


class Quiet(RunTest):
    def test_silent_when_nothing_needs_a_person(self):
        self.at(START)
        self.seed_history(["vol-0000000a"], 3, START)
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        r = self.run_tool("-q", "run", path)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_every_warning_reaches_cron(self):
        day = datetime.timedelta(days=1)
        self.at(START)
        self.seed_history(["vol-0000000a"], 6, START, extra=[
            owned("snap-0000e001", "vol-0000000a", START - 9 * day,
                  state="error"),
            owned("snap-0000dead", "vol-0000dead", START - day)])
        path = self.policy('keep = 2;\nmax_deletes = 1;\nvolumes = ( '
                           '{ id = "vol-0000000a"; }, '
                           '{ id = "vol-0000dead"; } );\n')
        r = self.run_tool("-q", "run", path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertIn("ec2backup: warning: policy prod: vol-0000000a: "
                      "snap-0000e001: state error: not counted, never "
                      "deleted automatically; look at it (aws ec2 "
                      "describe-snapshots), then delete it by hand, or tag "
                      "it ec2backup:protect to keep it", lines)
        self.assertIn("ec2backup: warning: policy prod: vol-0000dead: volume "
                      "not found: nothing created or deleted, 1 snapshot "
                      "kept; if the volume was deleted on purpose, take it "
                      "out of the policy; its snapshots stay until you "
                      "delete them", lines)
        self.assertIn("ec2backup: warning: policy prod: 5 deletions exceed "
                      "max_deletes=1: none deleted; if so many deletions "
                      "are intended, raise max_deletes for one run", lines)
        # Once each, and nothing but warnings.
        self.assertEqual(len(lines), 3, r.stderr)
        self.assertEqual(len(set(lines)), 3)


class Forgery(RunTest):
    def test_descriptions_cannot_forge_lines(self):
        self.at(START)
        # What XML can carry: newlines, C1 controls, bidi overrides.
        evil = ("by hand\nprod  vol-0000000a\n  snap-0000ffff  completed  "
                "2026-03-01  owned  \u202edesrever")
        self.seed_history(["vol-0000000a"], 1, START, extra=[
            {"id": "snap-0000beef", "volume": "vol-0000000a",
             "state": "completed", "start_time": "2026-01-01T00:00:00Z",
             "description": evil,
             "tags": {"ec2backup:policy": "x\u0085\u2066y"}}])
        path = self.policy('keep = 2;\nvolumes = ( { id = "vol-0000000a"; } );\n')
        r = self.run_tool("list", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 3, r.stdout)
        self.assertIn("by hand\\nprod  vol-0000000a\\n  snap-0000ffff", lines[2])
        self.assertIn("\\u{202e}desrever", lines[2])
        self.assertNotIn("\u202e", r.stdout)
        r = self.run_tool("plan", path)
        self.assertIn("owned by policy x\\u{0085}\\u{2066}y", r.stdout)
        self.assertNotIn("\u2066", r.stdout)
        # JSON carries the text as it is, escaped by JSON's own rules.
        r = self.run_tool("list", "-o", "json", path)
        snaps = json.loads(r.stdout)["volumes"][0]["snapshots"]
        self.assertEqual(snaps[-1]["description"], evil)


class Terminal(RunTest):
    def on_terminal(self, *args, extra_env=None):
        cmd, env = self.command(*args)
        env.pop("NO_COLOR", None)
        env.update(TERM="xterm", **(extra_env or {}))
        master, slave = pty.openpty()
        p = subprocess.Popen(cmd, env=env, stdout=slave, stderr=slave)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        p.wait(timeout=60)
        return p.returncode, b"".join(chunks).decode()

    def seed(self):
        self.at(START)
        vols = ["vol-0000000%d" % i for i in range(1, 6)]
        self.seed_history(vols, 3, START)
        # One delete refused, so a message comes while progress shows.
        self.sim.admin("revoke", {"actions": ["DeleteSnapshot"],
                                  "resources": ["snap-00000003000000003"]})
        # Slow enough that the line is drawn with a rate.
        self.sim.faults({"action": "*", "kind": "latency", "latency_ms": 150})
        return self.policy('keep = 2;\nvolumes = ( %s );\n' % ", ".join(
            '{ id = "%s"; }' % v for v in vols))

    def test_progress_is_cleared_before_every_message(self):
        path = self.seed()
        rc, tty = self.on_terminal("run", path)
        self.assertEqual(rc, 1, tty)
        self.assertIn("applying 15/15", tty)
        self.assertRegex(tty, r"applying \d+/15, [\d.]+ a second, about "
                         r"\d+ s left")
        # Every message starts on a clean line: the progress line was
        # cleared (\r and erase to the end) right before it.
        starts = [i for i in range(len(tty))
                  if tty.startswith("ec2backup: ", i)]
        self.assertTrue(starts)
        for i in starts:
            before = tty[max(0, i - 4):i]
            self.assertTrue(i == 0 or before.endswith("\n") or
                            before.endswith("\r\033[K"), repr(tty[i - 40:i]))
        self.assertNotRegex(tty, r"applying \d+/\d+[^\r\n\033]*ec2backup:")

    def test_colour_on_a_terminal_unless_no_color(self):
        path = self.seed()
        rc, tty = self.on_terminal("--dry-run", path)
        self.assertEqual(rc, 0, tty)
        self.assertIn("\033[32mcreate\033[0m", tty)
        self.assertIn("\033[31mdelete\033[0m", tty)
        rc, tty = self.on_terminal("--dry-run", path,
                                   extra_env={"NO_COLOR": "1"})
        self.assertNotIn("\033[", tty)
        # Not a terminal: never.
        r = self.run_tool("--dry-run", path)
        self.assertNotIn("\033[", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
