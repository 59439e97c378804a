//! The reading lane's viewer data, independent of egui: hanging protocols (rules stored as
//! data, the most specific one chosen per study), measurements and annotations stored per
//! image so they show again when the study is reopened, and key images. Changes are
//! authorised (a radiologist's act) and audited.

pub mod hanging;
pub mod overlay;
pub mod presets;

use crate::access::{self, AccessError, Action, Actor};
use crate::imaging::measure::{Calibration, Shape};
use crate::store::viewing::StoredAnnotation;
use crate::store::{Store, StoreError};
use hanging::HangingProtocol;

/// Setting: the DICOM nodes (by name, comma-separated) asked for a patient's priors.
pub const PRIOR_NODES_SETTING: &str = "viewer.prior_nodes";

/// Setting: the viewer's image memory in MiB, shared by the viewports showing a study (each
/// viewport's share bounds its decoded-frame cache and, separately, its series on the GPU).
pub const CACHE_SETTING: &str = "viewer.cache_mib";
/// Default image memory: a 1,000-slice 512×512 CT is 500 MiB on the GPU; 2 GiB shows it beside
/// its prior with room for the decoded neighbourhood of the scroll, on an ordinary PC.
pub const DEFAULT_CACHE_MIB: usize = 2048;

/// Setting: each workstation's image cache on its disk, in MiB (images brought from the
/// practice server; the least recently filled studies go first).
pub const WORKSTATION_CACHE_SETTING: &str = "workstation.image_cache_mib";
/// Default workstation image cache: a day's reading of CT and MR with their priors.
pub const DEFAULT_WORKSTATION_CACHE_MIB: u64 = 4096;
/// The least and most a workstation's image cache may be set to (MiB).
pub const WORKSTATION_CACHE_MIB_RANGE: std::ops::RangeInclusive<u64> = 256..=4_194_304;

/// Each viewport's share of the viewer's image memory, in bytes: equal shares among the
/// viewports showing a study (a 4×4 layout must not take sixteen times an ordinary PC's memory).
pub fn memory_share_bytes(total_mib: usize, viewports_showing: usize) -> usize {
    (total_mib << 20) / viewports_showing.max(1)
}

/// The most and least a viewport's image memory may be set to (MiB): below the least a CT
/// neighbourhood does not fit; the most is a workstation's whole memory.
pub const CACHE_MIB_RANGE: std::ops::RangeInclusive<usize> = 64..=65_536;

/// Reads a memory budget typed by the administrator (MiB), refusing what cannot work.
pub fn parse_cache_mib(text: &str) -> Result<usize, ViewingError> {
    let mib: usize = text.trim().parse().map_err(|_| {
        ViewingError::Invalid(format!(
            "the image memory must be a whole number of MiB, not \"{}\"",
            text.trim()
        ))
    })?;
    if !CACHE_MIB_RANGE.contains(&mib) {
        return Err(ViewingError::Invalid(format!(
            "the image memory must be between {} and {} MiB",
            CACHE_MIB_RANGE.start(),
            CACHE_MIB_RANGE.end()
        )));
    }
    Ok(mib)
}

/// Why a viewer change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ViewingError {
    /// The role may not.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A protocol or shape that cannot be used, with the reason.
    #[error("{0}")]
    Invalid(String),
}

/// Adds the shipped protocols that are missing (local edits of them are kept).
pub fn seed_protocols(store: &Store) -> Result<(), ViewingError> {
    for p in hanging::defaults() {
        let json = serde_json::to_string(&p).map_err(|e| ViewingError::Invalid(e.to_string()))?;
        store.add_hanging_protocol_if_missing(&p.name, &json)?;
    }
    Ok(())
}

