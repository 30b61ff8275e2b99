#!/usr/bin/env python3
"""Runs one test module and fails closed: what ctest calls instead of `python3 -m unittest`.

    runner.py MODULE                    an integration module (tests/integration/MODULE.py)
    runner.py --unit BINARY [ARGS...]   a Boost.Test binary (run with --report_level=short)
    runner.py --shard K/N --unit BINARY [ARGS...]
                                        shard K (0 <= K < N) of that binary: of its test cases in
                                        --list_content order, every N-th one from the K-th;
                                        tests/CMakeLists.txt adds all N shards as ctest tests, so that
                                        ctest -j spreads one long binary over the cores
    runner.py --list [MODULE...]        the test ids of those modules (default: every test_*.py), runs nothing

`python3 -m unittest` exits 0 when no test ran or when every test was skipped, and a Boost.Test binary
whose cases were all filtered out or disabled can pass with nothing checked. This runner fails:
  - when zero tests ran, or any failed, errored or unexpectedly succeeded;
  - on any skip whose test id is not on the allow-list (allowed_skips.txt next to this file);
  - for a unit shard, when the binary lists a disabled case, or when the shard did not pass exactly its
    own cases and skip (filter out) exactly the others (so the N shards together run the whole binary).
It prints every skip, allowed or not, so a CI reader sees what was not checked.

allowed_skips.txt: one `test_id  reason` per line (# comments). A reason starting with `[sanitizer]`
allows the skip only in a sanitizer build (KEYREVOKE_SANITIZED=1, set by tests/CMakeLists.txt)."""

import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ALLOW_LIST = os.path.join(HERE, "allowed_skips.txt")


def load_allowed_skips(path=ALLOW_LIST):
    """test id -> reason, for the skips allowed in this build."""
    sanitized = os.environ.get("KEYREVOKE_SANITIZED") == "1"
    allowed = {}
    if not os.path.exists(path):
        return allowed
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            test_id, _, reason = line.partition(" ")
            reason = reason.strip()
            if not reason:
                raise SystemExit("runner: %s: an allowed skip needs a reason: %r" % (path, line))
            if reason.startswith("[sanitizer]"):
                if not sanitized:
                    continue
                reason = reason[len("[sanitizer]"):].strip()
            allowed[test_id] = reason
    return allowed


def run_module(module):
    sys.path.insert(0, HERE)
    os.chdir(HERE)
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stderr, resultclass=TimedResult).run(suite)
    allowed = load_allowed_skips()
    problems = []
    if result.testsRun == 0:
        problems.append("no test ran in %s" % module)
    if result.failures or result.errors:
        problems.append("%d failed, %d errors" % (len(result.failures), len(result.errors)))
    if result.unexpectedSuccesses:
        problems.append("%d unexpected successes" % len(result.unexpectedSuccesses))
    skips = []
    for test, reason in result.skipped:
        test_id = test.id()
        # A skipped subTest is reported under its parent test's id with the parameters appended.
        base_id = re.sub(r" \(.*\)$", "", test_id)
        ok = base_id in allowed
        skips.append((test_id, reason, ok))
        if not ok:
            problems.append("skip not on the allow-list: %s (%s)" % (test_id, reason))
    if skips:
        print("skipped tests (%d):" % len(skips))
        for test_id, reason, ok in skips:
            print("  %s %s: %s" % ("allowed  " if ok else "FORBIDDEN", test_id, reason))
    ran = result.testsRun - len(result.skipped)
    print("runner: %s: %d tests run, %d passed, %d skipped" % (
        module, result.testsRun, ran - len(result.failures) - len(result.errors), len(result.skipped)))
    slowest = sorted(result.durations, key=lambda d: -d[1])[:5]
    print("runner: slowest (s): " + ", ".join("%s %.1f" % (name.rsplit(".", 1)[-1], secs) for name, secs in slowest))
    return problems


