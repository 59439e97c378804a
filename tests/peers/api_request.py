"""One request to Lightbox's network API (python `requests`, the practice CA pinned): prints
{"status": N, "body": ...}. Usage: api_request.py METHOD URL CA [HEADER:VALUE ...] [--json BODY]"""

import json
import sys

import requests

method, url, ca = sys.argv[1:4]
headers, body = {}, None
rest = sys.argv[4:]
while rest:
    item = rest.pop(0)
    if item == "--json":
        body = json.loads(rest.pop(0))
    else:
        key, value = item.split(":", 1)
        headers[key] = value
answer = requests.request(method, url, headers=headers, json=body, verify=ca, timeout=30)
try:
    content = answer.json()
except ValueError:
    content = answer.text
print(json.dumps({"status": answer.status_code, "body": content}, ensure_ascii=False))
