"""Child processes: each in its own session, its pid kept in a file (for run.sh's trap), killed on exit,
failure or signal; and one measured client run (wall time, its own CPU and peak RSS, a deadline)."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class Registry:
    """The children alive right now, mirrored into a pid file that run.sh's trap reads."""

    def __init__(self):
        self.procs = {}
        self.pidfile = None

    def set_pidfile(self, path):
        self.pidfile = path
        self._write()

    def _write(self):
        if not self.pidfile:
            return
        with open(self.pidfile + ".tmp", "w") as f:
            f.write("".join("%d\n" % pid for pid in self.procs))
        os.replace(self.pidfile + ".tmp", self.pidfile)

    def add(self, proc):
        self.procs[proc.pid] = proc
        self._write()

    def forget(self, proc):
        self.procs.pop(proc.pid, None)
        self._write()

    def kill_all(self):
        """SIGTERM to every child's session, up to 5 s to go, then SIGKILL."""
        for pid, proc in list(self.procs.items()):
            if proc.returncode is None:
                try:
                    os.killpg(pid, signal.SIGTERM)
                except OSError:
                    pass
        deadline = time.monotonic() + 5
        for pid, proc in list(self.procs.items()):
            if proc.returncode is not None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            except ChildProcessError:
                pass
        self.procs.clear()
        self._write()


REG = Registry()


def pinned(cmd, cpu):
    """Prefix `taskset -c cpu` (taskset execs, so the pid stays the command's); cpu None: no pinning."""
    if cpu is None or shutil.which("taskset") is None:
        return list(cmd)
    return ["taskset", "-c", str(cpu)] + list(cmd)


def spawn(cmd, env=None, stdout=None, stderr=None, stdin=subprocess.DEVNULL):
    """Starts cmd in its own session and registers it."""
    proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=stderr, stdin=stdin, start_new_session=True)
    REG.add(proc)
    return proc


def client_env(management_key, extra=None):
    """The environment of a child: no inherited MODELGATES_* variables, the run's management key, C locale.
    The key goes through the environment only, never on a command line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATES_")}
    env["MODELGATES_MANAGEMENT_KEY"] = management_key
    env["LC_ALL"] = "C"
    if extra:
        env.update(extra)
    return env


class Finished:
    """What a finished client run left: exit code, wall time (s), its own rusage, peak RSS, output."""

    def __init__(self, code, wall, ru, stdout, stderr, timed_out, maxrss_kib=None):
        self.code, self.wall, self.ru, self.stdout, self.stderr, self.timed_out = code, wall, ru, stdout, stderr, timed_out
        self.maxrss_kib = maxrss_kib

    @property
    def cpu_s(self):
        return self.ru.ru_utime + self.ru.ru_stime if self.ru else float("nan")

    @property
    def maxrss_mib(self):
        if self.maxrss_kib is not None:
            return self.maxrss_kib / 1024.0
        return self.ru.ru_maxrss / 1024.0 if self.ru else float("nan")


class Client:
    """A client process measured with wait4 (its own CPU time, nothing else's) and GNU time (peak RSS)."""

    def __init__(self, cmd, env, workdir, name, cpu):
        self.name = name
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        # GNU time reports the client's own peak RSS: wait4's ru_maxrss of a child forked from this
        # Python process would include Python's RSS at fork (Linux keeps the pre-exec high-water mark).
        # time's own share is ~1 MiB (its forked copy); its CPU is negligible and wait4 counts it.
        self.time_path = os.path.join(workdir, name + ".time")
        if TIME_BIN:
            cmd = [TIME_BIN, "-q", "-f", "%e %U %S %M", "-o", self.time_path] + pinned(cmd, cpu)
        else:
            cmd = pinned(cmd, cpu)
        self.started = time.monotonic()
        self.proc = spawn(cmd, env=env, stdout=self._out, stderr=self._err)
        self.ended = None
        self.status = None
        self.ru = None
        self.done = threading.Event()
        self._waiter = threading.Thread(target=self._wait, daemon=True)
        self._waiter.start()

    def _wait(self):
        try:
            _, status, ru = os.wait4(self.proc.pid, 0)
            self.ended = time.monotonic()
            self.status, self.ru = status, ru
            self.proc.returncode = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            self.ended = time.monotonic()
            self.proc.returncode = -1
        self.done.set()

    def signal(self, sig):
        """To the whole session: GNU time ignores SIGINT while it waits, the client under it does not."""
        if not self.done.is_set():
            try:
                os.killpg(self.proc.pid, sig)
            except OSError:
                pass

    def finish(self, timeout):
        """Waits up to timeout (s) for the exit, kills the session past it; returns a Finished."""
        timed_out = False
        if not self.done.wait(timeout):
            timed_out = True
            log("%s did not finish in %.0f s: killing it" % (self.name, timeout))
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.done.wait(10)
        REG.forget(self.proc)
        self._out.close()
        self._err.close()
        with open(self.out_path, "rb") as f:
            out = f.read().decode("utf-8", "replace")
        with open(self.err_path, "rb") as f:
            err = f.read().decode("utf-8", "replace")
        wall = (self.ended or time.monotonic()) - self.started
        maxrss_kib = None
        if TIME_BIN:
            try:
                with open(self.time_path) as f:
                    maxrss_kib = int(f.read().split()[-1])
            except (OSError, ValueError, IndexError):
                pass
        return Finished(self.proc.returncode, wall, self.ru, out, err, timed_out, maxrss_kib)


def run_client(cmd, env, workdir, name, cpu, timeout):
    """Runs one client to its end (or its deadline, timeout s)."""
    return Client(cmd, env, workdir, name, cpu).finish(timeout)
