"""The daphne process under test: started on a free 127.0.0.1 port, always stopped."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
#: One key for every server of a run (``DEBUG=0`` refuses to start without one).
RUN_SECRET_KEY = secrets.token_urlsafe(50)


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def read_rss_kb(pid: int) -> int:
    """Return the resident set size of ``pid`` in KiB, from ``/proc/<pid>/status``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"No VmRSS line for pid {pid}")


def read_cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds used by ``pid``, from ``/proc/<pid>/stat``."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name (which may hold spaces) start at field 3.
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


class Server:
    """One daphne process serving ``bench.asgi:application``."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
        args: list[str] | None = None,
    ) -> None:
        self.extra_env = dict(env or {})
        self.extra_args = list(args or [])  # more daphne options, e.g. ``--proxy-headers``
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)

    @property
    def pid(self) -> int:
        """The daphne process id."""
        assert self.process is not None
        return self.process.pid

    @property
    def origin(self) -> str:
        """The ``Origin`` a page served by this server would send."""
        return f"http://{HOST}:{self.port}"

    def start(self) -> Server:
        """Start daphne and wait until it accepts connections."""
        self.port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            # Production settings need a key; plain HTTP on 127.0.0.1 needs no HTTPS redirect.
            "SECRET_KEY": os.environ.get("SECRET_KEY") or RUN_SECRET_KEY,
            "LIVE_HTTPS": "0",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        command = [sys.executable, "-m", "daphne", "-b", HOST, "-p", str(self.port)]
        command += ["-v", "0", *self.extra_args, "bench.asgi:application"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"daphne exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                with socket.create_connection((HOST, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"daphne did not listen within {self.startup_timeout} s:\n{self.output()}"
        )

    def stop(self) -> None:
        """Stop daphne (terminate, then kill after 10 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def output(self, limit: int | None = 4000) -> str:
        """Return what daphne printed (its last ``limit`` characters)."""
        self.log.flush()
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")
        return text if limit is None else text[-limit:]

    def rss_kb(self) -> int:
        """Return daphne's resident set size in KiB."""
        return read_rss_kb(self.pid)

    def cpu_seconds(self) -> float:
        """Return daphne's CPU seconds so far."""
        return read_cpu_seconds(self.pid)

    def __enter__(self) -> Server:
        try:
            return self.start()
        except BaseException:
            self.stop()
            self.log.close()
            raise

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self.log.close()
