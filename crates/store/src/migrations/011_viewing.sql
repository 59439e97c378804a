-- The diagnostic viewer's data: hanging protocols as rules (JSON, editable and exportable),
-- measurements and annotations per image, and key images per study.
CREATE TABLE hanging_protocols (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    rule_json   TEXT NOT NULL,               -- see src/viewing/hanging.rs
    builtin     INTEGER NOT NULL DEFAULT 0,  -- shipped with Lightbox (restored if deleted)
    changed_by  TEXT NOT NULL DEFAULT '',
    changed_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

CREATE TABLE annotations (
    id                INTEGER PRIMARY KEY,
    study_uid         TEXT NOT NULL,
    sop_instance_uid  TEXT NOT NULL,
    frame             INTEGER NOT NULL DEFAULT 0,
    shape_json        TEXT NOT NULL,          -- src/imaging/measure.rs Shape
    manual_mm_per_px  REAL,                   -- a manual calibration it was measured with
    manual_known_mm   REAL,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    deleted_by        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX annotations_image ON annotations(sop_instance_uid, frame);
CREATE INDEX annotations_study ON annotations(study_uid);

CREATE TABLE key_images (
    study_uid         TEXT NOT NULL,
    sop_instance_uid  TEXT NOT NULL,
    frame             INTEGER NOT NULL DEFAULT 0,
    note              TEXT NOT NULL DEFAULT '',
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (sop_instance_uid, frame)
);
CREATE INDEX key_images_study ON key_images(study_uid);
