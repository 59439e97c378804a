//! The radiologist's marks as DICOM, so other viewers and the next reader see them: key images
//! as a Key Object Selection document (PS3.3 A.35.4, "Of Interest") and measurements and
//! annotations as a Grayscale Softcopy Presentation State per image (A.33, graphics in image
//! pixel units). Both are built here and archived through the normal ingest.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::attributes::text;

/// Key Object Selection Document Storage.
pub const KEY_OBJECT_SELECTION: &str = "1.2.840.10008.5.1.4.1.1.88.59";
/// Grayscale Softcopy Presentation State Storage.
pub const GRAYSCALE_PRESENTATION_STATE: &str = "1.2.840.10008.5.1.4.1.1.11.1";

/// One referenced image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// SOP Class UID.
    pub sop_class: String,
    /// SOP Instance UID.
    pub sop_instance: String,
    /// Its series.
    pub series_uid: String,
    /// Frame (1-based for multi-frame images; 0 = not a multi-frame reference).
    pub frame: u32,
}

/// The patient and study attributes both documents copy from the images they reference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudyContext {
    attributes: Vec<(Tag, VR, String)>,
    /// Study Instance UID.
    pub study_uid: String,
}

/// Patient and study attributes copied into a new object of the same study.
const COPIED: [(Tag, VR); 11] = [
    (tags::SPECIFIC_CHARACTER_SET, VR::CS),
    (tags::PATIENT_NAME, VR::PN),
    (tags::PATIENT_ID, VR::LO),
    (tags::ISSUER_OF_PATIENT_ID, VR::LO),
    (tags::PATIENT_BIRTH_DATE, VR::DA),
    (tags::PATIENT_SEX, VR::CS),
    (tags::STUDY_DATE, VR::DA),
    (tags::STUDY_TIME, VR::TM),
    (tags::ACCESSION_NUMBER, VR::SH),
    (tags::REFERRING_PHYSICIAN_NAME, VR::PN),
    (tags::STUDY_ID, VR::SH),
];

impl StudyContext {
    /// The context of an image's study.
    pub fn from_image(image: &InMemDicomObject) -> StudyContext {
        StudyContext {
            attributes: COPIED
                .iter()
                .map(|(tag, vr)| (*tag, *vr, text(image, *tag)))
                .collect(),
            study_uid: text(image, tags::STUDY_INSTANCE_UID),
        }
    }

    fn apply(&self, obj: &mut InMemDicomObject) {
        for (tag, vr, value) in &self.attributes {
            // An image without a declared character set: none is written (an empty Specific
            // Character Set is not allowed), unless a copied value needs one.
            if *tag == tags::SPECIFIC_CHARACTER_SET && value.is_empty() {
                continue;
            }
            put(obj, *tag, *vr, value);
        }
        let declared = obj.get(tags::SPECIFIC_CHARACTER_SET).is_some();
        if !declared && self.attributes.iter().any(|(_, _, v)| !v.is_ascii()) {
            put(obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
        }
        put(obj, tags::STUDY_INSTANCE_UID, VR::UI, &self.study_uid);
    }
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(
        tag,
        vr,
        if value.is_empty() {
            PrimitiveValue::Empty
        } else {
            PrimitiveValue::from(value)
        },
    ));
}

fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    let mut c = InMemDicomObject::new_empty();
    put(&mut c, tags::CODE_VALUE, VR::SH, value);
    put(&mut c, tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme);
    put(&mut c, tags::CODE_MEANING, VR::LO, meaning);
    c
}

fn sop_reference(image: &ImageReference) -> InMemDicomObject {
    let mut r = InMemDicomObject::new_empty();
    put(
        &mut r,
        tags::REFERENCED_SOP_CLASS_UID,
        VR::UI,
        &image.sop_class,
    );
    put(
        &mut r,
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        &image.sop_instance,
    );
    if image.frame > 0 {
        put(
            &mut r,
            tags::REFERENCED_FRAME_NUMBER,
            VR::IS,
            &image.frame.to_string(),
        );
    }
    r
}

