"""Lightbox's DICOMweb against the independent client `dicomweb-client` (QIDO-RS search,
WADO-RS retrieve), over TLS with the practice's CA pinned and HTTP Basic as a Lightbox user.
Prints one JSON object of what it found."""

import json
import sys

import requests
from dicomweb_client.api import DICOMwebClient
from dicomweb_client.session_utils import create_session_from_auth

base, ca, login, password, name_query, study_uid, to_store = sys.argv[1:8]
out = {}

session = create_session_from_auth(requests.auth.HTTPBasicAuth(login, password))
# requests lets REQUESTS_CA_BUNDLE override a session's own `verify`; pin the CA both ways.
session.verify = ca
session.trust_env = False
client = DICOMwebClient(url=base + "/dicomweb", session=session)

studies = client.search_for_studies(search_filters={"PatientName": name_query})
out["studies"] = [s["0020000D"]["Value"][0] for s in studies]
out["names"] = [s["00100010"]["Value"][0]["Alphabetic"] for s in studies]
out["instances_in_study"] = [s["00201208"]["Value"][0] for s in studies]
by_date = client.search_for_studies(search_filters={"StudyDate": "20250101-20271231"})
out["by_date_range"] = len(by_date)
series = client.search_for_series(study_instance_uid=study_uid)
out["series"] = [s["0020000E"]["Value"][0] for s in series]
instances = client.search_for_instances(study_instance_uid=study_uid, series_instance_uid=out["series"][0])
out["instances"] = sorted(i["00080018"]["Value"][0] for i in instances)
retrieved = client.retrieve_study(study_uid)
out["retrieved"] = sorted(str(d.SOPInstanceUID) for d in retrieved)
out["pixels"] = {str(d.SOPInstanceUID): d.PixelData.hex()[:64] + str(len(d.PixelData)) for d in retrieved}
one = client.retrieve_instance(study_uid, out["series"][0], out["instances"][0])
out["one_instance"] = str(one.SOPInstanceUID)
# Errors as statuses: wrong password, unknown key, unknown study.
wrong = requests.get(base + "/dicomweb/studies", auth=(login, password + "x"), verify=ca)
out["wrong_password"] = wrong.status_code
bad_key = requests.get(base + "/dicomweb/studies", params={"NoSuchKey": "1"}, auth=(login, password), verify=ca)
out["unknown_key"] = bad_key.status_code
missing = requests.get(base + "/dicomweb/studies/1.2.3.999", auth=(login, password), verify=ca)
out["missing_study"] = missing.status_code
# STOW-RS: a new instance stored through the client, then found; a part that is not DICOM
# refused with 409 and its failure listed.
import pydicom

new = pydicom.dcmread(to_store)
stored = client.store_instances(datasets=[new])
out["stored"] = [str(i.ReferencedSOPInstanceUID) for i in stored.ReferencedSOPSequence]
found = client.search_for_instances(study_instance_uid=str(new.StudyInstanceUID))
out["found_after_store"] = [i["00080018"]["Value"][0] for i in found]
garbage = requests.post(
    base + "/dicomweb/studies",
    data=b"--b1\r\nContent-Type: application/dicom\r\n\r\nnot a DICOM file\r\n--b1--\r\n",
    headers={"Content-Type": 'multipart/related; type="application/dicom"; boundary=b1'},
    auth=(login, password),
    verify=ca,
)
out["garbage_status"] = garbage.status_code
out["garbage_failed"] = len(garbage.json().get("00081198", {}).get("Value", []))
print(json.dumps(out, ensure_ascii=False))
