"""One run's setup, handed to every scenario: the scratch directory, the private copies of the binaries,
the management key, where the mock and the clients run (placement), file names, hash files and fresh
mocks; and the identity of the machine and the binaries for the JSON."""

import copy
import datetime
import hashlib
import itertools
import os
import secrets
import shutil
import subprocess
import sys
import time

from .measure import NCPU
from .mock import Mock
from .procs import log

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bench/
ROOT = os.path.dirname(HERE)
WRK_SCRIPT = os.path.join(HERE, "wrk_delete.lua")
AIOHTTP_PEER = os.path.join(HERE, "peers", "aiohttp_revoke.py")


def write_hashes(path, n):
    """n distinct random hashes, one per line (fast: one urandom call per 64k hashes)."""
    chunk = 1 << 16
    with open(path, "w") as f:
        left = n
        while left > 0:
            k = min(chunk, left)
            hx = os.urandom(32 * k).hex()
            f.write("\n".join(hx[i:i + 64] for i in range(0, 64 * k, 64)))
            f.write("\n")
            left -= k
    return path


def split_file(src, parts, workdir, stem):
    """Deals the lines of src round-robin into `parts` files; returns their paths."""
    paths = [os.path.join(workdir, "%s-%d.txt" % (stem, i)) for i in range(parts)]
    files = [open(p, "w") for p in paths]
    with open(src) as f:
        for i, line in enumerate(f):
            files[i % parts].write(line)
    for f in files:
        f.close()
    return paths


def find_aiohttp_python():
    """An interpreter that can import aiohttp (this one or Debian's), or None."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.path.exists(py):
            r = subprocess.run([py, "-c", "import aiohttp"], capture_output=True)
            if r.returncode == 0:
                return py
    return None


class Rig:
    """keyrevoke and mock: paths of the private copies (see private_copies); mock_cpu/client_cpu: the
    cpu each is pinned to, None for no pinning; mock_threads: mock io threads."""

    def __init__(self, work, keyrevoke, mock, mock_cpu, client_cpu, mock_threads):
        self.work = work
        self.keyrevoke, self.mock_bin = keyrevoke, mock
        self.mock_cpu, self.client_cpu, self.mock_threads = mock_cpu, client_cpu, mock_threads
        # A fresh management key per run; it never appears on a command line.
        self.management_key = "sk-mg-v1-bench-" + secrets.token_hex(24)
        self.aiohttp_python = find_aiohttp_python()
        self._seq = itertools.count(1)  # shared by unpinned() copies: file names stay unique

    def unpinned(self):
        """The same rig with nothing pinned (mock and clients share every CPU)."""
        other = copy.copy(self)
        other.mock_cpu = other.client_cpu = None
        return other

    def placement(self):
        return {"mock_cpu": self.mock_cpu, "client_cpu": self.client_cpu, "mock_threads": self.mock_threads,
                "cpus": NCPU}

    def name(self, stem):
        """A file stem unique in the scratch directory, numbered in the order of the run."""
        return "%02d-%s" % (next(self._seq), stem)

    def mock(self, keys_file, args=(), threads=None):
        """A started mock holding exactly the keys in keys_file; args are extra mock options."""
        return Mock(self.mock_bin, self.management_key, self.work, self.name("mock"), keys_file, args=args,
                    cpu=self.mock_cpu, threads=threads or self.mock_threads).start()

    def hashes(self, n, stem="hashes"):
        """A file of n random hashes in the scratch directory (made once per (stem, n))."""
        path = os.path.join(self.work, "%s-%d.txt" % (stem, n))
        if not os.path.exists(path):
            t0 = time.monotonic()
            write_hashes(path, n)
            log("generated %d hashes in %.2f s" % (n, time.monotonic() - t0))
        return path


def private_copies(work, keyrevoke, mock, info):
    """Copies the binaries into the scratch directory, so a concurrent rebuild cannot swap them mid-run,
    named apart from the build's (other people's test teardowns that stop `keyrevoke-mock` by name must
    not stop the benchmark's). Adds their sha256 prefixes and build times to info; returns the copies."""
    out = []
    for src, dst_name in ((keyrevoke, "krbench-client"), (mock, "krbench-server")):
        dst = os.path.join(work, dst_name)
        shutil.copy2(src, dst)
        with open(dst, "rb") as f:
            info[os.path.basename(src) + "_sha256"] = hashlib.sha256(f.read()).hexdigest()[:16]
        info[os.path.basename(src) + "_built"] = datetime.datetime.fromtimestamp(
            os.stat(src).st_mtime).isoformat(timespec="seconds")
        out.append(dst)
    return out


def machine_info(keyrevoke):
    """CPUs and model, tool versions, the commit and whether src/ or include/ had changes."""
    info = {"cpus": NCPU, "python": sys.version.split()[0]}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    for tool, args in (("keyrevoke", [keyrevoke, "--version"]), ("curl", ["curl", "--version"]),
                       ("wrk", ["wrk", "--version"])):
        try:
            r = subprocess.run(args, capture_output=True, text=True, timeout=10)
            info[tool] = (r.stdout or r.stderr).splitlines()[0].strip()
        except (OSError, IndexError, subprocess.TimeoutExpired):
            pass
    try:
        info["commit"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "include"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        info["src_dirty"] = bool(dirty)
    except OSError:
        pass
    return info