/// Images grouped by series, as the evidence and relationship sequences want them.
fn by_series(
    study_uid: &str,
    images: &[ImageReference],
) -> (Vec<InMemDicomObject>, Vec<InMemDicomObject>) {
    let mut series: Vec<(String, Vec<InMemDicomObject>)> = Vec::new();
    for image in images {
        match series.iter_mut().find(|(uid, _)| *uid == image.series_uid) {
            Some((_, refs)) => refs.push(sop_reference(image)),
            None => series.push((image.series_uid.clone(), vec![sop_reference(image)])),
        }
    }
    let mut for_evidence = Vec::new();
    let mut for_relationship = Vec::new();
    for (uid, refs) in series {
        let mut s = InMemDicomObject::new_empty();
        put(&mut s, tags::SERIES_INSTANCE_UID, VR::UI, &uid);
        put_seq(&mut s, tags::REFERENCED_SOP_SEQUENCE, refs.clone());
        for_evidence.push(s);
        let mut r = InMemDicomObject::new_empty();
        put(&mut r, tags::SERIES_INSTANCE_UID, VR::UI, &uid);
        put_seq(&mut r, tags::REFERENCED_IMAGE_SEQUENCE, refs);
        for_relationship.push(r);
    }
    let mut study = InMemDicomObject::new_empty();
    put(&mut study, tags::STUDY_INSTANCE_UID, VR::UI, study_uid);
    put_seq(&mut study, tags::REFERENCED_SERIES_SEQUENCE, for_evidence);
    (vec![study], for_relationship)
}

/// New series and instance identity, equipment and dates common to both documents.
fn identity(
    obj: &mut InMemDicomObject,
    sop_class: &str,
    modality: &str,
    series_uid: &str,
    sop_uid: &str,
    now: chrono::NaiveDateTime,
) {
    put(obj, tags::SOP_CLASS_UID, VR::UI, sop_class);
    put(obj, tags::SOP_INSTANCE_UID, VR::UI, sop_uid);
    put(obj, tags::MODALITY, VR::CS, modality);
    put(obj, tags::SERIES_INSTANCE_UID, VR::UI, series_uid);
    put(obj, tags::SERIES_NUMBER, VR::IS, "900");
    put(obj, tags::INSTANCE_NUMBER, VR::IS, "1");
    put(obj, tags::MANUFACTURER, VR::LO, "Lightbox");
    put(
        obj,
        tags::CONTENT_DATE,
        VR::DA,
        &now.format("%Y%m%d").to_string(),
    );
    put(
        obj,
        tags::CONTENT_TIME,
        VR::TM,
        &now.format("%H%M%S").to_string(),
    );
}

