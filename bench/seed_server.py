"""The tutorial's 服务端 (section 四.4, 多进程实现套接字并发通信), for comparison.

The server code is the seed's, statement for statement: a module-level socket
with ``SO_REUSEADDR``, ``bind``, ``listen(5)``; ``talk(conn, addr)`` recv(1024)
→ ``conn.send(data.upper())`` until the peer closes; the 链接循环 accepts and
starts one ``Process(target=talk, args=(conn, addr))`` per connection (fork, the
Linux default). What differs is only the harness a benchmark needs:

* the port comes from argv (``0`` = any free port) instead of the fixed 8088,
  and the bound address is printed;
* SIGTERM stops it: the listening socket is closed and every worker still
  alive is terminated and joined, so nothing is left behind;
* explicit names instead of ``from socket import *`` (the linter's rule).

    python -m bench.seed_server [PORT]
"""

import signal
import sys
from multiprocessing import Process, active_children
from socket import AF_INET, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET, socket


def talk(conn,addr):
    while True: #通信循环
        try:
            data=conn.recv(1024)
            if not data:break
            conn.send(data.upper())
        except Exception:  # noqa: BLE001 - the tutorial's own line
            break
    conn.close()


def stop(signum, frame):
    raise SystemExit(0)


if __name__ == '__main__':
    PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8088
    s=socket(AF_INET,SOCK_STREAM)
    s.setsockopt(SOL_SOCKET,SO_REUSEADDR,1) #就是它,在bind前加
    s.bind(('127.0.0.1',PORT))
    s.listen(5)
    print("seed server: {}:{}".format(*s.getsockname()[:2]), flush=True)
    signal.signal(signal.SIGTERM, stop)
    try:
        while True:#链接循环
            conn,addr=s.accept()
            p=Process(target=talk,args=(conn,addr))
            p.start()
    finally:
        s.close()
        workers = active_children()   # also reaps the ones that have exited
        for p in workers:
            p.terminate()
        for p in workers:
            p.join()
