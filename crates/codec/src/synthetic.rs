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
    /// What the slices show: the benchmark disc, or a head phantom across that many slices
    /// as CT (Hounsfield units) or MR (T1-like signal).
    pub anatomy: Anatomy,
}

/// The content of synthetic slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Anatomy {
    /// A disc with a changing inner circle and a ramp (benchmarks, load tests): 0.5 mm pixels.
    #[default]
    Disc,
    /// The 3-D Shepp–Logan head phantom (skull, brain with grey and white matter, ventricles,
    /// small lesions) over `slices` axial slices of a 240 mm field of view, in CT numbers.
    HeadCt {
        /// Slices the head is spread over (top of the skull to the skull base).
        slices: u32,
    },
    /// The same head with T1-like MR signal (fat-bright skull marrow, dark CSF, white matter
    /// brighter than grey).
    HeadMr {
        /// Slices the head is spread over.
        slices: u32,
    },
    /// A chest and upper abdomen (lungs with a nodule, heart, aorta, spine, liver with a cyst
    /// and the gallbladder) over `slices` axial slices of a 400 mm field of view, in CT numbers.
    BodyCt {
        /// Slices from the lung apices to the liver.
        slices: u32,
    },
    /// The same body with T1-like MR signal (bright fat, dark fluid and lungs).
    BodyMr {
        /// Slices from the lung apices to the liver.
        slices: u32,
    },
    /// The body projected as a chest radiograph: even images PA, odd ones lateral.
    ChestRadiograph,
    /// Mammogram views of a breast with a mass and microcalcifications: RCC, LCC, RMLO, LMLO.
    Mammogram,
    /// Abdominal ultrasound frames: the liver and the gallbladder with a stone.
    Ultrasound,
}

mod phantoms;

/// Tissues of the head phantom, innermost wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tissue {
    Air,
    Skull,
    GreyMatter,
    WhiteMatter,
    Csf,
    Lesion,
    Hyperdense,
}

/// One ellipsoid of the phantom in the unit cube: semi-axes, centre, rotation about z.
struct Ellipsoid {
    axes: [f64; 3],
    centre: [f64; 3],
    phi_deg: f64,
    tissue: Tissue,
}

/// The 3-D Shepp–Logan phantom's ellipsoids (Kak & Slaney's parameters), each given the tissue
/// it stands for; an inner ellipsoid of the brain stands in for white matter.
const HEAD: [Ellipsoid; 11] = [
    Ellipsoid {
        axes: [0.69, 0.92, 0.81],
        centre: [0.0, 0.0, 0.0],
        phi_deg: 0.0,
        tissue: Tissue::Skull,
    },
    Ellipsoid {
        axes: [0.6624, 0.874, 0.78],
        centre: [0.0, -0.0184, 0.0],
        phi_deg: 0.0,
        tissue: Tissue::GreyMatter,
    },
    Ellipsoid {
        axes: [0.56, 0.76, 0.66],
        centre: [0.0, -0.0184, 0.02],
        phi_deg: 0.0,
        tissue: Tissue::WhiteMatter,
    },
    Ellipsoid {
        axes: [0.11, 0.31, 0.22],
        centre: [0.22, 0.0, 0.0],
        phi_deg: -18.0,
        tissue: Tissue::Csf,
    },
    Ellipsoid {
        axes: [0.16, 0.41, 0.28],
        centre: [-0.22, 0.0, 0.0],
        phi_deg: 18.0,
        tissue: Tissue::Csf,
    },
    Ellipsoid {
        axes: [0.21, 0.25, 0.41],
        centre: [0.0, 0.35, -0.15],
        phi_deg: 0.0,
        tissue: Tissue::GreyMatter,
    },
    Ellipsoid {
        axes: [0.046, 0.046, 0.05],
        centre: [0.0, 0.1, 0.25],
        phi_deg: 0.0,
        tissue: Tissue::Lesion,
    },
    Ellipsoid {
        axes: [0.046, 0.046, 0.05],
        centre: [0.0, -0.1, 0.25],
        phi_deg: 0.0,
        tissue: Tissue::Hyperdense,
    },
    Ellipsoid {
        axes: [0.046, 0.023, 0.05],
        centre: [-0.08, -0.605, 0.0],
        phi_deg: 0.0,
        tissue: Tissue::Lesion,
    },
    Ellipsoid {
        axes: [0.023, 0.023, 0.02],
        centre: [0.0, -0.606, 0.0],
        phi_deg: 0.0,
        tissue: Tissue::Hyperdense,
    },
    Ellipsoid {
        axes: [0.023, 0.046, 0.02],
        centre: [0.06, -0.605, 0.0],
        phi_deg: 0.0,
        tissue: Tissue::Lesion,
    },
];

