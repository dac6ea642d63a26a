# SPDX-License-Identifier: AGPL-3.0-or-later
"""Start a program the way systemd starts a socket-activated service: listening sockets the
caller bound are passed as descriptors 3, 4, ... with LISTEN_FDS, LISTEN_FDNAMES and
LISTEN_PID (the started process's own pid, which which a shell that execs knows)."""

import os
import socket
import subprocess

SD_LISTEN_FDS_START = 3


def listening_socket(host="127.0.0.1", port=0, family=socket.AF_INET) -> socket.socket:
    """A bound, listening TCP socket, as a socket unit's ListenStream= would make."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    return sock


def start_with_sockets(argv, named_sockets, env=None, **popen_args) -> subprocess.Popen:
    """Runs argv with `named_sockets` (a list of (name, socket) in descriptor order) passed
    by name. The sockets stay open in the caller, as systemd keeps them."""
    args, child_env, fds = activated_command(argv, named_sockets, env)
    return subprocess.Popen(args, env=child_env, pass_fds=fds, **popen_args)


def activated_command(argv, named_sockets, env=None):
    """(args, env, pass_fds) for subprocess.Popen that start argv as start_with_sockets does,
    for callers that start the process their own way."""
    fds = [sock.fileno() for _, sock in named_sockets]
    names = ":".join(name for name, _ in named_sockets)
    # In the child, bash moves each socket to 3, 4, ... by way of free high numbers (a socket
    # may already sit on a target number), sets LISTEN_PID=$$ and execs, keeping its pid.
    high = max(fds, default=0) + 10
    moves = [f"{high + i}<&{fd}" for i, fd in enumerate(fds)]
    moves += [f"{SD_LISTEN_FDS_START + i}<&{high + i} {high + i}<&-" for i in range(len(fds))]
    script = f'LISTEN_PID=$$ LISTEN_FDS={len(fds)} LISTEN_FDNAMES="$NAMES" exec "$@" ' + \
        " ".join(moves)
    child_env = dict(os.environ if env is None else env)
    child_env["NAMES"] = names
    return ["/bin/bash", "-c", script, "bash", *argv], child_env, fds
