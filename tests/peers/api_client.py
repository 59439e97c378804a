"""An independent client of Lightbox's network API (python `requests` over TLS), as a
workstation or a script would be: prints one JSON object of what each step got back."""

import json
import sys

import requests

base, ca, login, password = sys.argv[1:5]
search = sys.argv[5]
credential = sys.argv[6]
out = {}


def status_of(call):
    try:
        return call().status_code
    except requests.exceptions.SSLError:
        return "tls-refused"
    except requests.exceptions.ConnectionError:
        return "connection-refused"


# Plain HTTP on the API's port: there is no HTTP there, only TLS.
out["plain_http"] = status_of(lambda: requests.get(base.replace("https://", "http://") + "/api/v1/me", timeout=10))
# TLS without the practice's CA pinned: the server's certificate is not trusted.
out["unpinned"] = status_of(lambda: requests.get(base + "/api/v1/me", timeout=10))
# The CA on every call: requests lets REQUESTS_CA_BUNDLE override a session's own `verify`.
class Pinned:
    def __init__(self):
        self.session = requests.Session()

    def __getattr__(self, method):
        return lambda url, **kw: getattr(self.session, method)(url, verify=ca, **kw)


api = Pinned()
# Signing in needs a paired workstation's credential: without it, or with a made-up one, 401.
out["unpaired_sign_in"] = api.post(
    base + "/api/v1/sessions", json={"login": login, "password": password}, timeout=30
).status_code
out["forged_workstation"] = api.post(
    base + "/api/v1/sessions", json={"login": login, "password": password},
    headers={"Lightbox-Workstation": credential.split(".")[0] + ".00"}, timeout=30,
).status_code
api.session.headers["Lightbox-Workstation"] = credential
out["no_token"] = api.get(base + "/api/v1/patients", params={"search": search}, timeout=10).status_code
out["forged_token"] = api.get(
    base + "/api/v1/me", headers={"Authorization": "Bearer " + "0" * 64}, timeout=10
).status_code
wrong = api.post(base + "/api/v1/sessions", json={"login": login, "password": password + "x"}, timeout=30)
out["wrong_password"] = wrong.status_code
out["wrong_password_says"] = wrong.json().get("error", "")
signed = api.post(base + "/api/v1/sessions", json={"login": login, "password": password}, timeout=30)
out["sign_in"] = signed.status_code
token = signed.json()["token"]
out["expires_at"] = signed.json()["expires_at"]
auth = {"Authorization": "Bearer " + token}
out["me"] = api.get(base + "/api/v1/me", headers=auth, timeout=10).json()
found = api.get(base + "/api/v1/patients", params={"search": search}, headers=auth, timeout=10)
out["search"] = found.status_code
out["patients"] = [(p["mrn"], p["family_name"], p["given_name"]) for p in found.json()]
out["sign_out"] = api.delete(base + "/api/v1/sessions/current", headers=auth, timeout=10).status_code
out["after_sign_out"] = api.get(base + "/api/v1/me", headers=auth, timeout=10).status_code
# A second session, for the caller to revoke by disabling the account.
second = api.post(base + "/api/v1/sessions", json={"login": login, "password": password}, timeout=30)
out["second_token"] = second.json()["token"]
print(json.dumps(out, ensure_ascii=False))
