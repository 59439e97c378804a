"""pynetdicom/pydicom peer for Lightbox's integration tests.

Each subcommand prints JSON on stdout so the Rust tests can assert on it.
"""
import json
import os
import sys

from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE, StoragePresentationContexts, build_role, evt
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StorageCommitmentPushModel,
    Verification,
)
from pydicom.uid import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    ExplicitVRBigEndian,
    DeflatedExplicitVRLittleEndian,
    RLELossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLossless,
    JPEGLSLossless,
    JPEG2000Lossless,
    JPEG2000,
    generate_uid,
)

ALL_TS = [
    ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian,
    DeflatedExplicitVRLittleEndian, RLELossless, JPEGBaseline8Bit, JPEGExtended12Bit,
    JPEGLosslessSV1, JPEGLossless, JPEGLSLossless, JPEG2000Lossless, JPEG2000,
]


def corpus_index(paths):
    """Study/series/instance UIDs of every readable DICOM file under paths."""
    out = []
    files_to_read = []
    for root in paths:
        if os.path.isfile(root):
            files_to_read.append(root)
        for dirpath, _, files in os.walk(root):
            files_to_read.extend(os.path.join(dirpath, n) for n in sorted(files))
    if True:
        for p in files_to_read:
                try:
                    ds = dcmread(p, stop_before_pixels=True, force=True)
                except Exception:
                    continue
                if "SOPInstanceUID" not in ds or "StudyInstanceUID" not in ds:
                    continue
                out.append({
                    "path": p,
                    "study": str(ds.StudyInstanceUID),
                    "series": str(ds.SeriesInstanceUID),
                    "sop": str(ds.SOPInstanceUID),
                    "sop_class": str(ds.SOPClassUID),
                    "patient_id": str(ds.get("PatientID", "")),
                    "modality": str(ds.get("Modality", "")),
                })
    print(json.dumps(out))


def find(host, port, aet, level, keys):
    ae = AE(ae_title="PYPEER")
    model = PatientRootQueryRetrieveInformationModelFind if level == "PATIENT" else StudyRootQueryRetrieveInformationModelFind
    ae.add_requested_context(model)
    assoc = ae.associate(host, int(port), ae_title=aet)
    if not assoc.is_established:
        print(json.dumps({"error": "association failed"}))
        sys.exit(2)
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for kv in keys:
        k, _, v = kv.partition("=")
        setattr(ds, k, v)
    results = []
    final = None
    for status, ident in assoc.send_c_find(ds, model):
        if status is None:
            break
        if status.Status in (0xFF00, 0xFF01) and ident is not None:
            results.append({e.keyword: str(e.value) for e in ident if e.keyword})
        else:
            final = status.Status
    assoc.release()
    print(json.dumps({"final": final, "matches": results}))


