"""Start a private `redis-server` (append-only, data under a folder of ours) and stop it again.

`make run` uses it when REDIS_URL is not set, and the test suite uses the same class for its
fixture, so the server the tests talk to is started exactly the way production's is.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


class RedisServerError(RuntimeError):
    """redis-server is missing or did not come up."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One redis-server process bound to loopback with its data in `data_dir`."""

    def __init__(
        self, data_dir: Path, port: int | None = None, unix_socket: Path | None = None, appendonly: bool = True
    ) -> None:
        self.data_dir = Path(data_dir)
        self.unix_socket = Path(unix_socket) if unix_socket else None
        self.port = 0 if self.unix_socket else (port or free_port())
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.unix_socket:
            return f"unix://{self.unix_socket}?db=0"
        return f"redis://127.0.0.1:{self.port}/0"

    def _client(self) -> redis.Redis:
        if self.unix_socket:
            return redis.Redis(unix_socket_path=str(self.unix_socket), socket_connect_timeout=0.2)
        return redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)

    def is_running(self) -> bool:
        """True when a server already answers at this address (e.g. another `make run`)."""
        client = self._client()
        try:
            return bool(client.ping())
        except (redis.ConnectionError, OSError):
            return False
        finally:
            client.close()

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server and wait until it answers PING."""
        binary = shutil.which("redis-server")
        if not binary:
            raise RedisServerError(
                "redis-server was not found: install it (Debian/Ubuntu: apt-get install redis-server) "
                "or set REDIS_URL to a running Redis"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "redis.log"),
        ]
        if self.unix_socket:
            args += ["--unixsocket", str(self.unix_socket), "--unixsocketperm", "700"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = self._client()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RedisServerError(f"redis-server exited at start; see {self.data_dir / 'redis.log'}")
                try:
                    if client.ping():
                        return self
                except (redis.ConnectionError, OSError):
                    time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise RedisServerError(f"redis-server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the server; with append-only on, everything written is on disk afterwards."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