/// Every stored protocol; one whose JSON no longer reads is skipped with a log line.
pub fn protocols(store: &Store) -> Result<Vec<HangingProtocol>, ViewingError> {
    Ok(store
        .hanging_protocols()?
        .into_iter()
        .filter_map(|p| match serde_json::from_str::<HangingProtocol>(&p.rule_json) {
            Ok(rule) => Some(rule),
            Err(e) => {
                tracing::warn!(protocol = %p.name, error = %e, "a hanging protocol does not read; skipped");
                None
            }
        })
        .collect())
}

fn check(p: &HangingProtocol) -> Result<(), ViewingError> {
    if p.name.trim().is_empty() {
        return Err(ViewingError::Invalid("a protocol needs a name".into()));
    }
    if !(1..=4).contains(&p.rows) || !(1..=4).contains(&p.columns) {
        return Err(ViewingError::Invalid(
            "a layout is 1 to 4 rows by 1 to 4 columns".into(),
        ));
    }
    if p.viewports.len() > usize::from(p.rows) * usize::from(p.columns) {
        return Err(ViewingError::Invalid(format!(
            "{} viewports do not fit a {}×{} layout",
            p.viewports.len(),
            p.rows,
            p.columns
        )));
    }
    Ok(())
}

/// Saves a protocol (new or changed) by name.
pub fn save_protocol(
    store: &Store,
    actor: &Actor,
    p: &HangingProtocol,
) -> Result<(), ViewingError> {
    let subject = format!("hanging_protocol:{}", p.name);
    access::authorise(store, actor, Action::Report, &subject)?;
    check(p)?;
    let json = serde_json::to_string(p).map_err(|e| ViewingError::Invalid(e.to_string()))?;
    store.save_hanging_protocol(p.name.trim(), &json, false, &actor.login)?;
    access::audit(store, actor, "hanging_protocol.save", &subject, "ok", "")?;
    Ok(())
}

/// "Save this layout as the protocol for studies like this": matches the study's modality,
/// body part and (when given) description, and hangs what is on screen now.
pub fn protocol_like(
    name: &str,
    study: &hanging::StudyFacts,
    rows: u8,
    columns: u8,
    viewports: Vec<hanging::ViewportRule>,
    sync_scroll: bool,
) -> HangingProtocol {
    HangingProtocol {
        name: name.to_string(),
        matches: hanging::ProtocolMatch {
            modalities: study.modalities.clone(),
            body_parts: study
                .body_parts
                .iter()
                .filter(|b| !b.is_empty())
                .cloned()
                .collect(),
            study_description: String::new(),
            min_priors: viewports.iter().map(|v| v.series.study).max().unwrap_or(0),
        },
        rows,
        columns,
        viewports,
        sync_scroll,
    }
}

/// Every protocol as one JSON document (to copy to another workstation).
pub fn export_protocols(store: &Store) -> Result<String, ViewingError> {
    serde_json::to_string_pretty(&protocols(store)?)
        .map_err(|e| ViewingError::Invalid(e.to_string()))
}

/// Reads protocols exported by [`export_protocols`]; returns how many were saved.
pub fn import_protocols(store: &Store, actor: &Actor, json: &str) -> Result<usize, ViewingError> {
    let list: Vec<HangingProtocol> = serde_json::from_str(json)
        .map_err(|e| ViewingError::Invalid(format!("not a protocol export: {e}")))?;
    for p in &list {
        save_protocol(store, actor, p)?;
    }
    Ok(list.len())
}

/// An annotation as the viewer shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Annotation {
    /// Row id (to delete it).
    pub id: i64,
    /// The image.
    pub sop_instance_uid: String,
    /// Its frame.
    pub frame: u32,
    /// What was drawn.
    pub shape: Shape,
    /// A manual calibration it was measured with (None: the file's own).
    pub manual: Option<Calibration>,
    /// Who drew it.
    pub author: String,
}

