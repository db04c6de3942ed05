#!/usr/bin/env python3
"""Short-lived cgroups, each making one loopback TCP connection, for the series-churn test.

usage: cgroup_churn.py BASE_DIR   (run inside BASE_DIR/home, the cgroup it returns to)
Listens on 127.0.0.1 (the listener, and so every accepted socket, stays in BASE_DIR/home).
Commands on stdin, one JSON line of answer on stdout each:
  churn N  -> N times: mkdir BASE_DIR/cN, move in, connect + one byte each way, move back home,
              both ends closed, rmdir. Answers {"ids": [inode of each cgroup, in order]}.
  hold     -> the same, but the connection stays open after its cgroup is removed: {"id": inode}
  release  -> closes the held connection: {}
  connect DIR... -> one connection from inside each existing cgroup DIR (left in place): {}
One process moving itself between cgroups (0.5 ms a round) instead of one process per cgroup:
a socket belongs to the cgroup its creator was in when it was created.
"""
import json, os, socket, sys

base = sys.argv[1]
home = os.path.join(base, "home")
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(512)
address = listener.getsockname()
counter = 0
held = []


def move(cgroup_dir):
    with open(os.path.join(cgroup_dir, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))


def one_connection(keep_open, existing=None):
    """Returns the inode (cgroup id) of the cgroup the client socket was created in."""
    global counter
    if existing is None:
        counter += 1
        directory = os.path.join(base, "c%d" % counter)
        os.mkdir(directory)
    else:
        directory = existing
    cgroup_id = os.stat(directory).st_ino
    move(directory)
    try:
        client = socket.create_connection(address, timeout=10)
    finally:
        move(home)
    server, _ = listener.accept()
    server.settimeout(10)
    client.sendall(b"x")
    server.recv(1)
    server.sendall(b"y")
    client.recv(1)
    if keep_open:
        held.extend([client, server])
    else:
        server.close()
        client.recv(1)  # EOF: the server's FIN arrived
        client.close()
    if existing is None:
        os.rmdir(directory)
    return cgroup_id


for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "churn":
        ids = [one_connection(False) for _ in range(int(words[1]))]
        print(json.dumps({"ids": ids}), flush=True)
    elif words[0] == "hold":
        print(json.dumps({"id": one_connection(True)}), flush=True)
    elif words[0] == "connect":
        for directory in words[1:]:
            one_connection(False, directory)
        print(json.dumps({}), flush=True)
    elif words[0] == "release":
        for s in held:
            s.close()
        held.clear()
        print(json.dumps({}), flush=True)
