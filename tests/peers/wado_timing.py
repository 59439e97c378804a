"""Times what a reading station waits for over WADO-RS (python `requests`): the first image
(one instance, the slice shown first) and the whole series (one multipart response, read to
its end). Prints {"first_ms", "series_s", "series_mb", "status"}.

Usage: wado_timing.py SERIES_URL INSTANCE_URL ACCEPT [--user U --password P] [--ca FILE]"""

import argparse
import json
import time

import requests

ap = argparse.ArgumentParser()
ap.add_argument("series")
ap.add_argument("instance")
ap.add_argument("accept")
ap.add_argument("--user")
ap.add_argument("--password")
ap.add_argument("--ca")
a = ap.parse_args()
s = requests.Session()
s.trust_env = False
if a.user:
    s.auth = (a.user, a.password)
verify = a.ca if a.ca else True
headers = {"Accept": a.accept}
# One request first so the connection (and TLS, and sign-in) is up, as on a station in use.
s.get(a.instance, headers=headers, verify=verify, timeout=300).content
t = time.perf_counter()
one = s.get(a.instance, headers=headers, verify=verify, timeout=300)
body = one.content
first_ms = (time.perf_counter() - t) * 1000
t = time.perf_counter()
total = 0
with s.get(a.series, headers=headers, verify=verify, timeout=600, stream=True) as r:
    status = r.status_code
    for chunk in r.iter_content(1 << 20):
        total += len(chunk)
series_s = time.perf_counter() - t
print(json.dumps({"first_ms": round(first_ms, 1), "series_s": round(series_s, 2),
                  "series_mb": round(total / 1e6, 1), "status": status, "first_status": one.status_code}))
