"""Times QIDO-RS study searches against Lightbox over one kept-alive TLS connection (python
`requests`, HTTP Basic): prints {"median_ms": .., "p90_ms": .., "matches": ..}.
Usage: qido_timing.py BASE CA LOGIN PASSWORD ROUNDS KEY=VALUE..."""

import json
import statistics
import sys
import time

import requests

base, ca, login, password, rounds = sys.argv[1:6]
params = dict(a.split("=", 1) for a in sys.argv[6:])
s = requests.Session()
s.auth = (login, password)
s.trust_env = False
times = []
matches = 0
for i in range(int(rounds) + 3):
    t = time.perf_counter()
    r = s.get(base + "/dicomweb/studies", params=params, verify=ca, timeout=60)
    elapsed = (time.perf_counter() - t) * 1000
    if r.status_code not in (200, 204):
        raise SystemExit(f"QIDO-RS answered {r.status_code}: {r.text}")
    matches = len(r.json()) if r.status_code == 200 else 0
    if i >= 3:  # the first requests open the connection and sign in
        times.append(elapsed)
times.sort()
print(json.dumps({"median_ms": statistics.median(times), "p90_ms": times[int(len(times) * 0.9) - 1], "matches": matches}))
