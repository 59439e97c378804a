"""Two front desks booking through Lightbox's network API at the same moment (python
`requests` over TLS, two paired workstations, two users, two threads released together), then
a booking from a stale view. Prints one JSON object of what each step got back.

Usage: api_booking.py BASE CA DAY ROOM START PASSWORD LOGIN1 CREDENTIAL1 ACCESSION1
                      LOGIN2 CREDENTIAL2 ACCESSION2 LATER"""

import json
import sys
import threading

import requests

base, ca, day, room, start, password = sys.argv[1:7]
desks = [sys.argv[7:10], sys.argv[10:13]]
later = sys.argv[13]
out = {}


def signed_in(login, credential):
    s = requests.Session()
    answer = s.post(base + "/api/v1/sessions", json={"login": login, "password": password},
                    headers={"Lightbox-Workstation": credential}, verify=ca, timeout=30)
    answer.raise_for_status()
    s.headers["Authorization"] = "Bearer " + answer.json()["token"]
    return s


sessions = [signed_in(login, credential) for login, credential, _ in desks]
# Each desk looks at its exam (the version it shows is the ETag).
shown = []
for s, (_, _, accession) in zip(sessions, desks):
    exam = s.get(base + "/api/v1/exams/" + accession, verify=ca, timeout=10)
    shown.append(exam.headers["ETag"])
out["rooms"] = [r["name"] for r in sessions[0].get(base + "/api/v1/rooms", verify=ca, timeout=10).json()]

# Both desks book their exam into the same room at the same time, released together.
gate = threading.Barrier(2)
results = [None, None]


def book(i):
    s = sessions[i]
    accession = desks[i][2]
    gate.wait()
    r = s.put(base + "/api/v1/exams/" + accession + "/booking",
              json={"room": int(room), "start": start, "note": "phoned in"},
              headers={"If-Match": shown[i]}, verify=ca, timeout=30)
    results[i] = {"status": r.status_code, "body": r.json(), "etag": r.headers.get("ETag")}


threads = [threading.Thread(target=book, args=(i,)) for i in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
out["race"] = results
winner = 0 if results[0]["status"] == 200 else 1
loser = 1 - winner
out["schedule"] = [
    [e["accession"], e["start"], e["family_name"], e["given_name"], e["room_name"]]
    for e in sessions[loser].get(base + "/api/v1/schedule", params={"date": day}, verify=ca, timeout=10).json()
]
# Stale view: the loser looks at the winner's exam; the winner then moves it; the loser's
# booking from what it saw is refused, and goes through once it looks again.
accession = desks[winner][2]
seen = sessions[loser].get(base + "/api/v1/exams/" + accession, verify=ca, timeout=10).headers["ETag"]
moved = sessions[winner].put(base + "/api/v1/exams/" + accession + "/booking",
                             json={"room": int(room), "start": later},
                             headers={"If-Match": results[winner]["etag"]}, verify=ca, timeout=30)
out["winner_moves"] = moved.status_code
stale = sessions[loser].put(base + "/api/v1/exams/" + accession + "/booking",
                            json={"room": int(room), "start": start},
                            headers={"If-Match": seen}, verify=ca, timeout=30)
out["stale"] = {"status": stale.status_code, "body": stale.json()}
fresh = sessions[loser].get(base + "/api/v1/exams/" + accession, verify=ca, timeout=10)
out["fresh_version"] = fresh.json()["version"]
again = sessions[loser].put(base + "/api/v1/exams/" + accession + "/booking",
                            json={"room": int(room), "start": start},
                            headers={"If-Match": fresh.headers["ETag"]}, verify=ca, timeout=30)
out["after_looking_again"] = again.status_code
out["bad_start"] = sessions[loser].put(base + "/api/v1/exams/" + accession + "/booking",
                                       json={"room": int(room), "start": "tomorrow"}, verify=ca,
                                       timeout=30).status_code
out["unknown_exam"] = sessions[loser].get(base + "/api/v1/exams/NOPE", verify=ca, timeout=10).status_code
print(json.dumps(out, ensure_ascii=False))
