#!/usr/bin/env python3
"""One TCP connect attempt with a blocking or non-blocking socket, for handshake tests.

usage: connect_probe.py HOST PORT blocking|nonblocking TIMEOUT_S [PRELOAD_UDP_BYTES]
Prints {"pid", "fd", "error" (errno name or ""), "elapsed"} as one JSON line.
PRELOAD sends one UDP datagram of that many payload bytes to HOST:9 first (to drain a tbf bucket).
"""
import errno, json, os, select, socket, sys, time

host, port, mode, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
preload = int(sys.argv[5]) if len(sys.argv) > 5 else 0
family = socket.AF_INET6 if ":" in host else socket.AF_INET
if preload:
    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.sendto(b"x" * preload, (host, 9))
    udp.close()
s = socket.socket(family, socket.SOCK_STREAM)
fd = s.fileno()
start = time.monotonic()
err = 0
if mode == "blocking":
    try:
        s.connect((host, port))
    except OSError as e:
        err = e.errno
else:
    s.setblocking(False)
    err = s.connect_ex((host, port))
    if err == errno.EINPROGRESS:
        select.select([], [s], [], timeout)
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
elapsed = time.monotonic() - start
print(json.dumps({"pid": os.getpid(), "fd": fd, "error": errno.errorcode.get(err, str(err)) if err else "", "elapsed": elapsed}), flush=True)
s.close()
