#!/usr/bin/env bash
# Installs what the build and the tests need: cmake and g++ (the CharLS JPEG-LS codec is C++),
# dcmtk (real DICOM peers and the reference renderer), dicom3tools (dciodvfy checks the objects
# Lightbox writes), the headless GPU stack (Mesa lavapipe +
# Xvfb), poppler's pdftotext (reads our printed reports back) and, in .venv, pynetdicom/pydicom
# (+ pylibjpeg-openjpeg), python hl7 and python-xlib (closes the window in the Xvfb test), and
# systemd's tools (systemd-analyze checks the unit `lightbox service install` writes).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
need_apt=0
for bin in cmake g++ storescu findscu getscu movescu storescp echoscu dcmdump dcmj2pnm dcml2pnm dcmcjpeg dciodvfy pdftotext Xvfb xvfb-run kill unshare prlimit systemd-analyze systemctl; do
  command -v "$bin" >/dev/null 2>&1 || need_apt=1
done
if [ ! -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] && [ ! -e /usr/share/vulkan/icd.d/lvp_icd.json ]; then
  need_apt=1
fi
if [ "$need_apt" = 1 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    cmake g++ dcmtk dicom3tools poppler-utils python3-venv procps util-linux xvfb xauth mesa-vulkan-drivers libvulkan1 \
    libxkbcommon-x11-0 libx11-xcb1 libxcursor1 libxi6 libegl1 libgl1-mesa-dri libfontconfig1 systemd >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r scripts/test-requirements.txt
