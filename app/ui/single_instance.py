"""One Switchboard per data folder: a lock file, and a local socket to bring the first forward.

    lock = _acquire_instance_lock(data_dir)   # app.main, before the first paint (QtCore only)
    if lock == "already-running":
        forward_to_running_instance(data_dir)  # the first window comes forward; this one exits 0
    ...
    server = InstanceServer(data_dir, on_raise)  # after the first paint (QtNetwork loads then)

The lock is a `QLockFile` (`switchboard.lock` in the data folder) holding the owner's PID: a lock
left by a process killed with SIGKILL is stale (its PID is gone) and is taken over. The server's
name is derived from a hash of the resolved data-folder path, so two folders never collide and a
path never leaks into /tmp names; a socket file left by a killed process is removed before
listening.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

_RAISE = b"raise\n"
_OK = b"ok\n"


def server_name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(data_dir.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return f"switchboard-{digest[:24]}"


def forward_to_running_instance(data_dir: Path, *, timeout: float = 10.0) -> bool:
    """Ask the instance holding the lock to bring its window forward; True once it answered.

    The first instance starts its server just after its first paint, so a second start in that
    moment retries until `timeout`.
    """
    from PySide6.QtNetwork import QLocalSocket

    deadline = time.monotonic() + timeout
    name = server_name(data_dir)
    while True:
        socket = QLocalSocket()
        socket.connectToServer(name)
        if socket.waitForConnected(1000):
            socket.write(_RAISE)
            socket.waitForBytesWritten(1000)
            answered = socket.waitForReadyRead(3000) and bytes(socket.readAll().data()) == _OK
            socket.disconnectFromServer()
            if answered:
                return True
        socket.abort()
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)  # not listening yet (it is still painting its first window)


class InstanceServer(QObject):
    """Listens for later starts on the same data folder and calls `on_raise` for each."""

    def __init__(self, data_dir: Path, on_raise: Callable[[], None]) -> None:
        super().__init__()
        from PySide6.QtNetwork import QLocalServer

        self._on_raise = on_raise
        self.name = server_name(data_dir)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        # We hold the lock, so a socket left under this name is a killed process's.
        QLocalServer.removeServer(self.name)
        self.listening = self._server.listen(self.name)
        self._server.newConnection.connect(self._accept)
        self._clients: list[Any] = []

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            client = self._server.nextPendingConnection()
            self._clients.append(client)
            client.readyRead.connect(lambda c=client: self._read(c))
            client.disconnected.connect(lambda c=client: self._forget(c))

    def _read(self, client: Any) -> None:
        if bytes(client.readAll().data()).startswith(_RAISE.strip()):
            self._on_raise()
            client.write(_OK)
            client.flush()

    def _forget(self, client: Any) -> None:
        if client in self._clients:
            self._clients.remove(client)
        client.deleteLater()

    def close(self) -> None:
        self._server.close()
