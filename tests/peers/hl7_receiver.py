"""An HL7 receiver for tests: listens for MLLP, parses every message with python `hl7`, logs
what it read as one JSON line per message, and answers as its script says, one action per
message received: AA, AE (with an ERR reason), drop (close without answering), silent (answer
nothing), stale (answer with an ACK for another message's control id, then nothing).
After the script runs out every message gets AA."""

import argparse
import json
import socket
import sys

import hl7


def fields(m):
    """What the tests check, read by this peer (not by Lightbox)."""
    out = {"control": str(m.segment("MSH")[10]), "type": str(m.segment("MSH")[9]),
           "version": str(m.segment("MSH")[12])}
    def get(seg, n):
        try:
            return str(m.segment(seg)[n])
        except (KeyError, IndexError):
            return ""
    out["pid3"] = get("PID", 3)
    for seg, n in [("ORC", 1), ("ORC", 2), ("ORC", 3), ("ORC", 5), ("OBR", 2), ("OBR", 3),
                   ("OBR", 4), ("OBR", 18), ("OBR", 25), ("OBR", 32), ("FT1", 7), ("FT1", 10),
                   ("FT1", 11), ("FT1", 19), ("FT1", 25), ("EVN", 1)]:
        out[f"{seg.lower()}{n}"] = get(seg, n)
    try:
        obx = m.segments("OBX")
    except KeyError:
        obx = []
    out["obx_types"] = [str(s[2]) for s in obx]
    out["obx_status"] = [str(s[11]) for s in obx]
    out["obx"] = [m.unescape(str(s[5])) for s in obx]
    return out


def answer(m, code, control=None):
    msh = m.segment("MSH")
    control = control or str(msh[10])
    ack = f"MSH|^~\\&|{msh[5]}|{msh[6]}|{msh[3]}|{msh[4]}|20261128000000||ACK^{msh[9][0][1] if len(msh[9][0]) > 1 else ''}^ACK|R{control}|P|{msh[12]}\r"
    ack += f"MSA|{code}|{control}\r"
    if code != "AA":
        ack += "ERR||OBR^1^25|103^Table value not found^HL70357|E||||receiver refuses this result\r"
    return b"\x0b" + ack.encode() + b"\x1c\x0d"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--script", default="")
    args = ap.parse_args()
    script = [a for a in args.script.split(",") if a]
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.getsockname()[1]))
    import os
    os.replace(args.port_file + ".tmp", args.port_file)
    log = open(args.log, "a")
    while True:
        conn, _ = server.accept()
        buffer = b""
        open_ = True
        while open_:
            data = conn.recv(65536)
            if not data:
                break
            buffer += data
            while b"\x1c\x0d" in buffer:
                frame, buffer = buffer.split(b"\x1c\x0d", 1)
                text = frame.lstrip(b"\x0b").decode("utf-8")
                try:
                    m = hl7.parse(text)
                    record = fields(m)
                except Exception as e:  # a message the peer cannot parse is a test failure
                    record = {"error": repr(e), "raw": text}
                    m = None
                action = script.pop(0) if script else "AA"
                record["action"] = action
                record["raw"] = text
                log.write(json.dumps(record) + "\n")
                log.flush()
                if m is None:
                    continue
                if action in ("AA", "AE", "AR"):
                    conn.sendall(answer(m, action))
                elif action == "stale":
                    conn.sendall(answer(m, "AA", control="STALE0001"))
                elif action == "drop":
                    conn.close()
                    open_ = False
                    break
        try:
            conn.close()
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
