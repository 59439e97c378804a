#!/usr/bin/env bash
# Installs the peers the side-by-side benchmarks run against (not needed by the tests):
# Orthanc (ingest), its DICOMweb plugin (wire), Orthanc's Web Viewer plugin with headless
# Chromium + chromedriver (viewer),
# and selenium in .venv to drive the browser. Run scripts/install-test-deps.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
  dcmtk orthanc orthanc-webviewer orthanc-dicomweb chromium chromium-driver >/dev/null
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check selenium==4.51.0
echo "now: LIGHTBOX_PYTHON=.venv/bin/python cargo bench --bench viewer"
