//! Synthetic test objects: CT slices with a simple phantom, for benchmarks, load tests and
//! demos. Never used for real patients; every UID comes from Lightbox's own root.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{FileDicomObject, InMemDicomObject};

use crate::uids::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION};

/// CT Image Storage.
pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
/// Our UID root for synthetic objects.
pub const SYNTHETIC_ROOT: &str = "1.2.826.0.1.3680043.10.1431.9";

/// Describes one synthetic series.
#[derive(Debug, Clone)]
pub struct SyntheticSeries {
    /// Patient ID.
    pub patient_id: String,
    /// Patient name.
    pub patient_name: String,
    /// Study Instance UID.
    pub study_uid: String,
    /// Series Instance UID.
    pub series_uid: String,
    /// Accession number.
    pub accession: String,
    /// Study date YYYYMMDD.
    pub study_date: String,
    /// Rows and columns.
    pub size: u16,
}

impl SyntheticSeries {
    /// A series with UIDs derived from `seed` (distinct seeds, distinct UIDs).
    pub fn new(seed: u64, size: u16) -> SyntheticSeries {
        SyntheticSeries {
            patient_id: format!("SYN{seed:06}"),
            patient_name: format!("SYNTHETIC^PATIENT{seed}"),
            study_uid: format!("{SYNTHETIC_ROOT}.1.{seed}"),
            series_uid: format!("{SYNTHETIC_ROOT}.2.{seed}"),
            accession: format!("A{seed:08}"),
            study_date: "20260101".into(),
            size,
        }
    }

    /// SOP Instance UID of slice `index`.
    pub fn sop_uid(&self, index: u32) -> String {
        format!("{}.{}", self.series_uid.replace(".2.", ".3."), index + 1)
    }

    /// Slice `index` as a Part 10 object (Explicit VR Little Endian, 16-bit signed, HU).
    pub fn slice(&self, index: u32) -> Result<FileDicomObject<InMemDicomObject>, String> {
        let n = self.size as usize;
        let mut pixels = Vec::with_capacity(n * n * 2);
        let c = n as i64 / 2;
        let r_body = (n as i64 * 2) / 5;
        let r_organ = n as i64 / 8 + (index as i64 % 16);
        for y in 0..n as i64 {
            for x in 0..n as i64 {
                let d2 = (x - c) * (x - c) + (y - c) * (y - c);
                let hu: i16 = if d2 < r_organ * r_organ {
                    60
                } else if d2 < r_body * r_body {
                    ((x + y + index as i64) % 40) as i16
                } else {
                    -1000
                };
                // Stored value = HU + 1024 (rescale intercept -1024).
                pixels.extend_from_slice(&((hu as i32 + 1024) as u16).to_le_bytes());
            }
        }
        let sop_uid = self.sop_uid(index);
        let mut obj = InMemDicomObject::new_empty();
        let put = |obj: &mut InMemDicomObject, tag, vr, v: &str| {
            obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        };
        if !self.patient_name.is_ascii() {
            put(&mut obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
        }
        put(&mut obj, tags::SOP_CLASS_UID, VR::UI, CT_IMAGE_STORAGE);
        put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, &sop_uid);
        put(&mut obj, tags::STUDY_DATE, VR::DA, &self.study_date);
        put(&mut obj, tags::STUDY_TIME, VR::TM, "080000");
        put(&mut obj, tags::ACCESSION_NUMBER, VR::SH, &self.accession);
        put(&mut obj, tags::MODALITY, VR::CS, "CT");
        put(&mut obj, tags::STUDY_DESCRIPTION, VR::LO, "SYNTHETIC CT");
        put(&mut obj, tags::PATIENT_NAME, VR::PN, &self.patient_name);
        put(&mut obj, tags::PATIENT_ID, VR::LO, &self.patient_id);
        put(&mut obj, tags::PATIENT_BIRTH_DATE, VR::DA, "19700101");
        put(&mut obj, tags::PATIENT_SEX, VR::CS, "O");
        put(&mut obj, tags::SLICE_THICKNESS, VR::DS, "1");
        put(&mut obj, tags::STUDY_INSTANCE_UID, VR::UI, &self.study_uid);
        put(
            &mut obj,
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &self.series_uid,
        );
        put(&mut obj, tags::STUDY_ID, VR::SH, "1");
        put(&mut obj, tags::SERIES_NUMBER, VR::IS, "1");
        put(
            &mut obj,
            tags::INSTANCE_NUMBER,
            VR::IS,
            &(index + 1).to_string(),
        );
        put(
            &mut obj,
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            &format!("-128\\-128\\{}", index),
        );
        put(
            &mut obj,
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            "1\\0\\0\\0\\1\\0",
        );
        put(
            &mut obj,
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &format!("{}.4", self.series_uid),
        );
        obj.put(DataElement::new(
            tags::SAMPLES_PER_PIXEL,
            VR::US,
            PrimitiveValue::from(1u16),
        ));
        put(
            &mut obj,
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            "MONOCHROME2",
        );
        obj.put(DataElement::new(
            tags::ROWS,
            VR::US,
            PrimitiveValue::from(self.size),
        ));
        obj.put(DataElement::new(
            tags::COLUMNS,
            VR::US,
            PrimitiveValue::from(self.size),
        ));
        put(&mut obj, tags::PIXEL_SPACING, VR::DS, "0.5\\0.5");
        obj.put(DataElement::new(
            tags::BITS_ALLOCATED,
            VR::US,
            PrimitiveValue::from(16u16),
        ));
        obj.put(DataElement::new(
            tags::BITS_STORED,
            VR::US,
            PrimitiveValue::from(16u16),
        ));
        obj.put(DataElement::new(
            tags::HIGH_BIT,
            VR::US,
            PrimitiveValue::from(15u16),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ));
        // What the CT Image IOD asks of every image (dciodvfy checks the demo and bench
        // series): type 2 attributes may be empty, type 1 ones carry a value.
        put(
            &mut obj,
            tags::IMAGE_TYPE,
            VR::CS,
            "DERIVED\\SECONDARY\\AXIAL",
        );
        put(&mut obj, tags::REFERRING_PHYSICIAN_NAME, VR::PN, "");
        put(&mut obj, tags::PATIENT_POSITION, VR::CS, "HFS");
        put(&mut obj, tags::LATERALITY, VR::CS, "");
        put(&mut obj, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
        put(
            &mut obj,
            tags::MANUFACTURER,
            VR::LO,
            "Lightbox synthetic phantom",
        );
        put(&mut obj, tags::KVP, VR::DS, "120");
        put(&mut obj, tags::ACQUISITION_NUMBER, VR::IS, "1");
        put(&mut obj, tags::WINDOW_CENTER, VR::DS, "40");
        put(&mut obj, tags::WINDOW_WIDTH, VR::DS, "400");
        put(&mut obj, tags::RESCALE_INTERCEPT, VR::DS, "-1024");
        put(&mut obj, tags::RESCALE_SLOPE, VR::DS, "1");
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U8(pixels.into()),
        ));
        let meta = FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(CT_IMAGE_STORAGE)
            .media_storage_sop_instance_uid(sop_uid.as_str())
            .transfer_syntax("1.2.840.10008.1.2.1")
            .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
            .implementation_version_name(IMPLEMENTATION_VERSION)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(obj.with_exact_meta(meta))
    }
}
