"""`ServerThread`: an HTTP server of the test suite (the Hub emulator, the Space host) served from a daemon thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from socketserver import BaseServer


class ServerThread:
    """Starts a server in a daemon thread (once) and stops it: shut down, closed, its connections dropped."""

    def __init__(self, name: str):
        self.name = name
        self.server: BaseServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.server is not None

    def start(self, make_server: Callable[[], BaseServer]) -> int:
        """Serve ``make_server()`` unless already serving; returns the port it listens on."""
        if self.server is None:
            self.server = make_server()
            self._thread = threading.Thread(
                target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
            )
            self._thread.start()
        return self.server.server_address[1]

    def stop(self) -> None:
        server, thread, self.server, self._thread = self.server, self._thread, None, None
        if server is not None:
            server.shutdown()
            server.server_close()
            close_connections = getattr(server, "close_connections", None)
            if close_connections is not None:  # the Hub emulator can drop open connections (go_down)
                close_connections()
        if thread is not None:
            thread.join(timeout=5)