/// Stores a measurement or annotation on an image.
pub fn annotate(
    store: &Store,
    actor: &Actor,
    study_uid: &str,
    sop_instance_uid: &str,
    frame: u32,
    shape: &Shape,
    calibration: Calibration,
) -> Result<i64, ViewingError> {
    let subject = format!("study:{study_uid}");
    access::authorise(store, actor, Action::Report, &subject)?;
    let shape_json =
        serde_json::to_string(shape).map_err(|e| ViewingError::Invalid(e.to_string()))?;
    let manual = match calibration {
        Calibration::Manual {
            mm_per_px,
            known_mm,
        } => Some((mm_per_px, known_mm)),
        _ => None,
    };
    let id = store.insert_annotation(&StoredAnnotation {
        id: 0,
        study_uid: study_uid.into(),
        sop_instance_uid: sop_instance_uid.into(),
        frame,
        shape_json,
        manual,
        created_by: actor.login.clone(),
    })?;
    access::audit(
        store,
        actor,
        "annotation.add",
        &subject,
        "ok",
        sop_instance_uid,
    )?;
    Ok(id)
}

/// The annotations of a study, to draw again when it is reopened.
pub fn annotations(store: &Store, study_uid: &str) -> Result<Vec<Annotation>, ViewingError> {
    Ok(store
        .annotations_of_study(study_uid)?
        .into_iter()
        .filter_map(|a| {
            let shape = serde_json::from_str::<Shape>(&a.shape_json)
                .map_err(|e| tracing::warn!(id = a.id, error = %e, "an annotation does not read"))
                .ok()?;
            Some(Annotation {
                id: a.id,
                sop_instance_uid: a.sop_instance_uid,
                frame: a.frame,
                shape,
                manual: a.manual.map(|(mm_per_px, known_mm)| Calibration::Manual {
                    mm_per_px,
                    known_mm,
                }),
                author: a.created_by,
            })
        })
        .collect())
}

/// Removes an annotation (kept in the store, marked deleted by whom).
pub fn remove_annotation(
    store: &Store,
    actor: &Actor,
    study_uid: &str,
    id: i64,
) -> Result<(), ViewingError> {
    let subject = format!("study:{study_uid}");
    access::authorise(store, actor, Action::Report, &subject)?;
    store.delete_annotation(id, &actor.login)?;
    access::audit(
        store,
        actor,
        "annotation.remove",
        &subject,
        "ok",
        &id.to_string(),
    )?;
    Ok(())
}

/// Flags or unflags a key image.
pub fn set_key_image(
    store: &Store,
    actor: &Actor,
    study_uid: &str,
    sop_instance_uid: &str,
    frame: u32,
    key: bool,
) -> Result<(), ViewingError> {
    let subject = format!("study:{study_uid}");
    access::authorise(store, actor, Action::Report, &subject)?;
    store.set_key_image(study_uid, sop_instance_uid, frame, key, &actor.login)?;
    access::audit(
        store,
        actor,
        if key {
            "key_image.add"
        } else {
            "key_image.remove"
        },
        &subject,
        "ok",
        sop_instance_uid,
    )?;
    Ok(())
}

