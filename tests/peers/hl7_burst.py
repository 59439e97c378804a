"""Sends N ORM^O01 messages over C connections (MLLP, one message at a time per connection,
waiting for each ACK) and prints each acknowledged control id with its MSA-1 as it arrives,
then the rate. Used by the kill -9 test and the intake benchmark."""

import argparse
import socket
import sys
import threading
import time


def message(prefix, n):
    control = f"{prefix}{n:06d}"
    return control, (
        f"MSH|^~\\&|BURST|NORTHCLINIC|LIGHTBOX|RADPRACTICE|20261127083000||ORM^O01|{control}|P|2.3\r"
        f"PID|1||B{n:06d}^^^NORTHCLINIC^MR||BURST^PATIENT{n}||19700315|F\r"
        f"ORC|NW|{control}^BURST|||SC||^^^20261130090000^^R\r"
        f"OBR|1|{control}^BURST||72148^MRI LUMBAR SPINE WO CONTRAST^CPT4|||||||||Back pain\r"
    )


def read_ack(sock, buffer):
    while b"\x1c\x0d" not in buffer:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        buffer += data
    frame, rest = buffer.split(b"\x1c\x0d", 1)
    return frame.lstrip(b"\x0b").decode("utf-8", "replace"), rest


def sender(host, port, numbers, prefix, lock, out):
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = b""
    try:
        for n in numbers:
            control, text = message(prefix, n)
            sock.sendall(b"\x0b" + text.encode() + b"\x1c\x0d")
            ack, buffer = read_ack(sock, buffer)
            msa = [s for s in ack.split("\r") if s.startswith("MSA|")]
            code = msa[0].split("|")[1] if msa else "??"
            with lock:
                out.write(f"{control} {code}\n")
                out.flush()
    except (ConnectionError, OSError):
        pass
    finally:
        sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--prefix", default="K")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    lock = threading.Lock()
    out = open("/dev/null", "w") if args.quiet else sys.stdout
    threads = []
    start = time.perf_counter()
    for c in range(args.connections):
        numbers = range(c, args.count, args.connections)
        t = threading.Thread(target=sender, args=(args.host, args.port, numbers, args.prefix, lock, out))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    sys.stderr.write(f"rate {args.count / seconds:.1f} messages/s over {args.connections} connections\n")


if __name__ == "__main__":
    main()
