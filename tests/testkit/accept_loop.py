# SPDX-License-Identifier: AGPL-3.0-or-later
"""The accept loop of the test servers: a daemon thread that hands every connection to a
callback until the listener is closed."""

import threading


def accept_in_background(listener, on_connection):
    """Calls on_connection(socket) for each accepted connection, on a daemon thread, until
    `listener` is closed."""
    def loop():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            on_connection(conn)
    threading.Thread(target=loop, daemon=True).start()
