"""What a DICOMweb viewer loads from Lightbox, through the independent client
`dicomweb-client` (and Pillow to read the rendered images): series metadata, raw frames,
JPEG-LS frames, an instance transcoded to JPEG-LS lossless, rendered frames, a thumbnail,
and the refusals. Prints one JSON object; the transcoded instance is saved to OUT for the
caller to decode.

Usage: dicomweb_wado_peer.py BASE CA LOGIN PASSWORD STUDY SERIES SOP OUT"""

import io
import json
import sys

import requests
from dicomweb_client.api import DICOMwebClient
from dicomweb_client.session_utils import create_session_from_auth
from PIL import Image
from pydicom.encaps import generate_frames

base, ca, login, password, study, series, sop, out_path = sys.argv[1:9]
JLS = "1.2.840.10008.1.2.4.80"
out = {}

session = create_session_from_auth(requests.auth.HTTPBasicAuth(login, password))
session.verify = ca
session.trust_env = False
client = DICOMwebClient(url=base + "/dicomweb", session=session)

metadata = client.retrieve_series_metadata(study, series)
out["metadata_count"] = len(metadata)
first = next(m for m in metadata if m["00080018"]["Value"][0] == sop)
out["metadata_name"] = first["00100010"]["Value"][0]["Alphabetic"]
out["metadata_rows"] = first["00280010"]["Value"][0]
out["metadata_pixel_data"] = first.get("7FE00010", {})

zipped = requests.get(base + "/dicomweb/studies/" + study + "/series/" + series + "/metadata",
                      headers={"Accept-Encoding": "gzip"}, auth=(login, password), verify=ca)
out["metadata_encoding"] = zipped.headers.get("Content-Encoding")
def sops(items):
    return sorted(m["00080018"]["Value"][0] for m in items)


out["metadata_same_when_zipped"] = sops(zipped.json()) == sops(metadata) and all(
    m["00100010"] == next(x for x in metadata if sops([x]) == sops([m]))["00100010"] for m in zipped.json()
)
raw = client.retrieve_instance_frames(study, series, sop, frame_numbers=[1])
out["raw_frame_hex"] = raw[0].hex()

jls_frames = client.retrieve_instance_frames(study, series, sop, frame_numbers=[1], media_types=("image/jls",))
out["jls_frame_starts"] = jls_frames[0][:4].hex()

transcoded = client.retrieve_instance(study, series, sop, media_types=(("application/dicom", JLS),))
out["transcoded_syntax"] = str(transcoded.file_meta.TransferSyntaxUID)
fragments = list(generate_frames(transcoded.PixelData, number_of_frames=1))
out["jls_frame_is_the_instance_fragment"] = fragments[0] == jls_frames[0]
transcoded.save_as(out_path, enforce_file_format=True)

png = client.retrieve_instance_rendered(study, series, sop, media_types=("image/png",), params={"window": "100,200"})
image = Image.open(io.BytesIO(png))
out["rendered_png"] = [image.format, image.size[0], image.size[1], image.mode]
out["rendered_extrema"] = list(image.getextrema())
jpeg = client.retrieve_instance_rendered(study, series, sop)
out["rendered_default"] = Image.open(io.BytesIO(jpeg)).format

thumb = requests.get(base + "/dicomweb/studies/" + study + "/series/" + series + "/thumbnail",
                     params={"viewport": "16,16"}, auth=(login, password), verify=ca)
timage = Image.open(io.BytesIO(thumb.content))
out["thumbnail"] = [thumb.status_code, thumb.headers.get("Content-Type"), timage.size[0], timage.size[1]]

instance_url = base + "/dicomweb/studies/" + study + "/series/" + series + "/instances/" + sop
lossy = requests.get(instance_url, auth=(login, password), verify=ca,
                     headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'})
out["unoffered_syntax"] = [lossy.status_code, lossy.json().get("error", "")]
out["frame_beyond"] = requests.get(instance_url + "/frames/2", auth=(login, password), verify=ca).status_code
out["frame_zero"] = requests.get(instance_url + "/frames/0", auth=(login, password), verify=ca).status_code
out["metadata_unsigned"] = requests.get(instance_url + "/metadata", verify=ca).status_code
print(json.dumps(out, ensure_ascii=False))