/// What a fetch of priors from the prior nodes did (the services fetch; the viewer says it).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FetchSummary {
    /// Studies found on the nodes and not in the archive.
    pub missing: usize,
    /// Of those, studies retrieved.
    pub fetched: usize,
    /// Instances archived.
    pub instances: usize,
    /// Why some could not be asked or retrieved (node: reason).
    pub problems: Vec<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::imaging::measure::ImagePoint;

    fn setup() -> (tempfile::TempDir, Store, Actor) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        crate::ris::seed_starter_data(&store).unwrap();
        let admin =
            access::create_first_administrator(&store, "admin", "A", "long enough pw").unwrap();
        (dir, store, admin)
    }

    #[test]
    fn shipped_protocols_are_seeded_and_local_edits_survive_a_reseed() {
        let (_d, store, admin) = setup();
        let names: Vec<String> = protocols(&store)
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert!(names.contains(&"CT with prior".to_string()), "{names:?}");
        let mut ct = protocols(&store)
            .unwrap()
            .into_iter()
            .find(|p| p.name == "CT with prior")
            .unwrap();
        ct.sync_scroll = false;
        save_protocol(&store, &admin, &ct).unwrap();
        seed_protocols(&store).unwrap();
        let again = protocols(&store)
            .unwrap()
            .into_iter()
            .find(|p| p.name == "CT with prior")
            .unwrap();
        assert!(!again.sync_scroll);
        // Export, then import elsewhere.
        let json = export_protocols(&store).unwrap();
        let (_d2, other, admin2) = setup();
        assert_eq!(
            import_protocols(&other, &admin2, &json).unwrap(),
            names.len()
        );
        assert!(import_protocols(&other, &admin2, "{not json").is_err());
        let mut bad = ct.clone();
        bad.rows = 5;
        assert!(save_protocol(&store, &admin, &bad).is_err());
    }

    #[test]
    fn measurements_are_stored_per_image_and_come_back_with_their_calibration() {
        let (_d, store, admin) = setup();
        let line = Shape::Length {
            a: ImagePoint::new(1.0, 2.0),
            b: ImagePoint::new(30.0, 2.0),
        };
        let manual =
            Calibration::manual(ImagePoint::new(0.0, 0.0), ImagePoint::new(10.0, 0.0), 5.0)
                .unwrap();
        let id = annotate(&store, &admin, "1.2.3", "1.2.3.4", 0, &line, manual).unwrap();
        annotate(
            &store,
            &admin,
            "1.2.3",
            "1.2.3.5",
            2,
            &Shape::Text {
                at: ImagePoint::new(5.0, 5.0),
                text: "cyst".into(),
            },
            Calibration::None,
        )
        .unwrap();
        let back = annotations(&store, "1.2.3").unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].shape, line);
        assert_eq!(back[0].manual, Some(manual));
        assert_eq!(back[1].frame, 2);
        remove_annotation(&store, &admin, "1.2.3", id).unwrap();
        assert_eq!(annotations(&store, "1.2.3").unwrap().len(), 1);
        set_key_image(&store, &admin, "1.2.3", "1.2.3.4", 0, true).unwrap();
        assert!(store.is_key_image("1.2.3.4", 0).unwrap());
        assert_eq!(
            store.key_images("1.2.3").unwrap(),
            vec![("1.2.3.4".to_string(), 0)]
        );
        // A front-desk user may not draw on images.
        access::create_user(
            &store,
            &admin,
            "fd",
            "F",
            access::Role::FrontDesk,
            "long enough pw",
        )
        .unwrap();
        let fd = access::sign_in(&store, "fd", "long enough pw", "t").unwrap();
        assert!(annotate(&store, &fd, "1.2.3", "1.2.3.4", 0, &line, Calibration::None).is_err());
    }
}

/// What an export to the archive made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExportedMarks {
    /// Key Object Selection documents (0 or 1).
    pub key_object_documents: usize,
    /// Presentation states (one per image with measurements).
    pub presentation_states: usize,
}

fn reference(
    store: &Store,
    archive: &crate::archive::ArchiveFolder,
    sop: &str,
) -> Result<
    (
        crate::pacs::presentation::ImageReference,
        dicom_object::InMemDicomObject,
    ),
    ViewingError,
> {
    use dicom_dictionary_std::tags;
    let instance = store
        .instance_by_sop_uid(sop)?
        .ok_or_else(|| ViewingError::Invalid(format!("image {sop} is not in the archive")))?;
    let path = archive
        .path_of(&instance.file_path)
        .map_err(|e| ViewingError::Invalid(e.to_string()))?;
    let header = dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(&path)
        .map_err(|e| ViewingError::Invalid(format!("{}: {e}", path.display())))?
        .into_inner();
    Ok((
        crate::pacs::presentation::ImageReference {
            sop_class: crate::pacs::attributes::text(&header, tags::SOP_CLASS_UID),
            sop_instance: sop.to_string(),
            series_uid: instance.series_uid,
            frame: 0,
        },
        header,
    ))
}

