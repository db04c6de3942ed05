#!/usr/bin/env python3
"""Many connects pending at once, then abandoned.

many_attempts.py HOST PORT COUNT: starts COUNT non-blocking connects to HOST:PORT (which must
not answer: each socket stays in SYN_SENT), prints {"pending": COUNT} once every SYN is out,
closes every socket and prints {"closed": COUNT}. A connect that does not return EINPROGRESS
prints {"error": NAME, "at": i} and exits 1."""
import errno
import json
import socket
import sys

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sockets = []
for i in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    result = s.connect_ex((host, port))
    if result != errno.EINPROGRESS:
        print(json.dumps({"error": errno.errorcode.get(result, str(result)), "at": i}), flush=True)
        sys.exit(1)
    sockets.append(s)
print(json.dumps({"pending": count}), flush=True)
for s in sockets:
    s.close()
print(json.dumps({"closed": count}), flush=True)
