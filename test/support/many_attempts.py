#!/usr/bin/env python3
"""Many connects pending at once, then abandoned.

many_attempts.py HOST PORT COUNT [REFUSED_PORT]: starts COUNT non-blocking connects to HOST:PORT
(which must not answer: each socket stays in SYN_SENT), prints {"pending": COUNT, "pid": PID,
"ports": [local port of each, in order]} once every SYN is out. With REFUSED_PORT, then makes one
blocking connect to HOST:REFUSED_PORT (which must answer with a RST) while those are pending and
prints {"refused": errno name it returned, "port": its local port}. Then closes every socket and
prints {"closed": COUNT}. A connect that does not return EINPROGRESS prints
{"error": NAME, "at": i} and exits 1."""
import errno
import json
import os
import socket
import sys

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
refused_port = int(sys.argv[4]) if len(sys.argv) > 4 else None
sockets = []
for i in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    result = s.connect_ex((host, port))
    if result != errno.EINPROGRESS:
        print(json.dumps({"error": errno.errorcode.get(result, str(result)), "at": i}), flush=True)
        sys.exit(1)
    sockets.append(s)
print(json.dumps({"pending": count, "pid": os.getpid(), "ports": [s.getsockname()[1] for s in sockets]}), flush=True)
if refused_port is not None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("0.0.0.0", 0))
    local_port = s.getsockname()[1]
    result = s.connect_ex((host, refused_port))
    s.close()
    print(json.dumps({"refused": errno.errorcode.get(result, str(result)), "port": local_port}), flush=True)
for s in sockets:
    s.close()
print(json.dumps({"closed": count}), flush=True)
