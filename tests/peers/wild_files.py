"""DICOM files as the wild writes them, made with pydicom (a peer, not our code).

  wild_files.py all_un IN OUT        every element of IN's data set sent as VR UN (Explicit VR
                                     Little Endian), values in implicit VR as PS3.5 6.2.2 says;
                                     sequences as UN of undefined length, as anonymisers write
  wild_files.py letter_uid IN OUT    SOP Instance UID with letters (non-conformant)
  wild_files.py bad_frames IN OUT    Number of Frames that is no number ("1 frame")
  wild_files.py big MIB OUT           a multi-frame 16-bit object of about MIB MiB (breast
                                     tomosynthesis and long cine are this large), written a
                                     frame at a time
  wild_files.py negotiate HOST PORT AE TS...
                                     proposes CT Image Storage with the transfer syntaxes in
                                     the order given; prints the one accepted as JSON
  wild_files.py send HOST PORT AE FILE
                                     C-STORE FILE with pynetdicom, no UID checks; prints the
                                     status as JSON
"""
import io
import json
import struct
import sys

import pydicom
from pydicom import config
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.uid import ExplicitVRLittleEndian

config.settings.writing_validation_mode = config.IGNORE
config.settings.reading_validation_mode = config.IGNORE


def implicit_bytes(elem):
    """The element as Implicit VR Little Endian bytes: (length field, value bytes)."""
    fp = DicomBytesIO()
    fp.is_little_endian = True
    fp.is_implicit_VR = True
    write_data_element(fp, elem)
    raw = fp.getvalue()
    length = struct.unpack("<I", raw[4:8])[0]
    return length, raw[8:]


def all_un(src, dst):
    ds = pydicom.dcmread(src)
    out = io.BytesIO()
    for elem in ds:
        length, value = implicit_bytes(elem)
        out.write(struct.pack("<HH", elem.tag.group, elem.tag.element))
        out.write(b"UN\0\0")
        out.write(struct.pack("<I", length))
        out.write(value)
    meta = pydicom.dataset.FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1431.99"
    with open(dst, "wb") as f:
        f.write(b"\0" * 128 + b"DICM")
        fp = DicomBytesIO()
        fp.is_little_endian = True
        fp.is_implicit_VR = False
        write_file_meta_info(fp, meta, enforce_standard=True)
        f.write(fp.getvalue())
        f.write(out.getvalue())


def letter_uid(src, dst):
    ds = pydicom.dcmread(src)
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1431.ABC.7"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(dst)


def bad_frames(src, dst):
    ds = pydicom.dcmread(src)
    ds.add_new(0x00280008, "IS", "9")
    ds.save_as(dst, implicit_vr=False, little_endian=True)
    with open(dst, "rb") as f:
        raw = f.read()
    placeholder = b"\x28\x00\x08\x00IS\x02\x009 "
    assert raw.count(placeholder) == 1
    raw = raw.replace(placeholder, b"\x28\x00\x08\x00IS\x08\x001 frame ")
    with open(dst, "wb") as f:
        f.write(raw)


def big(mib, dst):
    """A Multi-frame Grayscale Word SC object of about `mib` MiB, Explicit VR LE, written
    without holding its pixel data in memory."""
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import generate_uid

    rows = cols = 512
    frame_bytes = rows * cols * 2
    frames = max(1, int(mib) * (1 << 20) // frame_bytes)
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = "BIG-" + ds.SOPInstanceUID[-8:]
    ds.PatientName = "LARGE^OBJECT"
    ds.Modality = "OT"
    ds.StudyDate = "20261125"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = frames
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1431.99"
    header = DicomBytesIO()
    header.is_little_endian = True
    header.is_implicit_VR = False
    pydicom.filewriter.write_dataset(header, ds)
    with open(dst, "wb") as f:
        f.write(b"\0" * 128 + b"DICM")
        fp = DicomBytesIO()
        fp.is_little_endian = True
        fp.is_implicit_VR = False
        write_file_meta_info(fp, meta, enforce_standard=True)
        f.write(fp.getvalue())
        f.write(header.getvalue())
        f.write(struct.pack("<HH", 0x7FE0, 0x0010) + b"OW\0\0" + struct.pack("<I", frames * frame_bytes))
        ramp = (np.arange(rows * cols, dtype=np.uint32) % 4096).astype("<u2")
        for i in range(frames):
            f.write(((ramp + i) % 4096).astype("<u2").tobytes())
    print(json.dumps({"sop_instance": ds.SOPInstanceUID, "study": ds.StudyInstanceUID,
                      "patient_id": ds.PatientID, "frames": frames}))


def negotiate(host, port, ae, *syntaxes):
    from pynetdicom import AE

    peer = AE(ae_title="PYPEER")
    peer.add_requested_context("1.2.840.10008.5.1.4.1.1.2", list(syntaxes))
    assoc = peer.associate(host, int(port), ae_title=ae)
    accepted = [str(c.transfer_syntax[0]) for c in assoc.accepted_contexts] if assoc.is_established else []
    if assoc.is_established:
        assoc.release()
    print(json.dumps({"accepted": accepted}))


def send(host, port, ae, path):
    from pynetdicom import AE
    from pynetdicom import _config as netconfig

    netconfig.ENFORCE_UID_CONFORMANCE = False
    # Only the file meta group is read: the data set goes out as the bytes in the file.
    meta = pydicom.filereader.read_file_meta_info(path)
    peer = AE(ae_title="PYPEER")
    peer.add_requested_context(meta.MediaStorageSOPClassUID, [meta.TransferSyntaxUID])
    assoc = peer.associate(host, int(port), ae_title=ae)
    if not assoc.is_established:
        print(json.dumps({"status": None, "error": "association failed"}))
        return
    status = assoc.send_c_store(path)
    assoc.release()
    print(json.dumps({"status": int(status.Status) if status else None}))


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    {"all_un": all_un, "letter_uid": letter_uid, "bad_frames": bad_frames, "big": big, "negotiate": negotiate, "send": send}[kind](*args)
