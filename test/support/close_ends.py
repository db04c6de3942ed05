#!/usr/bin/env python3
"""One end of a TCP connection that ends in a chosen way, for the tcp.connection.end kernel tests.

  close_ends.py server MODE BIND_ADDRESS   listens on port 0, accepts one connection, greets it
  close_ends.py client MODE HOST PORT      connects, waits for the greeting

Each prints JSON lines on stdout: {"port": N} (server, listening), {"local_port": N} (client,
connected and greeted), {"ready": true} (client: socket options set, the test may blackhole the
peer), then {"done": ...} with how its socket ended for it. Every wait is bounded (WAIT_S); a
process told SIGUSR1 goes on to its next step (the test signals it when it has done its part).

Server modes:
  read-to-eof   read until the peer's FIN, then close (orderly)
  wait-reset    read until the connection fails (the peer's RST or a timeout), then close
  unread        wait until DATA_BYTES are queued unread, then close without reading them
  abort-on-usr1 on SIGUSR1 set SO_LINGER {1, 0} and close (a RST, whatever the state)
  last-ack-disconnect  read until the peer's FIN, print {"eof": true}; on SIGUSR1 (the test has
                made the peer's ACKs vanish) send our FIN (LAST_ACK), disconnect with
                connect(AF_UNSPEC) (no RST: nothing left unsent in LAST_ACK), then close
Client modes:
  orderly       send DATA_BYTES, close
  linger        set SO_LINGER {1, 0}, close
  unread-peer   send DATA_BYTES, then read until the connection fails
  keepalive     keepalive probes after 1 s idle, 1 s apart, 1 unanswered ends it; read until it fails
  user-timeout  TCP_USER_TIMEOUT 1000 ms; on SIGUSR1 send DATA_BYTES, read until it fails
"""
import errno
import json
import select
import signal
import socket
import struct
import sys
import time
import ctypes
import fcntl
import termios

WAIT_S = 60
DATA_BYTES = 100
GREETING = b'!'
usr1 = False


def on_usr1(_signum, _frame):
    global usr1
    usr1 = True


signal.signal(signal.SIGUSR1, on_usr1)


def say(**fields):
    print(json.dumps(fields), flush=True)


def wait_usr1():
    deadline = time.monotonic() + WAIT_S
    while not usr1:
        if time.monotonic() > deadline:
            sys.exit('no SIGUSR1 within %d s' % WAIT_S)
        time.sleep(0.01)


def read_until_failure(conn):
    """Reads until EOF or an error; returns 'eof' or the errno name."""
    conn.settimeout(WAIT_S)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return 'eof'
    except OSError as error:
        # ETIMEDOUT from the kernel is a TimeoutError too (Python 3.10+): only the socket's own
        # timeout has no errno.
        if error.errno is None:
            sys.exit('connection still open after %d s' % WAIT_S)
        return errno.errorcode.get(error.errno, str(error.errno))


def queued_bytes(conn):
    return struct.unpack('i', fcntl.ioctl(conn.fileno(), termios.FIONREAD, b'\0\0\0\0'))[0]


TCP_LAST_ACK = 9
TCPI_NOTSENT_BYTES = 144  # offset of tcpi_notsent_bytes (write_seq - snd_nxt) in struct tcp_info


def wait_fin_sent(conn):
    """Until our FIN is on the wire: the kernel may defer it (TCP small queues on a loaded host),
    and tcp_disconnect() sends a RST in LAST_ACK while anything, the FIN included, is unsent."""
    deadline = time.monotonic() + WAIT_S
    while True:
        info = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
        notsent = struct.unpack_from('I', info, TCPI_NOTSENT_BYTES)[0]
        if info[0] == TCP_LAST_ACK and notsent == 0:
            return
        if time.monotonic() > deadline:
            sys.exit('FIN not sent within %d s (state %d, %d unsent)' % (WAIT_S, info[0], notsent))
        time.sleep(0.01)


def disconnect(conn):
    """connect(AF_UNSPEC): tcp_disconnect(), which Python's connect() cannot ask for."""
    libc = ctypes.CDLL(None, use_errno=True)
    unspec = ctypes.create_string_buffer(16)  # sa_family 0: AF_UNSPEC
    if libc.connect(conn.fileno(), unspec, len(unspec)) != 0:
        sys.exit('connect(AF_UNSPEC) failed: errno %d' % ctypes.get_errno())


def server(mode, bind):
    family = socket.AF_INET6 if ':' in bind else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((bind, 0))
    listener.listen(1)
    say(port=listener.getsockname()[1])
    listener.settimeout(WAIT_S)
    conn, _peer = listener.accept()
    listener.close()
    conn.sendall(GREETING)
    if mode == 'read-to-eof':
        say(done=read_until_failure(conn))
        conn.close()
    elif mode == 'wait-reset':
        say(done=read_until_failure(conn))
        conn.close()
    elif mode == 'unread':
        deadline = time.monotonic() + WAIT_S
        while queued_bytes(conn) < DATA_BYTES:
            if time.monotonic() > deadline:
                sys.exit('the data did not arrive within %d s' % WAIT_S)
            select.select([conn], [], [], 0.01)
        conn.close()
        say(done='closed-unread')
    elif mode == 'abort-on-usr1':
        wait_usr1()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        conn.close()
        say(done='aborted')
    elif mode == 'last-ack-disconnect':
        if read_until_failure(conn) != 'eof':
            sys.exit('expected the peer to close first')
        say(eof=True)
        wait_usr1()
        conn.shutdown(socket.SHUT_WR)
        wait_fin_sent(conn)
        disconnect(conn)
        conn.close()
        say(done='disconnected')
    else:
        sys.exit('unknown server mode ' + mode)


def client(mode, host, port):
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    conn = socket.socket(family, socket.SOCK_STREAM)
    conn.settimeout(WAIT_S)
    conn.connect((host, port))
    if conn.recv(1) != GREETING:
        sys.exit('no greeting')
    say(local_port=conn.getsockname()[1])
    if mode == 'orderly':
        conn.sendall(b'x' * DATA_BYTES)
        conn.close()
        say(done='closed')
    elif mode == 'linger':
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        conn.close()
        say(done='aborted')
    elif mode == 'unread-peer':
        conn.sendall(b'x' * DATA_BYTES)
        say(done=read_until_failure(conn))
        conn.close()
    elif mode == 'keepalive':
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 1)
        say(ready=True)
        say(done=read_until_failure(conn))
        conn.close()
    elif mode == 'user-timeout':
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 1000)
        say(ready=True)
        wait_usr1()
        conn.sendall(b'x' * DATA_BYTES)
        say(done=read_until_failure(conn))
        conn.close()
    else:
        sys.exit('unknown client mode ' + mode)


if __name__ == '__main__':
    if sys.argv[1] == 'server':
        server(sys.argv[2], sys.argv[3])
    else:
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]))