class TimedResult(unittest.TextTestResult):
    """unittest's text result plus each test's wall time in s (Python 3.11 has no --durations)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.durations = []
        self._started = {}

    def startTest(self, test):
        self._started[test.id()] = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        began = self._started.pop(test.id(), None)
        if began is not None:
            self.durations.append((test.id(), time.monotonic() - began))


def list_tests(modules):
    """Prints one test id per line (subtests are not counted: they exist only while a test runs)."""
    sys.path.insert(0, HERE)
    os.chdir(HERE)
    if not modules:
        modules = sorted(f[:-3] for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    problems = []

    def walk(suite):
        for t in suite:
            if isinstance(t, unittest.TestSuite):
                yield from walk(t)
            else:
                yield t
    for module in modules:
        loader = unittest.TestLoader()
        tests = list(walk(loader.loadTestsFromName(module)))
        if loader.errors:
            problems.append("%s does not load:\n%s" % (module, "\n".join(loader.errors)))
            continue
        for test in tests:
            print(test.id())
    return problems


def list_unit_cases(binary):
    """[(path of a test case, enabled)] in --list_content order: a case is a line no deeper line
    follows, its path the names above it joined by '/' (what --run_test takes), enabled when its name
    ends with '*'."""
    proc = subprocess.run([binary, "--list_content"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit("runner: %s --list_content exited with %d" % (binary, proc.returncode))
    lines = [l.rstrip() for l in proc.stdout.decode("utf-8", "replace").splitlines() if l.strip()]
    depth = [len(l) - len(l.lstrip(" ")) for l in lines]
    cases, stack = [], []
    for i, line in enumerate(lines):
        while stack and stack[-1][0] >= depth[i]:
            stack.pop()
        stack.append((depth[i], line.strip().rstrip("*")))
        if i + 1 == len(lines) or depth[i + 1] <= depth[i]:
            cases.append(("/".join(name for _, name in stack), line.endswith("*")))
    return cases


def run_unit(cmd, shard=None):
    expected = None
    if shard is not None:
        k, n = shard
        cases = list_unit_cases(cmd[0])
        disabled = [path for path, enabled in cases if not enabled]
        if disabled:
            return ["%d disabled test cases (a disabled unit test checks nothing): %s"
                    % (len(disabled), " ".join(disabled))]
        whole = len(cases)
        # Every N-th case from the K-th: the long simulations of one suite land in different shards.
        mine = [path for path, _ in cases[k::n]]
        if not mine:
            return ["shard %d/%d of %s holds none of its %d test cases: use fewer shards" % (k, n, cmd[0], whole)]
        expected = len(mine)
        print("runner: shard %d/%d: %d of the %d test cases of %s" % (k, n, expected, whole, cmd[0]))
        cmd = cmd[:1] + ["--run_test=" + ":".join(mine)] + cmd[1:]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.decode("utf-8", "replace")
    sys.stdout.write(out)
    problems = []
    if proc.returncode != 0:
        problems.append("%s exited with %d" % (cmd[0], proc.returncode))
    passed = re.search(r"(\d+) test cases? out of (\d+) passed", out)
    if not passed:
        problems.append("no 'N test cases out of N passed' line: did any test case run?")
    elif int(passed.group(1)) == 0:
        problems.append("zero test cases passed")
    skipped = re.search(r"(\d+) test cases? out of \d+ skipped", out)
    skipped_n = int(skipped.group(1)) if skipped else 0
    if expected is None:
        if skipped_n > 0:
            problems.append("%d test cases skipped (a disabled unit test checks nothing)" % skipped_n)
    elif passed:
        # Boost.Test counts the cases --run_test filtered out as skipped: the shard must have passed
        # exactly its own cases, and skipped exactly the others of the whole binary.
        if int(passed.group(1)) != expected or int(passed.group(2)) != whole or skipped_n != whole - expected:
            problems.append("the shard passed %s and skipped %d of %s test cases; it holds %d of %d"
                            % (passed.group(1), skipped_n, passed.group(2), expected, whole))
    return problems


def main(argv):
    shard = None
    if len(argv) >= 2 and argv[0] == "--shard":
        m = re.fullmatch(r"(\d+)/(\d+)", argv[1])
        if not m or not int(m.group(1)) < int(m.group(2)):
            print("runner: --shard K/N with 0 <= K < N, not %r" % argv[1], file=sys.stderr)
            return 2
        shard = (int(m.group(1)), int(m.group(2)))
        argv = argv[2:]
        if not argv or argv[0] != "--unit":
            print("runner: --shard goes with --unit", file=sys.stderr)
            return 2
    if len(argv) >= 2 and argv[0] == "--unit":
        problems = run_unit(argv[1:], shard)
    elif argv and argv[0] == "--list":
        problems = list_tests(argv[1:])
    elif len(argv) == 1 and not argv[0].startswith("-"):
        problems = run_module(argv[0])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print("runner: FAILED: %s" % p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
