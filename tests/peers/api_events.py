"""Follows Lightbox's change stream (server-sent events over TLS) as a workstation would:
signs in, opens /api/v1/events from a cursor, prints each event as a JSON line until it has
`count` of them. With --ready it prints "ready" once the stream is open (the caller then makes
a change)."""

import argparse
import json
import sys
import time

import requests

parser = argparse.ArgumentParser()
parser.add_argument("base")
parser.add_argument("ca")
parser.add_argument("login")
parser.add_argument("password")
parser.add_argument("--credential", required=True, help="the workstation's, from pairing")
parser.add_argument("--after", type=int)
parser.add_argument("--last-event-id")
parser.add_argument("--count", type=int, default=0, help="stop after this many events")
parser.add_argument("--quiet-exit", type=float, help="stop after this many seconds without an event")
parser.add_argument("--ready", action="store_true")
args = parser.parse_args()

session = requests.Session()
signed = session.post(
    args.base + "/api/v1/sessions",
    json={"login": args.login, "password": args.password},
    headers={"Lightbox-Workstation": args.credential},
    verify=args.ca,
    timeout=30,
)
signed.raise_for_status()
headers = {"Authorization": "Bearer " + signed.json()["token"], "Accept": "text/event-stream"}
if args.last_event_id is not None:
    headers["Last-Event-ID"] = args.last_event_id
params = {} if args.after is None else {"after": args.after}
stream = session.get(
    args.base + "/api/v1/events", params=params, headers=headers, verify=args.ca,
    stream=True, timeout=(10, args.quiet_exit or 60),
)
stream.raise_for_status()
if args.ready:
    print("ready", flush=True)
opened = time.monotonic()
event = {}
seen = 0
lines = stream.iter_lines(chunk_size=1, decode_unicode=True)
quiet_since = time.monotonic()


def next_line():
    try:
        return next(lines)
    except (StopIteration, requests.exceptions.ConnectionError):
        return StopIteration


while True:
    line = next_line()
    if line is StopIteration:
        break
    if args.quiet_exit and line is not None and line.startswith(":") is False and line != "":
        quiet_since = time.monotonic()
    if args.quiet_exit and time.monotonic() - quiet_since > args.quiet_exit:
        break
    if line is None:
        continue
    if line == "":
        if "data" in event:
            event["after_s"] = round(time.monotonic() - opened, 3)
            event["received_at"] = time.time()
            print(json.dumps(event, ensure_ascii=False), flush=True)
            seen += 1
            if args.count and seen >= args.count:
                break
        event = {}
        continue
    if line.startswith(":"):
        continue  # keep-alive
    field, _, value = line.partition(":")
    value = value[1:] if value.startswith(" ") else value
    if field == "data":
        event["data"] = json.loads(value)
    else:
        event[field] = value
stream.close()
sys.exit(0 if seen >= args.count else 1)