def get(host, port, aet, study_uid, out_dir):
    """C-GET a study proposing every storage class we see in the corpus with all syntaxes."""
    ae = AE(ae_title="PYPEER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    classes = sorted(set(sys.argv[7:])) if len(sys.argv) > 7 else []
    roles = []
    for cls in classes:
        # One context per syntax, as dcmtk's getscu does, so the SCP can send each
        # instance in the syntax it is stored in.
        for ts in ALL_TS:
            ae.add_requested_context(cls, ts)
        roles.append(build_role(cls, scp_role=True))
    received = []

    def on_store(event):
        ds = event.dataset
        ds.file_meta = event.file_meta
        path = os.path.join(out_dir, str(ds.SOPInstanceUID))
        ds.save_as(path, enforce_file_format=True)
        received.append(str(ds.SOPInstanceUID))
        return 0x0000

    assoc = ae.associate(host, int(port), ae_title=aet, ext_neg=roles,
                         evt_handlers=[(evt.EVT_C_STORE, on_store)])
    if not assoc.is_established:
        print(json.dumps({"error": "association failed"}))
        sys.exit(2)
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = study_uid
    final = None
    for status, _ in assoc.send_c_get(ds, StudyRootQueryRetrieveInformationModelGet):
        if status is not None and status.Status != 0xFF00:
            final = status.Status
    assoc.release()
    print(json.dumps({"final": final, "received": received}))


def same_dataset(a, b):
    """Whether two files hold the same data set (ignoring the file meta group)."""
    da = dcmread(a, force=True)
    db = dcmread(b, force=True)
    diffs = []
    # (FFFC,FFFC) Data Set Trailing Padding carries no meaning (PS3.5 7.8) and group lengths
    # (gggg,0000) are retired and recomputed; peers may drop or rewrite both.
    def ignored(tag):
        return tag.group == 0x0002 or tag == 0xFFFCFFFC or tag.element == 0x0000

    for elem in da:
        if ignored(elem.tag):
            continue
        other = db.get(elem.tag)
        if other is None or other.value != elem.value:
            diffs.append(str(elem.tag))
    for elem in db:
        if not ignored(elem.tag) and elem.tag not in da:
            diffs.append(str(elem.tag))
    print(json.dumps({"same": not diffs, "diffs": diffs[:10]}))


def find_cancel(host, port, aet, level):
    """C-FIND that sends C-CANCEL after the first match; prints the count and final status."""
    ae = AE(ae_title="PYPEER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate(host, int(port), ae_title=aet)
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    ds.StudyInstanceUID = ""
    matches = 0
    final = None
    context_id = assoc.accepted_contexts[0].context_id
    responses = assoc.send_c_find(ds, StudyRootQueryRetrieveInformationModelFind, msg_id=7)
    for status, ident in responses:
        if status is None:
            break
        if status.Status in (0xFF00, 0xFF01):
            matches += 1
            if matches == 1:
                assoc.send_c_cancel(7, context_id)
        else:
            final = status.Status
    assoc.release()
    print(json.dumps({"matches": matches, "final": final}))


def commit_then_release(host, port, aet, listen_port, pairs):
    """N-ACTION, then release at once; wait for the N-EVENT-REPORT on a new association
    that the SCP opens to us (we listen as PYPEER on listen_port, SCU role for the class)."""
    import threading, time
    reports = []
    done = threading.Event()

    def on_report(event):
        reports.append({
            "event_type": event.event_type,
            "committed": [str(i.ReferencedSOPInstanceUID) for i in event.event_information.get("ReferencedSOPSequence", [])],
            "failed": [str(i.ReferencedSOPInstanceUID) for i in event.event_information.get("FailedSOPSequence", [])],
        })
        done.set()
        return 0x0000, None

    listener = AE(ae_title="PYPEER")
    listener.add_supported_context(StorageCommitmentPushModel, [ExplicitVRLittleEndian, ImplicitVRLittleEndian],
                                   scu_role=True, scp_role=True)
    server = listener.start_server(("127.0.0.1", int(listen_port)), block=False,
                                   evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    refused_on_original = []

    def refuse(event):
        # Like a modality that only takes reports on a separate association.
        refused_on_original.append(event.event_type)
        return 0x0110, None

    ae = AE(ae_title="PYPEER")
    ae.add_requested_context(StorageCommitmentPushModel)
    assoc = ae.associate(host, int(port), ae_title=aet, evt_handlers=[(evt.EVT_N_EVENT_REPORT, refuse)])
    ds = Dataset()
    ds.TransactionUID = generate_uid()
    seq = []
    for pair in pairs:
        cls, _, inst = pair.partition("=")
        item = Dataset()
        item.ReferencedSOPClassUID = cls
        item.ReferencedSOPInstanceUID = inst
        seq.append(item)
    ds.ReferencedSOPSequence = seq
    status, _ = assoc.send_n_action(ds, 1, StorageCommitmentPushModel, "1.2.840.10008.1.20.1.1")
    assoc.release()
    done.wait(40)
    server.shutdown()
    print(json.dumps({"status": status.Status if status else None, "reports": reports}))


def get_cancel(host, port, aet, study_uid, sop_class):
    """C-GET a study and send C-CANCEL from inside the first C-STORE; prints counts."""
    ae = AE(ae_title="PYPEER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(sop_class, [ExplicitVRLittleEndian])
    received = []
    state = {}

    def on_store(event):
        received.append(str(event.request.AffectedSOPInstanceUID))
        if len(received) == 1:
            event.assoc.send_c_cancel(9, state["context_id"])
        return 0x0000

    assoc = ae.associate(host, int(port), ae_title=aet, ext_neg=[build_role(sop_class, scp_role=True)],
                         evt_handlers=[(evt.EVT_C_STORE, on_store)])
    state["context_id"] = [c.context_id for c in assoc.accepted_contexts
                           if c.abstract_syntax == StudyRootQueryRetrieveInformationModelGet][0]
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = study_uid
    final = None
    for status, _ in assoc.send_c_get(ds, StudyRootQueryRetrieveInformationModelGet, msg_id=9):
        if status is not None and status.Status != 0xFF00:
            final = status.Status
    assoc.release()
    print(json.dumps({"final": final, "received": len(received)}))


def same_pixels(a, b):
    """Whether two uncompressed files carry the same Pixel Data bytes and image geometry."""
    da = dcmread(a, force=True)
    db = dcmread(b, force=True)
    keys = ("Rows", "Columns", "BitsAllocated", "SamplesPerPixel", "PixelRepresentation")
    same_geometry = all(da.get(k) == db.get(k) for k in keys)
    print(json.dumps({"same": same_geometry and da.PixelData == db.PixelData}))


def commit(host, port, aet, pairs):
    """Storage Commitment N-ACTION; waits for the N-EVENT-REPORT on the same association."""
    ae = AE(ae_title="PYPEER")
    ae.add_requested_context(StorageCommitmentPushModel)
    reports = []

    def on_report(event):
        reports.append({
            "event_type": event.event_type,
            "committed": [str(i.ReferencedSOPInstanceUID) for i in event.event_information.get("ReferencedSOPSequence", [])],
            "failed": [str(i.ReferencedSOPInstanceUID) for i in event.event_information.get("FailedSOPSequence", [])],
        })
        return 0x0000, None

    assoc = ae.associate(host, int(port), ae_title=aet,
                         evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    if not assoc.is_established:
        print(json.dumps({"error": "association failed"}))
        sys.exit(2)
    ds = Dataset()
    ds.TransactionUID = generate_uid()
    seq = []
    for pair in pairs:
        cls, _, inst = pair.partition("=")
        item = Dataset()
        item.ReferencedSOPClassUID = cls
        item.ReferencedSOPInstanceUID = inst
        seq.append(item)
    ds.ReferencedSOPSequence = seq
    status, _ = assoc.send_n_action(ds, 1, StorageCommitmentPushModel, "1.2.840.10008.1.20.1.1")
    import time
    deadline = time.time() + 40
    while not reports and time.time() < deadline and assoc.is_established:
        time.sleep(0.05)
    assoc.release()
    print(json.dumps({"status": status.Status if status else None, "reports": reports}))


def store(host, port, aet, files):
    """C-STORE files on one association, each proposed in its own transfer syntax so it is
    stored as received. Prints the status of each file."""
    ae = AE(ae_title="PYPEER")
    datasets = []
    contexts = set()
    for f in files:
        ds = dcmread(f, force=True)
        if "TransferSyntaxUID" not in ds.file_meta:
            # A bare data set (no meta group) is Implicit VR Little Endian.
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        datasets.append((f, ds))
        contexts.add((str(ds.SOPClassUID), str(ds.file_meta.TransferSyntaxUID)))
    for cls, ts in sorted(contexts):
        ae.add_requested_context(cls, ts)
    assoc = ae.associate(host, int(port), ae_title=aet)
    if not assoc.is_established:
        print(json.dumps({"error": "association failed"}))
        sys.exit(2)
    results = {}
    for f, ds in datasets:
        status = assoc.send_c_store(ds)
        results[f] = status.Status if status is not None and "Status" in status else None
    assoc.release()
    print(json.dumps(results))


def mwl(host, port, aet, station, date, name, charset):
    """Modality Worklist C-FIND; prints the accessions and decoded patient names matched."""
    from pydicom.sequence import Sequence

    ae = AE(ae_title="PYPEER")
    ae.add_requested_context("1.2.840.10008.5.1.4.31")
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.PatientName = name
    ds.PatientID = ""
    ds.AccessionNumber = ""
    ds.StudyInstanceUID = ""
    sps = Dataset()
    sps.ScheduledStationAETitle = station
    sps.ScheduledProcedureStepStartDate = date
    sps.ScheduledProcedureStepStartTime = ""
    sps.Modality = ""
    sps.ScheduledProcedureStepID = ""
    ds.ScheduledProcedureStepSequence = Sequence([sps])
    assoc = ae.associate(host, int(port), ae_title=aet)
    if not assoc.is_established:
        print(json.dumps({"error": "association failed"}))
        sys.exit(2)
    accessions, names = [], []
    for status, identifier in assoc.send_c_find(ds, "1.2.840.10008.5.1.4.31"):
        if status and status.Status in (0xFF00, 0xFF01) and identifier is not None:
            accessions.append(str(identifier.AccessionNumber))
            names.append(str(identifier.PatientName))
    assoc.release()
    print(json.dumps({"accessions": sorted(accessions), "names": sorted(names)}))


def mpps(host, port, aet, action, uid, *args):
    """MPPS N-CREATE (args: study_uid accession [status]) or N-SET (args: status
    [series_uid images] [reason]). Prints the response status and Error ID."""
    from pydicom.sequence import Sequence

    mpps_class = "1.2.840.10008.3.1.2.3.3"
    ae = AE(ae_title="PYPEER")
    ae.add_requested_context(mpps_class)
    assoc = ae.associate(host, int(port), ae_title=aet)
    if not assoc.is_established:
        print(json.dumps({"error": "association failed"}))
        sys.exit(2)
    ds = Dataset()
    if action == "create":
        study_uid, accession = args[0], args[1]
        status = args[2] if len(args) > 2 else "IN PROGRESS"
        item = Dataset()
        item.StudyInstanceUID = study_uid
        item.AccessionNumber = accession
        item.ScheduledProcedureStepID = ""
        item.RequestedProcedureID = ""
        ds.ScheduledStepAttributesSequence = Sequence([item])
        ds.PatientName = ""
        ds.PatientID = ""
        ds.PerformedProcedureStepID = "PPS1"
        ds.PerformedStationAETitle = "PYPEER"
        ds.PerformedProcedureStepStartDate = "20261201"
        ds.PerformedProcedureStepStartTime = "090000"
        ds.PerformedProcedureStepStatus = status
        ds.Modality = "CT"
        rsp, _ = assoc.send_n_create(ds, mpps_class, uid)
    else:
        ds.PerformedProcedureStepStatus = args[0]
        ds.PerformedProcedureStepEndDate = "20261201"
        ds.PerformedProcedureStepEndTime = "093000"
        if len(args) > 2 and args[1]:
            series = Dataset()
            series.SeriesInstanceUID = args[1]
            series.ReferencedImageSequence = Sequence(
                [Dataset() for _ in range(int(args[2]))]
            )
            for i, img in enumerate(series.ReferencedImageSequence):
                img.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
                img.ReferencedSOPInstanceUID = f"{args[1]}.{i + 1}"
            ds.PerformedSeriesSequence = Sequence([series])
        if len(args) > 3:
            code = Dataset()
            code.CodeValue = "110514"
            code.CodingSchemeDesignator = "DCM"
            code.CodeMeaning = args[3]
            ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = Sequence([code])
        rsp, _ = assoc.send_n_set(ds, mpps_class, uid)
    assoc.release()
    status = rsp.Status if rsp is not None and "Status" in rsp else None
    error_id = rsp.get("ErrorID") if rsp is not None else None
    print(json.dumps({"status": status, "error_id": error_id}))


def store_as_is(host, port, aet, files):
    """C-STORE files byte for byte as they are on disk (pynetdicom streams a file path without
    decoding it), so damaged data sets reach the server unchanged. Prints each status."""
    from pynetdicom import _config

    _config.STORE_SEND_CHUNKED_DATASET = True
    ae = AE(ae_title="PYPEER")
    for f in files:
        meta = dcmread(f, stop_before_pixels=True, force=True)
        ae.add_requested_context(str(meta.file_meta.MediaStorageSOPClassUID), str(meta.file_meta.TransferSyntaxUID))
    assoc = ae.associate(host, int(port), ae_title=aet)
    if not assoc.is_established:
        print(json.dumps({"error": "association failed"}))
        sys.exit(2)
    results = {}
    for f in files:
        status = assoc.send_c_store(f)
        results[f] = status.Status if status is not None and "Status" in status else None
    assoc.release()
    print(json.dumps(results))


def store_stream(host, port, aet, files):
    """C-STORE files one by one on one association; print each acknowledged SOP UID at once.

    Used by the kill -9 test: whatever this printed before the server died must survive.
    """
    ae = AE(ae_title="PYPEER")
    ae.add_requested_context("1.2.840.10008.5.1.4.1.1.2", ExplicitVRLittleEndian)
    assoc = ae.associate(host, int(port), ae_title=aet)
    if not assoc.is_established:
        sys.exit(0)
    for f in files:
        ds = dcmread(f)
        try:
            status = assoc.send_c_store(ds)
        except Exception:
            break
        if not assoc.is_established or status is None or "Status" not in status:
            break
        if status.Status == 0x0000:
            sys.stdout.write(str(ds.SOPInstanceUID) + "\n")
            sys.stdout.flush()
    if assoc.is_established:
        assoc.release()


def qrscp(port, aet, files_dir, destinations):
    """A small Query/Retrieve SCP over a folder of files, for testing Lightbox's SCU.

    destinations: AE=host:port entries C-MOVE may send to. Received C-STOREs are saved
    into files_dir. Prints "ready" once listening.
    """
    from pynetdicom import AllStoragePresentationContexts
    from pynetdicom.sop_class import (
        StudyRootQueryRetrieveInformationModelMove,
        PatientRootQueryRetrieveInformationModelGet,
        PatientRootQueryRetrieveInformationModelMove,
    )
    dests = {}
    for d in destinations:
        name, _, hp = d.partition("=")
        h, _, p = hp.rpartition(":")
        dests[name] = (h, int(p))

    def load():
        out = []
        for name in sorted(os.listdir(files_dir)):
            try:
                out.append(dcmread(os.path.join(files_dir, name), force=True))
            except Exception:
                pass
        return out

    def matches(ds, ident):
        for key in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            want = ident.get(key)
            if want not in (None, "", "*") and str(ds.get(key, "")) != str(want):
                return False
        return True

    def on_find(event):
        ident = event.identifier
        level = ident.QueryRetrieveLevel
        key = {"PATIENT": "PatientID", "STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID"}.get(level, "SOPInstanceUID")
        seen = set()
        for ds in load():
            if not matches(ds, ident) or str(ds.get(key)) in seen:
                continue
            seen.add(str(ds.get(key)))
            rsp = Dataset()
            for elem in ident:
                if elem.keyword in ds:
                    setattr(rsp, elem.keyword, ds.get(elem.keyword))
                else:
                    rsp.add(elem)
            rsp.QueryRetrieveLevel = level
            yield 0xFF00, rsp

    def on_get(event):
        found = [ds for ds in load() if matches(ds, event.identifier)]
        yield len(found)
        for ds in found:
            yield 0xFF00, ds

    def on_move(event):
        if event.move_destination.strip() not in dests:
            yield None, None
            return
        yield dests[event.move_destination.strip()]
        found = [ds for ds in load() if matches(ds, event.identifier)]
        yield len(found)
        for ds in found:
            yield 0xFF00, ds

    def on_store(event):
        ds = event.dataset
        ds.file_meta = event.file_meta
        ds.save_as(os.path.join(files_dir, "rx_" + str(ds.SOPInstanceUID)), enforce_file_format=True)
        return 0x0000

    ae = AE(ae_title=aet)
    ae.add_supported_context(Verification)
    for cx in (StudyRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelGet,
               StudyRootQueryRetrieveInformationModelMove, PatientRootQueryRetrieveInformationModelFind,
               PatientRootQueryRetrieveInformationModelGet, PatientRootQueryRetrieveInformationModelMove):
        ae.add_supported_context(cx)
    for cx in AllStoragePresentationContexts[:110]:
        ae.add_supported_context(cx.abstract_syntax, ALL_TS, scu_role=True, scp_role=True)
    # Requested contexts for C-MOVE sub-associations.
    for cx in AllStoragePresentationContexts[:120]:
        ae.add_requested_context(cx.abstract_syntax, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    handlers = [(evt.EVT_C_FIND, on_find), (evt.EVT_C_GET, on_get), (evt.EVT_C_MOVE, on_move),
                (evt.EVT_C_STORE, on_store)]
    server = ae.start_server(("127.0.0.1", int(port)), block=False, evt_handlers=handlers)
    print("ready", flush=True)
    import time
    try:
        while True:
            time.sleep(1)
    finally:
        server.shutdown()


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "corpus_index":
        corpus_index(sys.argv[2:])
    elif cmd == "find":
        find(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
    elif cmd == "get":
        get(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6])
    elif cmd == "same_dataset":
        same_dataset(sys.argv[2], sys.argv[3])
    elif cmd == "store":
        store(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif cmd == "mpps":
        mpps(*sys.argv[2:])
    elif cmd == "mwl":
        mwl(*sys.argv[2:9])
    elif cmd == "store_as_is":
        store_as_is(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif cmd == "store_stream":
        store_stream(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif cmd == "qrscp":
        qrscp(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif cmd == "find_cancel":
        find_cancel(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif cmd == "commit_then_release":
        commit_then_release(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
    elif cmd == "get_cancel":
        get_cancel(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6])
    elif cmd == "same_pixels":
        same_pixels(sys.argv[2], sys.argv[3])
    elif cmd == "commit":
        commit(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        sys.exit(f"unknown command {cmd}")
