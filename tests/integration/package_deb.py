"""The Debian package, as a user gets it: `cpack -G DEB` in the build, `apt-get install ./keyrevoke_*.deb`
on this machine, then the installed keyrevoke revokes keys on the installed mock, and the package is
removed again. It changes the system, so it needs root (CI runs as root, and there this test must run:
with CI=true, not being root is a failure, not a skip). Not named test_*: tests/CMakeLists.txt runs it
once, in a build without sanitizers (label `package`), as tests/run_all.sh's release stage does."""

import fnmatch
import glob
import os
import shutil
import subprocess
import unittest

import harness
from harness import PREFLIGHT_REQUESTS, KEYREVOKE, KeyrevokeTest, MANAGEMENT_KEY, status_count

INSTALLED_BIN = "/usr/bin/keyrevoke"
INSTALLED_MOCK = "/usr/libexec/keyrevoke/keyrevoke-mock"
APT = ["apt-get", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300"]


def dpkg_excluded(path):
    """Whether dpkg's configuration drops `path` on install (path-exclude in /etc/dpkg/dpkg.cfg.d, as
    minimal container images do for /usr/share/man): the file is in the package but not on disk."""
    excluded = False
    for cfg in glob.glob("/etc/dpkg/dpkg.cfg.d/*"):
        with open(cfg) as f:
            for line in f:
                kind, _, pattern = line.strip().partition("=")
                if kind == "path-exclude" and fnmatch.fnmatch(path, pattern):
                    excluded = True
                elif kind == "path-include" and fnmatch.fnmatch(path, pattern):
                    excluded = False
    return excluded


class DebPackageTest(KeyrevokeTest):
    def setUp(self):
        if os.geteuid() != 0:
            if os.environ.get("CI") == "true":
                self.fail("the .deb test must run in CI, which is root (apt-get install)")
            self.skipTest("needs root: it installs the package with apt-get")
        super().setUp()
        self.addCleanup(self._remove_package)

    def _remove_package(self):
        subprocess.run(APT + ["purge", "keyrevoke"], capture_output=True, timeout=300)

    def test_the_deb_installs_runs_and_revokes_against_the_installed_mock(self):
        build = os.path.dirname(os.path.abspath(KEYREVOKE))
        out_dir = self.path("deb")
        made = subprocess.run(["cpack", "-G", "DEB", "--config", os.path.join(build, "CPackConfig.cmake"),
                               "-B", out_dir], capture_output=True, text=True, timeout=300)
        self.assertEqual(made.returncode, 0, made.stdout + made.stderr)
        debs = glob.glob(os.path.join(out_dir, "keyrevoke_*.deb"))
        self.assertEqual(len(debs), 1, os.listdir(out_dir))
        deb = debs[0]

        # The package's metadata and contents.
        fields = subprocess.run(["dpkg-deb", "-f", deb], capture_output=True, text=True, timeout=60,
                                check=True).stdout
        self.assertRegex(fields, r"(?m)^Package: keyrevoke$")
        self.assertRegex(fields, r"(?m)^Section: utils$")
        self.assertRegex(fields, r"(?m)^Maintainer: .+<.+@.+>$")
        self.assertRegex(fields, r"(?m)^Homepage: ")
        self.assertRegex(fields, r"(?m)^Description: bulk revocation of ModelGates API keys\n keyrevoke deletes")
        # dpkg-shlibdeps found the shared libraries: OpenSSL's and Boost's, with versions.
        depends = next(line for line in fields.splitlines() if line.startswith("Depends:"))
        for library in ("libc6 (>=", "libssl3 (>=", "libboost-program-options1.81.0", "libboost-json1.81.0"):
            self.assertIn(library, depends)
        contents = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, timeout=60,
                                  check=True).stdout
        paths = {line.split()[-1].lstrip(".") for line in contents.splitlines()}
        for path in (INSTALLED_BIN, INSTALLED_MOCK, "/usr/share/man/man1/keyrevoke.1.gz",
                     "/usr/share/man/man1/keyrevoke-list.1.gz", "/usr/share/man/man1/keyrevoke-report.1.gz",
                     "/usr/share/bash-completion/completions/keyrevoke",
                     "/usr/share/zsh/vendor-completions/_keyrevoke", "/usr/share/doc/keyrevoke/copyright"):
            self.assertIn(path, paths)
        self.assertEqual([p for p in paths if p.startswith("/usr/bin/") and p != "/usr/bin/"], [INSTALLED_BIN])

        # Installed the way a user would, Depends resolved by apt.
        installed = subprocess.run(APT + ["install", "--no-install-recommends", os.path.abspath(deb)],
                                   capture_output=True, text=True, timeout=600,
                                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        self.assertEqual(installed.returncode, 0, installed.stdout + installed.stderr)

        version = subprocess.run([INSTALLED_BIN, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(version.returncode, 0, version.stderr)
        self.assertRegex(version.stdout, r"^keyrevoke \d+\.\d+\.\d+")
        self.assertIn("running with OpenSSL", version.stdout)
        for path in ("/usr/share/man/man1/keyrevoke.1.gz", "/usr/share/bash-completion/completions/keyrevoke"):
            if not dpkg_excluded(path):
                self.assertTrue(os.path.exists(path), path)
        if not dpkg_excluded("/usr/share/man/man1/keyrevoke.1.gz") and shutil.which("man"):  # man-db: optional
            man = subprocess.run(["man", "-w", "keyrevoke"], capture_output=True, text=True, timeout=60)
            self.assertEqual(man.stdout.strip(), "/usr/share/man/man1/keyrevoke.1.gz", man.stderr)

        # A short revocation: the installed keyrevoke against the installed mock, ground truth from the
        # mock.
        saved = harness.MOCK, harness.KEYREVOKE
        harness.MOCK, harness.KEYREVOKE = INSTALLED_MOCK, INSTALLED_BIN
        try:
            mock = self.mock(keys=150)
            chosen = mock.hashes()[:100]
            res = self.run_keyrevoke(mock, self.write_lines("leaked.txt", chosen), timeout=120)
        finally:
            harness.MOCK, harness.KEYREVOKE = saved
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertNotIn(MANAGEMENT_KEY.encode(), res.stdout + res.stderr)
        outcomes = self.report().outcomes()
        self.assertEqual(outcomes, {h: "deleted" for h in chosen})
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["keys"]["deleted"], 100)
        self.assertEqual(stats["keys"]["remaining"], 50)
        self.assertEqual(status_count(stats, 200), 100 + PREFLIGHT_REQUESTS)  # + the preflight's GET /keys

        # Removed again: nothing of it is left on the PATH.
        removed = subprocess.run(APT + ["purge", "keyrevoke"], capture_output=True, text=True, timeout=300)
        self.assertEqual(removed.returncode, 0, removed.stdout + removed.stderr)
        self.assertFalse(os.path.exists(INSTALLED_BIN))
        self.assertFalse(os.path.exists(INSTALLED_MOCK))


if __name__ == "__main__":
    unittest.main()
