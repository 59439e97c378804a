//! What the viewer reads from an image's header besides its pixels: where the slice lies in
//! the patient (for reference lines, synchronised scrolling and the corner text), the
//! orientation that decides its plane (for hanging protocols), and the attribute listing of
//! the tag browser. Here, so the screens never parse DICOM themselves.

use dicom_core::VR;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;
use lightbox_codec::attributes::text;

use crate::geometry::ImagePlane;
use crate::spacing::PixelSpacing;

/// Where one image lies, as the viewer shows and uses it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SliceGeometry {
    /// Modality (CT, MR…): which window presets and value units apply.
    pub modality: String,
    /// The corner text: "slice location 12.5 mm" or "position x, y, z mm" (empty if unknown).
    pub position: String,
    /// Image Orientation (Patient): row and column directions (for the orientation markers).
    pub orientation: Option<[f64; 6]>,
    /// The image's plane in patient space (when position, orientation and spacing are known).
    pub plane: Option<ImagePlane>,
}

fn numbers(object: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    object
        .get(tag)
        .and_then(|e| e.to_multi_float64().ok())
        .unwrap_or_default()
}

/// The geometry of an image of `columns` × `rows` pixels with `spacing`, from its header.
pub fn slice_geometry(
    object: &InMemDicomObject,
    spacing: Option<PixelSpacing>,
    columns: u32,
    rows: u32,
) -> SliceGeometry {
    let orientation =
        <[f64; 6]>::try_from(numbers(object, tags::IMAGE_ORIENTATION_PATIENT).as_slice())
            .ok()
            .filter(|o| o.iter().all(|v| v.is_finite()));
    let position_mm = numbers(object, tags::IMAGE_POSITION_PATIENT);
    let position = match (
        position_mm.as_slice(),
        numbers(object, tags::SLICE_LOCATION).first(),
    ) {
        (_, Some(location)) => format!("slice location {location:.1} mm"),
        ([x, y, z], None) => format!("position {x:.1}, {y:.1}, {z:.1} mm"),
        _ => String::new(),
    };
    let plane = match (position_mm.as_slice(), orientation, spacing) {
        ([x, y, z], Some(o), Some(sp)) => Some(ImagePlane {
            frame_of_reference: text(object, tags::FRAME_OF_REFERENCE_UID),
            position: [*x, *y, *z],
            row: [o[0], o[1], o[2]],
            column: [o[3], o[4], o[5]],
            spacing: (sp.row_mm, sp.column_mm),
            size: (columns, rows),
        }),
        _ => None,
    };
    SliceGeometry {
        modality: text(object, tags::MODALITY),
        position,
        orientation,
        plane,
    }
}

/// The Image Orientation (Patient) of a file, reading its header only.
pub fn orientation_of_file(path: &std::path::Path) -> Option<Vec<f64>> {
    crate::arrival::await_file(path);
    let header = dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .ok()?;
    header
        .get(tags::IMAGE_ORIENTATION_PATIENT)?
        .to_multi_float64()
        .ok()
}

/// A file's attributes up to the pixel data as (keyword, VR, value) for the tag browser;
/// values cut at 120 characters, sequences as their item count.
pub fn attribute_listing(path: &std::path::Path) -> Result<Vec<(String, String, String)>, String> {
    crate::arrival::await_file(path);
    let object = dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| e.to_string())?;
    let dictionary = StandardDataDictionary;
    Ok(object
        .iter()
        .map(|e| {
            let tag = e.header().tag;
            let name = dictionary
                .by_tag(tag)
                .map(|d| d.alias().to_string())
                .unwrap_or_else(|| format!("({:04X},{:04X})", tag.group(), tag.element()));
            let value = if e.header().vr() == VR::SQ {
                format!("{} items", e.items().map_or(0, |i| i.len()))
            } else {
                let v = e.to_str().map(|s| s.to_string()).unwrap_or_default();
                v.chars().take(120).collect()
            };
            (name, e.header().vr().to_string().to_string(), value)
        })
        .collect())
}