/// The tissue at a point of the unit cube (x right, y anterior, z up).
fn tissue_at(p: [f64; 3]) -> Tissue {
    let inside = |e: &Ellipsoid| {
        let (s, c) = e.phi_deg.to_radians().sin_cos();
        let (dx, dy, dz) = (p[0] - e.centre[0], p[1] - e.centre[1], p[2] - e.centre[2]);
        let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
        (u / e.axes[0]).powi(2) + (v / e.axes[1]).powi(2) + (dz / e.axes[2]).powi(2) <= 1.0
    };
    HEAD.iter()
        .rev()
        .find(|e| inside(e))
        .map_or(Tissue::Air, |e| e.tissue)
}

/// A small, repeatable grain (a few units either way) so the phantom reads like an image.
fn grain(x: i64, y: i64, z: i64) -> i32 {
    let mut h = (x as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((y as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
        .wrapping_add((z as u64).wrapping_mul(0x1656_67B1_9E37_79F9));
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    (h % 9) as i32 - 4
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
            anatomy: Anatomy::Disc,
        }
    }

    /// The stored value (CT number + 1024, or MR signal) of pixel (x, y) of slice `index`.
    fn value(&self, x: i64, y: i64, index: u32) -> u16 {
        let n = i64::from(self.size);
        match self.anatomy {
            Anatomy::Disc => {
                let c = n / 2;
                let r_body = (n * 2) / 5;
                let r_organ = n / 8 + (i64::from(index) % 16);
                let d2 = (x - c) * (x - c) + (y - c) * (y - c);
                let hu: i32 = if d2 < r_organ * r_organ {
                    60
                } else if d2 < r_body * r_body {
                    ((x + y + i64::from(index)) % 40) as i32
                } else {
                    -1000
                };
                (hu + 1024) as u16
            }
            Anatomy::HeadCt { slices } | Anatomy::HeadMr { slices } => {
                // Columns run from the patient's right to left, rows from anterior to
                // posterior, slices from the top of the head down.
                let half = (n as f64) / 2.0;
                let px = (x as f64 + 0.5 - half) / half;
                let py = -((y as f64 + 0.5 - half) / half);
                let pz = 0.5 - 1.1 * f64::from(index) / f64::from(slices.max(2) - 1);
                let tissue = tissue_at([px, py, pz]);
                let noise = grain(x, y, i64::from(index));
                let value = if matches!(self.anatomy, Anatomy::HeadCt { .. }) {
                    1024 + match tissue {
                        Tissue::Air => -1000 + noise,
                        Tissue::Skull => 1100 + 20 * noise,
                        Tissue::GreyMatter => 38 + noise,
                        Tissue::WhiteMatter => 27 + noise,
                        Tissue::Csf => 6 + noise,
                        Tissue::Lesion => 18 + noise,
                        Tissue::Hyperdense => 68 + noise,
                    }
                } else {
                    match tissue {
                        Tissue::Air => 4 + noise.abs(),
                        Tissue::Skull => 820 + 6 * noise,
                        Tissue::GreyMatter => 420 + 5 * noise,
                        Tissue::WhiteMatter => 560 + 5 * noise,
                        Tissue::Csf => 90 + 4 * noise,
                        Tissue::Lesion => 250 + 5 * noise,
                        Tissue::Hyperdense => 700 + 5 * noise,
                    }
                };
                value.clamp(0, i32::from(u16::MAX)) as u16
            }
            Anatomy::BodyCt { slices } => {
                let hu = phantoms::body_ct_hu(x, y, n, index, slices);
                (1024 + hu + grain(x, y, i64::from(index))).clamp(0, i32::from(u16::MAX)) as u16
            }
            Anatomy::BodyMr { slices } => {
                let signal = match phantoms::body_ct_hu(x, y, n, index, slices) {
                    hu if hu <= -700 => 8, // air and lung
                    hu if hu < -20 => 720, // fat
                    hu if hu > 300 => 260, // bone (marrow)
                    hu if hu <= 25 => 140, // fluid: bile, CSF, a cyst
                    hu if hu >= 55 => 430, // liver
                    _ => 330,              // muscle, heart, vessels
                };
                (signal + 4 * grain(x, y, i64::from(index))).clamp(0, i32::from(u16::MAX)) as u16
            }
            Anatomy::ChestRadiograph => {
                let v = i32::from(phantoms::chest_radiograph(x, y, n, index % 2 == 1));
                (v + 6 * grain(x, y, i64::from(index))).clamp(0, 4095) as u16
            }
            Anatomy::Mammogram => {
                let v = i32::from(phantoms::mammogram(x, y, n, index % 4));
                (v + 8 * grain(x, y, i64::from(index))).clamp(0, 4095) as u16
            }
            Anatomy::Ultrasound => phantoms::ultrasound(x, y, n, index),
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
        for y in 0..n as i64 {
            for x in 0..n as i64 {
                pixels.extend_from_slice(&self.value(x, y, index).to_le_bytes());
            }
        }
        // The head fills a 240 mm field of view in 5 mm slices; the disc keeps 0.5 mm pixels.
        let pixels_across = f64::from(self.size.max(1));
        let (spacing_mm, thickness_mm) = match self.anatomy {
            Anatomy::Disc => (0.5, 1.0),
            Anatomy::HeadCt { .. } | Anatomy::HeadMr { .. } => (240.0 / pixels_across, 5.0),
            Anatomy::BodyCt { .. } | Anatomy::BodyMr { .. } => (400.0 / pixels_across, 10.0),
            Anatomy::ChestRadiograph => (430.0 / pixels_across, 1.0),
            Anatomy::Mammogram => (240.0 / pixels_across, 1.0),
            Anatomy::Ultrasound => (160.0 / pixels_across, 1.0),
        };
        let (window_centre, window_width) = match self.anatomy {
            Anatomy::Disc => ("40", "400"),
            Anatomy::HeadCt { .. } => ("40\\600", "80\\2800"),
            Anatomy::HeadMr { .. } => ("450", "900"),
            Anatomy::BodyCt { .. } => ("40\\-600", "400\\1500"),
            Anatomy::BodyMr { .. } => ("400", "800"),
            Anatomy::ChestRadiograph | Anatomy::Mammogram => ("2048", "4096"),
            Anatomy::Ultrasound => ("128", "256"),
        };
        let (intercept, description) = match self.anatomy {
            Anatomy::HeadMr { .. } => ("0", "SYNTHETIC HEAD MR"),
            Anatomy::HeadCt { .. } => ("-1024", "SYNTHETIC HEAD CT"),
            Anatomy::Disc => ("-1024", "SYNTHETIC CT"),
            Anatomy::BodyCt { .. } => ("-1024", "SYNTHETIC CHEST AND ABDOMEN CT"),
            Anatomy::BodyMr { .. } => ("0", "SYNTHETIC BODY MR"),
            Anatomy::ChestRadiograph => ("0", "SYNTHETIC CHEST RADIOGRAPH"),
            Anatomy::Mammogram => ("0", "SYNTHETIC MAMMOGRAM"),
            Anatomy::Ultrasound => ("0", "SYNTHETIC ABDOMINAL ULTRASOUND"),
        };
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
        put(&mut obj, tags::STUDY_DESCRIPTION, VR::LO, description);
        put(&mut obj, tags::PATIENT_NAME, VR::PN, &self.patient_name);
        put(&mut obj, tags::PATIENT_ID, VR::LO, &self.patient_id);
        put(&mut obj, tags::PATIENT_BIRTH_DATE, VR::DA, "19700101");
        put(&mut obj, tags::PATIENT_SEX, VR::CS, "O");
        put(
            &mut obj,
            tags::SLICE_THICKNESS,
            VR::DS,
            &format!("{thickness_mm}"),
        );
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
            &match self.anatomy {
                // The benchmark disc keeps its historical geometry.
                Anatomy::Disc => format!("-128\\-128\\{index}"),
                // The head is centred, its slices going down from the top of the skull.
                _ => {
                    let origin = -(f64::from(self.size) * spacing_mm) / 2.0;
                    // (+ 0.0: the first slice is at 0, not "-0")
                    format!(
                        "{origin}\\{origin}\\{}",
                        -(f64::from(index) * thickness_mm) + 0.0
                    )
                }
            },
        );
        put(
            &mut obj,
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            match self.anatomy {
                // Projections: a frontal view looks at the patient (rows to their left,
                // columns to their feet); a lateral one from their left side.
                Anatomy::ChestRadiograph if index % 2 == 1 => "0\\1\\0\\0\\0\\-1",
                Anatomy::ChestRadiograph => "1\\0\\0\\0\\0\\-1",
                _ => "1\\0\\0\\0\\1\\0",
            },
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
        put(
            &mut obj,
            tags::PIXEL_SPACING,
            VR::DS,
            &format!("{spacing_mm}\\{spacing_mm}"),
        );
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
        put(&mut obj, tags::WINDOW_CENTER, VR::DS, window_centre);
        put(&mut obj, tags::WINDOW_WIDTH, VR::DS, window_width);
        put(&mut obj, tags::RESCALE_INTERCEPT, VR::DS, intercept);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(series: &SyntheticSeries, index: u32, x: i64, y: i64) -> u16 {
        series.value(x, y, index)
    }

    #[test]
    fn the_head_phantom_has_air_skull_brain_and_ventricles_where_a_head_has_them() {
        let mut ct = SyntheticSeries::new(1, 128);
        ct.anatomy = Anatomy::HeadCt { slices: 30 };
        let hu = |index, x, y| i32::from(stored(&ct, index, x, y)) - 1024;
        // A mid slice: air in the corner, bone at the edge of the head, brain inside.
        assert!(hu(12, 0, 0) < -900);
        let centre_row = 64;
        let skull = (0..64).map(|x| hu(12, x, centre_row)).max().unwrap_or(0);
        assert!(skull > 700, "no skull on the row: {skull}");
        let brain = hu(12, 64, 30);
        assert!((15..=50).contains(&brain), "brain {brain}");
        // A ventricle (CSF, darker than brain) lies off the midline at the level of slice 12.
        let ventricle = (40..90).map(|x| hu(12, x, centre_row)).min().unwrap_or(100);
        assert!(ventricle < 15, "no CSF on the row: {ventricle}");
        // MR of the same head: CSF darker than white matter, which is brighter than grey.
        let mut mr = ct.clone();
        mr.anatomy = Anatomy::HeadMr { slices: 30 };
        assert!(stored(&mr, 12, 0, 0) < 50);
        let object = mr.slice(12).map_err(|e| e.to_string());
        assert!(object.is_ok(), "{object:?}");
    }

    #[test]
    fn the_disc_is_unchanged_for_the_benchmarks() {
        let disc = SyntheticSeries::new(1, 64);
        // Centre: the inner circle at 60 HU; corner: air.
        assert_eq!(i32::from(stored(&disc, 0, 32, 32)) - 1024, 60);
        assert_eq!(i32::from(stored(&disc, 0, 0, 0)) - 1024, -1000);
    }
}
