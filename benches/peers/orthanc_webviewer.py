"""Drives Debian's Orthanc Web Viewer (orthanc-webviewer, Cornerstone) in headless Chromium and
times what benches/viewer.rs times for Lightbox, on the same files already stored in Orthanc:

- first image: from navigating to the viewer for the series to the first non-black pixel on
  its canvas (the browser and the viewer's scripts are warmed on another series first, as
  Lightbox's GPU device is made when its viewer starts);
- whole series: every slice loaded and decoded into the viewer's image cache (all requested at
  once; the browser allows 6 connections), with the viewer's default lossy JPEG (quality 95)
  and with its lossless "H" quality (deflate), the cache emptied between the two.

Prints one JSON object. Usage: orthanc_webviewer.py HTTP_PORT SERIES_UID WARM_SERIES_UID
"""

import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

# Records when the viewer's canvas first shows a non-black pixel, on every page load.
FIRST_PIXEL = """
window.__firstImageMs = null;
function __look() {
  const canvas = document.querySelector('#dicomImage canvas');
  if (canvas && canvas.width > 0) {
    const c = canvas.getContext('2d');
    const d = c.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < d.length; i += 4 * 97) {
      if (d[i] > 0 || d[i + 1] > 0 || d[i + 2] > 0) {
        window.__firstImageMs = performance.now();
        return;
      }
    }
  }
  requestAnimationFrame(__look);
}
requestAnimationFrame(__look);
"""

# Loads every slice of the series into Cornerstone's cache with the given compression.
LOAD_ALL = """
const [series, quality, done] = arguments;
(async () => {
  cornerstone.imageCache.purgeCache();
  window.compression = quality;
  const volume = await (await fetch('../series/' + series)).json();
  const started = performance.now();
  await Promise.all(volume.Slices.map((id) => cornerstone.loadAndCacheImage(id)));
  done({ ms: performance.now() - started, slices: volume.Slices.length });
})().catch((e) => done({ error: String(e) }));
"""


def orthanc_id(port, series_uid):
    """Orthanc's identifier of the series with this Series Instance UID."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/tools/lookup", data=series_uid.encode(), method="POST"
    )
    with urllib.request.urlopen(request) as answer:
        found = [r["ID"] for r in json.load(answer) if r.get("Type") == "Series"]
    if not found:
        raise SystemExit(f"Orthanc has no series {series_uid}")
    return found[0]


def main():
    port = sys.argv[1]
    series, warm = orthanc_id(port, sys.argv[2]), orthanc_id(port, sys.argv[3])
    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,1024",
    ):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_script_timeout(1800)
    try:
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": FIRST_PIXEL}
        )
        viewer = f"http://127.0.0.1:{port}/web-viewer/app/viewer.html?series="
        # Warm the browser and the viewer's scripts on another series.
        driver.get(viewer + warm)
        wait_first_image(driver)
        driver.get(viewer + series)
        first_ms = wait_first_image(driver)
        lossy = driver.execute_async_script(LOAD_ALL, series, "jpeg95")
        lossless = driver.execute_async_script(LOAD_ALL, series, "deflate")
        print(
            json.dumps(
                {
                    "first_image_ms": first_ms,
                    "whole_series_jpeg95": lossy,
                    "whole_series_deflate": lossless,
                    "browser": driver.capabilities.get("browserVersion"),
                }
            )
        )
    finally:
        driver.quit()


def wait_first_image(driver, timeout_secs=120):
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        ms = driver.execute_script("return window.__firstImageMs")
        if ms is not None:
            return ms
        time.sleep(0.005)
    raise SystemExit("the web viewer showed no image")


if __name__ == "__main__":
    main()
