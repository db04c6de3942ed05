#!/usr/bin/env python3
"""Produces one TCP anomaly for real and prints JSON lines about it (tcp_anomalies kernel tests).

  server HOST MODE       listen on HOST (port from the kernel), print {"port"}, accept one
                         connection, then per MODE: `send` (send 100 bytes, then read until EOF),
                         `read` (read until EOF), `hold` (read until EOF, then keep the connection
                         open for 3 s), `silent` (never read; SO_RCVBUF small), each bounded in
                         time; print {"done"}
  refused HOST PORT      connect to a closed port: {"pid", "error"}
  linger HOST PORT       connect, close with SO_LINGER {1, 0}: {"pid", "local_port"}
  linger2 HOST PORT      connect, TCP_LINGER2 -1, shutdown(SHUT_WR), wait for FIN_WAIT2, close
  unread HOST PORT       connect, wait for the server's 100 bytes, close without reading them
  data HOST PORT         connect, send 100 bytes, wait (bounded) until the peer acknowledged them,
                         print {"pid", "local_port", "total_retrans"} from TCP_INFO
  flood HOST PORT        connect, send without blocking for 3 s: {"pid", "local_port", "sent"}
Every wait is bounded; the process exits on its own.
"""
import errno
import json
import os
import select
import socket
import struct
import sys
import time

DEADLINE = 20.0


def say(**fields):
    print(json.dumps(fields), flush=True)


TCP_FIN_WAIT2 = 5


def tcp_info(sock):
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    # struct tcp_info: 8 u8 fields (tcpi_state first), then u32 fields; tcpi_unacked is the 5th
    # u32, tcpi_total_retrans the 24th.
    u32 = struct.unpack_from('24I', raw, 8)
    return {'state': raw[0], 'unacked': u32[4], 'total_retrans': u32[23]}


def family_of(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET


def server(host, mode):
    listener = socket.socket(family_of(host), socket.SOCK_STREAM)
    if mode == 'silent':
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind((host, 0))
    listener.listen(8)
    say(port=listener.getsockname()[1], pid=os.getpid())
    listener.settimeout(DEADLINE)
    conn, _ = listener.accept()
    end = time.time() + DEADLINE
    if mode == 'send':
        conn.sendall(b'x' * 100)
    if mode == 'silent':
        time.sleep(float(os.environ.get('SILENT_SECONDS', '6')))
    else:
        conn.settimeout(1.0)
        while time.time() < end:
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not chunk:
                break
    if mode == 'hold':
        time.sleep(3)
    say(done=True)
    conn.close()


def connect(host, port):
    sock = socket.socket(family_of(host), socket.SOCK_STREAM)
    sock.settimeout(DEADLINE)
    sock.connect((host, port))
    return sock


def main():
    what = sys.argv[1]
    host = sys.argv[2]
    if what == 'server':
        server(host, sys.argv[3])
        return
    port = int(sys.argv[3])
    if what == 'refused':
        sock = socket.socket(family_of(host), socket.SOCK_STREAM)
        error = ''
        try:
            sock.connect((host, port))
        except OSError as e:
            error = errno.errorcode.get(e.errno, str(e.errno))
        say(pid=os.getpid(), error=error)
    elif what == 'linger':
        sock = connect(host, port)
        local_port = sock.getsockname()[1]
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        sock.close()
        say(pid=os.getpid(), local_port=local_port)
    elif what == 'linger2':
        sock = connect(host, port)
        local_port = sock.getsockname()[1]
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_LINGER2, -1)
        sock.shutdown(socket.SHUT_WR)
        end = time.time() + DEADLINE
        while tcp_info(sock)['state'] != TCP_FIN_WAIT2 and time.time() < end:
            time.sleep(0.01)
        state = tcp_info(sock)['state']
        sock.close()
        say(pid=os.getpid(), local_port=local_port, fin_wait2=state == TCP_FIN_WAIT2)
    elif what == 'unread':
        sock = connect(host, port)
        local_port = sock.getsockname()[1]
        # the 100 bytes are in the receive queue once select says readable; they are never read
        readable, _, _ = select.select([sock], [], [], DEADLINE)
        sock.close()
        say(pid=os.getpid(), local_port=local_port, had_data=bool(readable))
    elif what == 'data':
        sock = connect(host, port)
        local_port = sock.getsockname()[1]
        say(pid=os.getpid(), local_port=local_port)
        sock.sendall(b'y' * 100)
        end = time.time() + DEADLINE
        info = tcp_info(sock)
        while info['unacked'] != 0 and time.time() < end:
            time.sleep(0.02)
            info = tcp_info(sock)
        say(pid=os.getpid(), local_port=local_port, unacked=info['unacked'], total_retrans=info['total_retrans'])
        sock.close()
    elif what == 'flood':
        sock = connect(host, port)
        local_port = sock.getsockname()[1]
        sock.setblocking(False)
        sent = 0
        end = time.time() + 3.0
        while time.time() < end:
            try:
                sent += sock.send(b'z' * 65536)
            except BlockingIOError:
                time.sleep(0.01)
        say(pid=os.getpid(), local_port=local_port, sent=sent)
        # stay until the silent server closed (its own bound), so the flow's probes go on
        time.sleep(float(os.environ.get('FLOOD_LINGER_SECONDS', '0')))
        sock.close()
    else:
        raise SystemExit(f'unknown probe {what}')


if __name__ == '__main__':
    main()
