"""Reference material for the imaging tests, made with pydicom (a peer, not our code).

  imaging.py decompress IN OUT      decode IN with pydicom (pylibjpeg-openjpeg for JPEG 2000)
                                    and write it uncompressed, for dcmtk to render
  imaging.py variant KIND IN OUT    write IN with one display attribute changed (see VARIANTS)
  imaging.py decode_time IN N       median milliseconds of N in-process decodes of IN's frame
                                    (pydicom + pylibjpeg-openjpeg/OpenJPEG for JPEG 2000)
"""
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian


def decompress(src, dst):
    ds = pydicom.dcmread(src)
    ds.decompress()
    ds.save_as(dst, enforce_file_format=True)


def _lut_item(first, bits, values):
    item = Dataset()
    item.LUTDescriptor = [len(values) % 65536, first, bits]
    item.LUTExplanation = "test"
    item.add_new(0x00283006, "US", [int(v) for v in values])
    return item


def sigmoid(ds):
    ds.VOILUTFunction = "SIGMOID"


def linear_exact(ds):
    ds.VOILUTFunction = "LINEAR_EXACT"


def voi_lut(ds):
    # A gamma curve over the stored range, 12-bit output; no window, so the table is the default.
    for tag in ("WindowCenter", "WindowWidth"):
        if tag in ds:
            del ds[tag]
    px = ds.pixel_array
    lo, hi = int(px.min()), int(px.max())
    x = np.arange(lo, hi + 1)
    values = np.round(((x - lo) / max(hi - lo, 1)) ** 0.5 * 4095)
    ds.VOILUTSequence = Sequence([_lut_item(lo, 12, values)])


def modality_lut(ds):
    # A non-linear modality table in place of rescale; the file's window still applies.
    for tag in ("RescaleSlope", "RescaleIntercept", "RescaleType"):
        if tag in ds:
            del ds[tag]
    px = ds.pixel_array
    lo, hi = int(px.min()), int(px.max())
    x = np.arange(lo, hi + 1)
    values = np.round(((x - lo) / max(hi - lo, 1)) ** 2 * 4000)
    ds.ModalityLUTSequence = Sequence([_lut_item(lo, 16, values)])
    ds.ModalityLUTSequence[0].ModalityLUTType = "US"
    ds.WindowCenter = 1200
    ds.WindowWidth = 1800


def inverse(ds):
    ds.PresentationLUTShape = "INVERSE"


def monochrome1(ds):
    ds.PhotometricInterpretation = "MONOCHROME1"


def overlay(ds):
    # A 40x30 overlay at row 5, column 10 holding a frame and a diagonal.
    rows, cols = 30, 40
    bits = np.zeros((rows, cols), dtype=np.uint8)
    bits[0, :] = bits[-1, :] = bits[:, 0] = bits[:, -1] = 1
    for i in range(min(rows, cols)):
        bits[i, i] = 1
    ds.add_new(0x60000010, "US", rows)
    ds.add_new(0x60000011, "US", cols)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [5, 10])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    packed = np.packbits(bits.flatten(), bitorder="little").tobytes()
    if len(packed) % 2:
        packed += b"\0"
    ds.add_new(0x60003000, "OW", packed)


def imager_spacing(ds):
    del ds.PixelSpacing
    ds.ImagerPixelSpacing = [0.2, 0.25]
    ds.EstimatedRadiographicMagnificationFactor = 1.25


ENHANCED_WINDOWS = [(300, 600), (500, 900), (700, 1200), (900, 1500)]


def enhanced(ds):
    """Window and rescale only in functional groups: rescale in the shared group, a different
    window per frame in the per-frame groups (as enhanced CT/MR objects keep them)."""
    for tag in ("WindowCenter", "WindowWidth", "RescaleSlope", "RescaleIntercept"):
        if tag in ds:
            del ds[tag]
    shared = Dataset()
    transform = Dataset()
    transform.RescaleSlope = 2
    transform.RescaleIntercept = -100
    transform.RescaleType = "US"
    shared.PixelValueTransformationSequence = Sequence([transform])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for i in range(int(ds.NumberOfFrames)):
        item = Dataset()
        voi = Dataset()
        c, w = ENHANCED_WINDOWS[i % len(ENHANCED_WINDOWS)]
        voi.WindowCenter = c
        voi.WindowWidth = w
        item.FrameVOILUTSequence = Sequence([voi])
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)


def flattened(ds):
    """The same display as `enhanced`, with the rescale at the top level (for dcmtk)."""
    ds.RescaleSlope = 2
    ds.RescaleIntercept = -100


VARIANTS = {
    "enhanced": enhanced,
    "flattened": flattened,
    "sigmoid": sigmoid,
    "linear_exact": linear_exact,
    "voi_lut": voi_lut,
    "modality_lut": modality_lut,
    "inverse": inverse,
    "monochrome1": monochrome1,
    "overlay": overlay,
    "imager_spacing": imager_spacing,
}


def variant(kind, src, dst):
    ds = pydicom.dcmread(src)
    ds.decompress() if ds.file_meta.TransferSyntaxUID.is_compressed else None
    VARIANTS[kind](ds)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(dst, enforce_file_format=True)


def decode_time(src, runs):
    import json
    import statistics
    import time

    from pydicom.pixels import pixel_array

    ds = pydicom.dcmread(src)
    times = []
    for _ in range(int(runs)):
        start = time.perf_counter()
        arr = pixel_array(ds, index=0)
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"median_ms": statistics.median(times), "pixels": int(arr.size)}))


if __name__ == "__main__":
    if sys.argv[1] == "decompress":
        decompress(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "variant":
        variant(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "decode_time":
        decode_time(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