fn archive_object(
    ingest: &dyn crate::archive::received::ObjectArchiver,
    object: &dicom_object::InMemDicomObject,
) -> Result<(), ViewingError> {
    use dicom_encoding::TransferSyntaxIndex;
    const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
    let ts = dicom_transfer_syntax_registry::TransferSyntaxRegistry
        .get(EXPLICIT_LE)
        .ok_or_else(|| ViewingError::Invalid("no Explicit VR Little Endian".into()))?;
    let dataset =
        lightbox_codec::encode::encode_dataset(object, ts).map_err(ViewingError::Invalid)?;
    ingest
        .archive_object(crate::archive::received::ReceivedObject {
            dataset,
            transfer_syntax: EXPLICIT_LE.into(),
            announced_sop_class: None,
            announced_sop_instance: None,
            source: "lightbox".into(),
        })
        .map_err(|e| ViewingError::Invalid(format!("the archive refused it: {e}")))?;
    Ok(())
}

/// The shape as presentation-state graphics, with its measurement as text.
fn graphics_of(shape: &Shape, label: &str) -> Vec<crate::pacs::presentation::Graphic> {
    use crate::pacs::presentation::Graphic;
    let p = |q: &crate::imaging::measure::ImagePoint| (q.x as f32, q.y as f32);
    let mut out = match shape {
        Shape::Length { a, b } | Shape::Arrow { tail: a, head: b } => {
            vec![Graphic::Polyline(vec![p(a), p(b)])]
        }
        Shape::Polyline { points } => vec![Graphic::Polyline(points.iter().map(p).collect())],
        Shape::Angle { a, vertex, b } => vec![Graphic::Polyline(vec![p(a), p(vertex), p(b)])],
        Shape::Cobb { first, second } => vec![
            Graphic::Polyline(vec![p(&first.0), p(&first.1)]),
            Graphic::Polyline(vec![p(&second.0), p(&second.1)]),
        ],
        Shape::Ellipse {
            centre,
            radius_x,
            radius_y,
        } => {
            let (cx, cy, rx, ry) = (
                centre.x as f32,
                centre.y as f32,
                *radius_x as f32,
                *radius_y as f32,
            );
            let (major, minor) = if rx >= ry {
                (
                    [(cx - rx, cy), (cx + rx, cy)],
                    [(cx, cy - ry), (cx, cy + ry)],
                )
            } else {
                (
                    [(cx, cy - ry), (cx, cy + ry)],
                    [(cx - rx, cy), (cx + rx, cy)],
                )
            };
            vec![Graphic::Ellipse([major[0], major[1], minor[0], minor[1]])]
        }
        Shape::Rectangle { a, b } => vec![Graphic::Polyline(vec![
            p(a),
            (b.x as f32, a.y as f32),
            p(b),
            (a.x as f32, b.y as f32),
            p(a),
        ])],
        Shape::Point { at } => vec![Graphic::Point(p(at))],
        Shape::Text { .. } => vec![],
    };
    let anchor = match shape {
        Shape::Length { b, .. } | Shape::Rectangle { b, .. } | Shape::Arrow { head: b, .. } => p(b),
        Shape::Polyline { points } => points.last().map(p).unwrap_or((0.0, 0.0)),
        Shape::Angle { vertex, .. } => p(vertex),
        Shape::Cobb { second, .. } => p(&second.1),
        Shape::Ellipse {
            centre, radius_x, ..
        } => ((centre.x + radius_x) as f32, centre.y as f32),
        Shape::Point { at } | Shape::Text { at, .. } => p(at),
    };
    if !label.is_empty() {
        out.push(Graphic::Text(label.to_string(), anchor));
    }
    out
}

