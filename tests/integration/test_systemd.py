"""deploy/chopin.service: the unit verifies, and chopin run with its settings speaks the
sd_notify protocol to a fake $NOTIFY_SOCKET: READY=1 once it serves, WATCHDOG=1 pings while
WATCHDOG_USEC is set (and only for the right WATCHDOG_PID), STOPPING=1 on SIGTERM."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from lib import BIN, ROOT, Server, case, check, eq, get, run

UNIT = os.path.join(ROOT, "deploy", "chopin.service")


def unit_settings():
    """The [Service] section's settings, Environment= assignments merged."""
    env, keys = {}, {}
    section = None
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line
                continue
            if not line or line.startswith("#") or "=" not in line or section != "[Service]":
                continue
            k, v = line.split("=", 1)
            if k == "Environment":
                for a in v.split():
                    ek, ev = a.split("=", 1)
                    env[ek] = ev
            else:
                keys[k] = v
    return keys, env


class Notify:
    """A datagram socket standing in for systemd's notification socket."""

    def __init__(self, abstract=False):
        self.dir = tempfile.mkdtemp(prefix="chopin-notify-")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "chopin-test-%d" % os.getpid()
            self.sock.bind("\0" + name)
            self.addr = "@" + name
        else:
            self.addr = os.path.join(self.dir, "notify")
            self.sock.bind(self.addr)
        self.messages = []  # (time, text)

    def wait_for(self, what, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for t, m in self.messages:
                if what in m.split("\n"):
                    return t
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                break
            self.messages.append((time.time(), data.decode()))
        for t, m in self.messages:
            if what in m.split("\n"):
                return t
        return None

    def drain(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            self.sock.settimeout(max(0.01, end - time.time()))
            try:
                self.messages.append((time.time(), self.sock.recv(4096).decode()))
            except socket.timeout:
                pass

    def count(self, what):
        return sum(1 for _, m in self.messages if what in m.split("\n"))

    def close(self):
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@case
def unit_file_verifies():
    keys, env = unit_settings()
    eq(keys.get("Type"), "notify", "Type")
    eq(keys.get("KillSignal"), "SIGTERM", "KillSignal")
    check("WatchdogSec" in keys, "a watchdog")
    check("DRAIN_DELAY" in env and "SHUTDOWN_TIMEOUT" in env, "drain settings")
    # The stop timeout leaves room for the drain delay and the in-flight requests.
    secs = lambda v: float(v.rstrip("s"))  # noqa: E731
    check(secs(keys["TimeoutStopSec"]) > secs(env["DRAIN_DELAY"]) + secs(env["SHUTDOWN_TIMEOUT"]),
          "TimeoutStopSec > DRAIN_DELAY + SHUTDOWN_TIMEOUT")
    tool = shutil.which("systemd-analyze")
    if not tool:
        print("  (no systemd-analyze: unit syntax not verified)")
        return
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "chopin.service")
        with open(UNIT) as f, open(path, "w") as g:
            g.write(f.read().replace("/usr/local/bin/chopin", os.path.abspath(BIN)))
        out = subprocess.run([tool, "verify", path], capture_output=True, text=True, timeout=60)
        eq(out.returncode, 0, "systemd-analyze verify: %s" % (out.stderr or out.stdout))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_as_unit(notify, extra=None):
    keys, env = unit_settings()
    env = dict(env)
    env.pop("SERVER_PORT", None)
    env.update({"NOTIFY_SOCKET": notify.addr, "DRAIN_DELAY": "300ms",
                "WATCHDOG_USEC": "400000"})  # WatchdogSec=400ms: pings every 200 ms
    env.update(extra or {})
    return Server(workers=2, env=env)


@case
def ready_watchdog_and_stopping_with_the_units_settings():
    notify = Notify()
    s = run_as_unit(notify)
    try:
        s.start()
        t_ready = notify.wait_for("READY=1", 20)
        check(t_ready is not None, "READY=1 received: %r" % notify.messages)
        eq(get(s, "/health").status, 200, "serving once READY=1 arrived")
        ready_msg = [m for _, m in notify.messages if "READY=1" in m][0]
        check("MAINPID=%d" % s.proc.pid in ready_msg, "MAINPID: %r" % ready_msg)
        notify.drain(1.5)
        n = notify.count("WATCHDOG=1")
        check(n >= 4, "watchdog pings every WatchdogSec/2 (%d in 1.5 s)" % n)
        # The unit's access log settings are in force: JSON lines on stderr.
        lines = [line for line in s.stderr().splitlines() if line.startswith("{")]
        check(lines and json.loads(lines[-1])["path"] == "/health", "JSON access log")
        s.proc.send_signal(signal.SIGTERM)
        check(notify.wait_for("STOPPING=1", 5) is not None, "STOPPING=1 on SIGTERM")
        eq(s.proc.wait(10), 0, "clean exit")
    finally:
        s.stop()
        notify.close()


@case
def abstract_socket_and_foreign_watchdog_pid():
    notify = Notify(abstract=True)
    s = run_as_unit(notify, {"WATCHDOG_PID": "1"})  # the watchdog is for another process
    try:
        s.start()
        check(notify.wait_for("READY=1", 20) is not None, "READY=1 on an abstract socket")
        notify.drain(1.0)
        eq(notify.count("WATCHDOG=1"), 0, "no pings for another process's watchdog")
    finally:
        s.stop()
        notify.close()


@case
def no_notify_socket_no_trouble():
    with Server(env={"WATCHDOG_USEC": "100000"}) as s:
        eq(get(s, "/json").status, 200)


if __name__ == "__main__":
    run("integration/systemd")