/// A Key Object Selection document flagging `images` "Of Interest", with `description`.
pub fn key_object_selection(
    context: &StudyContext,
    images: &[ImageReference],
    description: &str,
    uids: (&str, &str),
    now: chrono::NaiveDateTime,
) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    context.apply(&mut obj);
    identity(&mut obj, KEY_OBJECT_SELECTION, "KO", uids.0, uids.1, now);
    put_seq(
        &mut obj,
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        vec![],
    );
    let (evidence, _) = by_series(&context.study_uid, images);
    put_seq(
        &mut obj,
        tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
        evidence,
    );
    put(&mut obj, tags::VALUE_TYPE, VR::CS, "CONTAINER");
    put_seq(
        &mut obj,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code("113000", "DCM", "Of Interest")],
    );
    put(&mut obj, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
    let mut template = InMemDicomObject::new_empty();
    put(&mut template, tags::MAPPING_RESOURCE, VR::CS, "DCMR");
    put(&mut template, tags::TEMPLATE_IDENTIFIER, VR::CS, "2010");
    put_seq(&mut obj, tags::CONTENT_TEMPLATE_SEQUENCE, vec![template]);
    let mut content = Vec::new();
    if !description.is_empty() {
        let mut t = InMemDicomObject::new_empty();
        put(&mut t, tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS");
        put(&mut t, tags::VALUE_TYPE, VR::CS, "TEXT");
        put_seq(
            &mut t,
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code("113012", "DCM", "Key Object Description")],
        );
        put(&mut t, tags::TEXT_VALUE, VR::UT, description);
        content.push(t);
    }
    for image in images {
        let mut item = InMemDicomObject::new_empty();
        put(&mut item, tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS");
        put(&mut item, tags::VALUE_TYPE, VR::CS, "IMAGE");
        put_seq(
            &mut item,
            tags::REFERENCED_SOP_SEQUENCE,
            vec![sop_reference(image)],
        );
        content.push(item);
    }
    put_seq(&mut obj, tags::CONTENT_SEQUENCE, content);
    obj
}

/// A graphic of a presentation state, in image pixel coordinates (0\0 is the top-left
/// corner of the image).
#[derive(Debug, Clone, PartialEq)]
pub enum Graphic {
    /// An open or closed polyline.
    Polyline(Vec<(f32, f32)>),
    /// An ellipse: the major axis's two ends, then the minor axis's.
    Ellipse([(f32, f32); 4]),
    /// A point.
    Point((f32, f32)),
    /// Text at an anchor.
    Text(String, (f32, f32)),
}

/// A Grayscale Softcopy Presentation State drawing `graphics` on `image` (of `columns` ×
/// `rows`), on one layer named "MEASUREMENTS".
pub fn presentation_state(
    context: &StudyContext,
    image: &ImageReference,
    (columns, rows): (u32, u32),
    graphics: &[Graphic],
    creator: &str,
    uids: (&str, &str),
    now: chrono::NaiveDateTime,
) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    context.apply(&mut obj);
    // General Series: laterality is not known for a presentation state of any image.
    put(&mut obj, tags::LATERALITY, VR::CS, "");
    identity(
        &mut obj,
        GRAYSCALE_PRESENTATION_STATE,
        "PR",
        uids.0,
        uids.1,
        now,
    );
    put(&mut obj, tags::CONTENT_LABEL, VR::CS, "MEASUREMENTS");
    put(
        &mut obj,
        tags::CONTENT_DESCRIPTION,
        VR::LO,
        "Lightbox measurements",
    );
    put(
        &mut obj,
        tags::PRESENTATION_CREATION_DATE,
        VR::DA,
        &now.format("%Y%m%d").to_string(),
    );
    put(
        &mut obj,
        tags::PRESENTATION_CREATION_TIME,
        VR::TM,
        &now.format("%H%M%S").to_string(),
    );
    put(&mut obj, tags::CONTENT_CREATOR_NAME, VR::PN, creator);
    let (_, relationship) = by_series(&context.study_uid, std::slice::from_ref(image));
    put_seq(&mut obj, tags::REFERENCED_SERIES_SEQUENCE, relationship);
    let mut area = InMemDicomObject::new_empty();
    area.put(DataElement::new(
        tags::DISPLAYED_AREA_TOP_LEFT_HAND_CORNER,
        VR::SL,
        PrimitiveValue::I32([1, 1].into()),
    ));
    area.put(DataElement::new(
        tags::DISPLAYED_AREA_BOTTOM_RIGHT_HAND_CORNER,
        VR::SL,
        PrimitiveValue::I32([columns as i32, rows as i32].into()),
    ));
    put(
        &mut area,
        tags::PRESENTATION_SIZE_MODE,
        VR::CS,
        "SCALE TO FIT",
    );
    area.put(DataElement::new(
        tags::PRESENTATION_PIXEL_ASPECT_RATIO,
        VR::IS,
        PrimitiveValue::Strs(["1".to_string(), "1".to_string()].into()),
    ));
    put_seq(
        &mut obj,
        tags::DISPLAYED_AREA_SELECTION_SEQUENCE,
        vec![area],
    );
    let mut objects = Vec::new();
    let mut texts = Vec::new();
    for g in graphics {
        let (kind, points): (&str, Vec<(f32, f32)>) = match g {
            Graphic::Polyline(p) => ("POLYLINE", p.clone()),
            Graphic::Ellipse(p) => ("ELLIPSE", p.to_vec()),
            Graphic::Point(p) => ("POINT", vec![*p]),
            Graphic::Text(t, at) => {
                let mut item = InMemDicomObject::new_empty();
                put(&mut item, tags::UNFORMATTED_TEXT_VALUE, VR::ST, t);
                put(
                    &mut item,
                    tags::ANCHOR_POINT_ANNOTATION_UNITS,
                    VR::CS,
                    "PIXEL",
                );
                item.put(DataElement::new(
                    tags::ANCHOR_POINT,
                    VR::FL,
                    PrimitiveValue::F32([at.0, at.1].into()),
                ));
                put(&mut item, tags::ANCHOR_POINT_VISIBILITY, VR::CS, "N");
                texts.push(item);
                continue;
            }
        };
        let mut item = InMemDicomObject::new_empty();
        put(&mut item, tags::GRAPHIC_ANNOTATION_UNITS, VR::CS, "PIXEL");
        item.put(DataElement::new(
            tags::GRAPHIC_DIMENSIONS,
            VR::US,
            PrimitiveValue::from(2u16),
        ));
        item.put(DataElement::new(
            tags::NUMBER_OF_GRAPHIC_POINTS,
            VR::US,
            PrimitiveValue::from(points.len() as u16),
        ));
        item.put(DataElement::new(
            tags::GRAPHIC_DATA,
            VR::FL,
            PrimitiveValue::F32(points.iter().flat_map(|(x, y)| [*x, *y]).collect()),
        ));
        put(&mut item, tags::GRAPHIC_TYPE, VR::CS, kind);
        put(&mut item, tags::GRAPHIC_FILLED, VR::CS, "N");
        objects.push(item);
    }
    let mut annotation = InMemDicomObject::new_empty();
    put(&mut annotation, tags::GRAPHIC_LAYER, VR::CS, "MEASUREMENTS");
    let (_, relationship) = by_series(&context.study_uid, std::slice::from_ref(image));
    let refs = relationship
        .first()
        .and_then(|s| s.get(tags::REFERENCED_IMAGE_SEQUENCE))
        .and_then(|e| e.items())
        .map(|i| i.to_vec())
        .unwrap_or_default();
    put_seq(&mut annotation, tags::REFERENCED_IMAGE_SEQUENCE, refs);
    if !objects.is_empty() {
        put_seq(&mut annotation, tags::GRAPHIC_OBJECT_SEQUENCE, objects);
    }
    if !texts.is_empty() {
        put_seq(&mut annotation, tags::TEXT_OBJECT_SEQUENCE, texts);
    }
    put_seq(
        &mut obj,
        tags::GRAPHIC_ANNOTATION_SEQUENCE,
        vec![annotation],
    );
    let mut layer = InMemDicomObject::new_empty();
    put(&mut layer, tags::GRAPHIC_LAYER, VR::CS, "MEASUREMENTS");
    layer.put(DataElement::new(
        tags::GRAPHIC_LAYER_ORDER,
        VR::IS,
        PrimitiveValue::from("1"),
    ));
    put(
        &mut layer,
        tags::GRAPHIC_LAYER_DESCRIPTION,
        VR::LO,
        "Measurements",
    );
    put_seq(&mut obj, tags::GRAPHIC_LAYER_SEQUENCE, vec![layer]);
    put(&mut obj, tags::PRESENTATION_LUT_SHAPE, VR::CS, "IDENTITY");
    obj
}

/// Adds the window the radiologist read `image` with (Softcopy VOI LUT module), so another
/// viewer shows it the same way.
pub fn set_window(state: &mut InMemDicomObject, image: &ImageReference, center: f64, width: f64) {
    let mut voi = InMemDicomObject::new_empty();
    put_seq(
        &mut voi,
        tags::REFERENCED_IMAGE_SEQUENCE,
        vec![sop_reference(image)],
    );
    put(
        &mut voi,
        tags::WINDOW_CENTER,
        VR::DS,
        &format!("{center:.1}"),
    );
    put(
        &mut voi,
        tags::WINDOW_WIDTH,
        VR::DS,
        &format!("{:.1}", width.max(1.0)),
    );
    put_seq(state, tags::SOFTCOPY_VOILUT_SEQUENCE, vec![voi]);
}