/// Stores the study's key images as a Key Object Selection document and each image's
/// measurements as a Grayscale Softcopy Presentation State in the archive, so other viewers
/// and the next reader see them (and they go wherever the study is sent); `window` is the one
/// the radiologist set, carried in the presentation states.
pub fn export_to_archive(
    store: &Store,
    ingest: &dyn crate::archive::received::ObjectArchiver,
    archive: &crate::archive::ArchiveFolder,
    actor: &Actor,
    study_uid: &str,
    now: chrono::NaiveDateTime,
    window: Option<crate::imaging::Window>,
) -> Result<ExportedMarks, ViewingError> {
    use crate::pacs::presentation::{StudyContext, key_object_selection, presentation_state};
    let subject = format!("study:{study_uid}");
    access::authorise(store, actor, Action::Report, &subject)?;
    let mut done = ExportedMarks::default();
    let keys = store.key_images(study_uid)?;
    if !keys.is_empty() {
        let mut refs = Vec::new();
        let mut context = None;
        for (sop, _) in &keys {
            let (r, header) = reference(store, archive, sop)?;
            context.get_or_insert_with(|| StudyContext::from_image(&header));
            refs.push(r);
        }
        if let Some(context) = context {
            let kos = key_object_selection(
                &context,
                &refs,
                &format!("Key images marked by {}", actor.login),
                (
                    &lightbox_codec::uids::new_uid(),
                    &lightbox_codec::uids::new_uid(),
                ),
                now,
            );
            archive_object(ingest, &kos)?;
            done.key_object_documents = 1;
        }
    }
    let marks = annotations(store, study_uid)?;
    let mut images: Vec<&str> = marks.iter().map(|a| a.sop_instance_uid.as_str()).collect();
    images.sort();
    images.dedup();
    let series_uid = lightbox_codec::uids::new_uid();
    for sop in images {
        let (r, header) = reference(store, archive, sop)?;
        let columns = header
            .get(dicom_dictionary_std::tags::COLUMNS)
            .and_then(|e| e.to_int::<u32>().ok())
            .unwrap_or(0);
        let rows = header
            .get(dicom_dictionary_std::tags::ROWS)
            .and_then(|e| e.to_int::<u32>().ok())
            .unwrap_or(0);
        let calibration = crate::imaging::measure::Calibration::from_spacing(
            crate::imaging::spacing::pixel_spacing(&header),
        );
        let graphics: Vec<_> = marks
            .iter()
            .filter(|a| a.sop_instance_uid == sop)
            .flat_map(|a| {
                let m = crate::imaging::measure::measure(
                    &a.shape,
                    a.manual.unwrap_or(calibration),
                    None,
                );
                let label = if m.value.is_some() && m.unit != "°" {
                    format!("{} ({})", m.text, m.source)
                } else {
                    m.text
                };
                graphics_of(&a.shape, &label)
            })
            .collect();
        let mut pr = presentation_state(
            &StudyContext::from_image(&header),
            &r,
            (columns, rows),
            &graphics,
            &actor.login,
            (&series_uid, &lightbox_codec::uids::new_uid()),
            now,
        );
        if let Some(w) = window {
            crate::pacs::presentation::set_window(&mut pr, &r, w.center, w.width);
        }
        archive_object(ingest, &pr)?;
        done.presentation_states += 1;
    }
    access::audit(
        store,
        actor,
        "study.export_marks",
        &subject,
        "ok",
        &format!(
            "{} KOS, {} GSPS",
            done.key_object_documents, done.presentation_states
        ),
    )?;
    Ok(done)
}

#[cfg(test)]
mod memory_tests {
    #[test]
    fn the_image_memory_is_shared_equally_by_the_viewports_showing_a_study() {
        assert_eq!(super::memory_share_bytes(2048, 1), 2048 << 20);
        assert_eq!(super::memory_share_bytes(2048, 4), 512 << 20);
        assert_eq!(super::memory_share_bytes(2048, 0), 2048 << 20);
    }
}
