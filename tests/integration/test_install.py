"""The install: `cmake --install` lays out what a Debian system expects (keyrevoke in bin, the mock out
of it, man pages, completions, docs), and the completions name exactly the options --help names."""

import gzip
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import KEYREVOKE, ROOT

DIST = os.path.join(ROOT, "src", "dist")
BASH_COMPLETION = os.path.join(DIST, "completion", "keyrevoke.bash")
ZSH_COMPLETION = os.path.join(DIST, "completion", "_keyrevoke")
COMMANDS = ("run", "list", "report")
OPTION_LINE = re.compile(r"^  (?:(-[A-Za-z0-9]) \[ )?(--[a-z0-9][a-z0-9-]*)(?: \])?( arg)?")


def help_options(command, taking_values=False):
    """The options `keyrevoke [command] --help` lists (short and long; with taking_values, only the long
    ones that take a value), or None when this build has no such subcommand (its help is not the
    subcommand's)."""
    args = [KEYREVOKE] + ([] if command == "run" else [command]) + ["--help"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError("%s: exit %d: %s" % (args, out.returncode, out.stderr))
    first = out.stdout.splitlines()[0]
    expected_usage = "usage: keyrevoke" + ("" if command == "run" else " " + command)
    if not first.startswith(expected_usage + " "):
        return None
    names = set()
    for line in out.stdout.splitlines():
        if line.startswith("Exit codes"):
            break  # prose below the options may start a wrapped line with an option's name
        m = OPTION_LINE.match(line)
        if m and not taking_values:
            names.update(n for n in m.groups()[:2] if n)
        elif m and m.group(3):
            names.add(m.group(2))
    return names


def bash_options(command):
    with open(BASH_COMPLETION) as f:
        text = f.read()
    m = re.search(r"_keyrevoke_%s_opts='([^']*)'" % command, text)
    if not m:
        raise AssertionError("%s has no _keyrevoke_%s_opts" % (BASH_COMPLETION, command))
    return set(m.group(1).split())


def zsh_options(command):
    with open(ZSH_COMPLETION) as f:
        text = f.read()
    m = re.search(r"^_keyrevoke_%s\(\) \{\n(.*?)^\}" % command, text, re.S | re.M)
    if not m:
        raise AssertionError("%s has no _keyrevoke_%s()" % (ZSH_COMPLETION, command))
    names = set()
    for spec in re.findall(r"'([^']*)'", m.group(1)):
        spec = re.sub(r"^\([^)]*\)", "", spec)  # the exclusion list
        spec = spec.lstrip("*")  # a repeatable option (--connect-to, --resolve)
        opt = re.match(r"(--?[A-Za-z0-9][A-Za-z0-9-]*)", spec)
        if opt:
            names.add(opt.group(1))
    for pair in re.findall(r"\{(-[A-Za-z0-9]),(--[a-z0-9-]+)\}", m.group(1)):  # {-q,--quiet}: brace expansion
        names.update(pair)
    return names


class CompletionSyncTest(unittest.TestCase):
    def test_completions_name_exactly_the_options_of_help(self):
        compared = 0
        for command in COMMANDS:
            documented = help_options(command)
            if documented is None:
                # Only `report` may be missing from a build (it is a later subcommand); its completion
                # is then checked against its man page's OPTIONS instead.
                self.assertEqual(command, "report")
                documented = {"--format", "--help", "-h"}
                with open(os.path.join(DIST, "keyrevoke-report.1")) as f:
                    page = f.read().replace("\\-", "-")
                for name in documented:
                    self.assertIn(name, page)
            with self.subTest(command=command):
                self.assertGreater(len(documented), 2)
                self.assertEqual(bash_options(command), documented, "bash completion vs --help")
                self.assertEqual(zsh_options(command), documented, "zsh completion vs --help")
                compared += 1
        self.assertEqual(compared, len(COMMANDS))

    def test_completions_know_which_options_take_a_value(self):
        with open(BASH_COMPLETION) as f:
            bash = f.read()
        # The options after which bash completes a value (or nothing), not another option.
        case = re.search(r"case \$prev in\n(.*?)\n  esac", bash, re.S).group(1)
        bash_valued = set(re.findall(r"(--[a-z0-9-]+)", case))
        with open(ZSH_COMPLETION) as f:
            zsh_valued = set(re.findall(r"'(?:\([^)]*\))?\*?(--[a-z0-9-]+)=\[", f.read()))
        for command in COMMANDS:
            valued = help_options(command, taking_values=True)
            if valued is None:
                valued = {"--format"}  # keyrevoke report, before it is in this build
            with self.subTest(command=command):
                self.assertLessEqual(valued, bash_valued, "bash: a value after these")
                self.assertLessEqual(valued, zsh_valued, "zsh: --name=[...] for these")
                self.assertEqual(valued & (bash_options(command) - bash_valued), set())
        switches = set().union(*(help_options(c) or set() for c in COMMANDS)) - set().union(
            *(help_options(c, taking_values=True) or set() for c in COMMANDS))
        self.assertEqual(switches & (bash_valued | zsh_valued), set(), "a switch completed as taking a value")

    def test_the_scripts_parse(self):
        subprocess.run(["bash", "-n", BASH_COMPLETION], check=True, timeout=30)
        subprocess.run(["zsh", "-n", ZSH_COMPLETION], check=True, timeout=30)

    def test_bash_completes_options_values_and_subcommands(self):
        def complete(*words):
            # bash-completion's own entry point, as a terminal would call it.
            script = ("source /usr/share/bash-completion/bash_completion; source %s; "
                      "COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE='%s'; COMP_POINT=${#COMP_LINE}; "
                      "_keyrevoke keyrevoke; printf '%%s\\n' \"${COMPREPLY[@]}\""
                      % (BASH_COMPLETION, " ".join("'%s'" % w for w in words), len(words) - 1, " ".join(words)))
            out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            return set(out.stdout.split())

        self.assertEqual(complete("keyrevoke", "--conc"), {"--concurrency"})
        self.assertEqual(complete("keyrevoke", "--progress", "a"), {"auto", "always"})
        self.assertEqual(complete("keyrevoke", "li"), {"list"})
        self.assertEqual(complete("keyrevoke", "list", "--created-"), {"--created-before", "--created-after"})
        self.assertEqual(complete("keyrevoke", "list", "--conc"), set())  # not a list option
        self.assertEqual(complete("keyrevoke", "report", "--format", "m"), {"markdown"})


class InstallTreeTest(unittest.TestCase):
    def test_cmake_install_lays_out_a_debian_system(self):
        build = os.path.dirname(os.path.abspath(KEYREVOKE))
        with tempfile.TemporaryDirectory(prefix="keyrevoke-install-") as dest:
            env = dict(os.environ, DESTDIR=dest)
            out = subprocess.run(["cmake", "--install", build, "--prefix", "/usr"], env=env,
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            usr = os.path.join(dest, "usr")
            files = set()
            for d, _, names in os.walk(usr):
                files.update(os.path.relpath(os.path.join(d, n), usr) for n in names)

            self.assertIn("bin/keyrevoke", files)
            self.assertEqual([f for f in files if f.startswith("bin/")], ["bin/keyrevoke"])  # no mock there
            self.assertIn("libexec/keyrevoke/keyrevoke-mock", files)
            self.assertTrue(os.access(os.path.join(usr, "libexec/keyrevoke/keyrevoke-mock"), os.X_OK))
            self.assertIn("share/bash-completion/completions/keyrevoke", files)
            self.assertIn("share/zsh/vendor-completions/_keyrevoke", files)
            for doc in ("README.md", "LICENSE", "copyright"):
                self.assertIn("share/doc/keyrevoke/" + doc, files)

            for page, title in (("keyrevoke", "KEYREVOKE"), ("keyrevoke-list", "KEYREVOKE-LIST"),
                                ("keyrevoke-report", "KEYREVOKE-REPORT")):
                with self.subTest(page=page):
                    path = os.path.join(usr, "share/man/man1", page + ".1.gz")
                    self.assertTrue(os.path.exists(path), path)
                    with gzip.open(path, "rt") as f:
                        roff = f.read()
                    self.assertRegex(roff, r'(?m)^\.TH "?%s"? "?1"?' % re.escape(title))
                    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "SEE ALSO"):
                        self.assertRegex(roff, r'(?m)^\.SH "?%s"?$' % section)
                    if page != "keyrevoke-report":
                        for section in ("ENVIRONMENT", "EXAMPLES"):
                            self.assertRegex(roff, r'(?m)^\.SH "?%s"?$' % section)
            # The generated pages carry every option of --help.
            with gzip.open(os.path.join(usr, "share/man/man1/keyrevoke.1.gz"), "rt") as f:
                roff = f.read().replace("\\-", "-").replace("\\fB", "").replace("\\fR", "")
            for name in help_options("run"):
                self.assertIn(name, roff)
            if shutil.which("man"):
                rendered = subprocess.run(["man", "-l", os.path.join(usr, "share/man/man1/keyrevoke.1.gz")],
                                          capture_output=True, text=True, timeout=60,
                                          env=dict(os.environ, MANWIDTH="80"))
                self.assertEqual(rendered.returncode, 0, rendered.stderr)
                self.assertIn("MODELGATES_MANAGEMENT_KEY", rendered.stdout)

            version = subprocess.run([os.path.join(usr, "bin/keyrevoke"), "--version"], capture_output=True,
                                     text=True, timeout=30)
            self.assertEqual(version.returncode, 0)
            self.assertRegex(version.stdout, r"^keyrevoke \d+\.\d+\.\d+")
            self.assertIn("built with Boost 1.", version.stdout)
            self.assertIn("running with OpenSSL", version.stdout)


if __name__ == "__main__":
    unittest.main()
