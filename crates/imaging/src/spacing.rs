//! Pixel spacing and where it comes from (PS3.3 10.7.1.3, C.8.11.4, C.8.5.5). A measurement is
//! only as good as its source: spacing in the patient, at the detector (corrected or not by the
//! magnification factor), from an ultrasound region, or none at all. The viewer shows the
//! source next to every distance.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// Where a pixel spacing was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SpacingSource {
    /// Pixel Spacing (0028,0030), in the patient (or the Pixel Measures functional group).
    PixelSpacing,
    /// Imager Pixel Spacing (0018,1164) divided by the Estimated Radiographic Magnification
    /// Factor (0018,1114): at the patient, estimated.
    ImagerCorrected,
    /// Imager Pixel Spacing without a magnification factor: at the detector, not the patient.
    Imager,
    /// Physical Delta X/Y of an ultrasound region in centimetres.
    UltrasoundRegion,
}

impl SpacingSource {
    /// Words for the user next to a measurement.
    pub fn describe(self) -> &'static str {
        match self {
            SpacingSource::PixelSpacing => "Pixel Spacing",
            SpacingSource::ImagerCorrected => "Imager Pixel Spacing corrected by ERMF",
            SpacingSource::Imager => "Imager Pixel Spacing (at the detector)",
            SpacingSource::UltrasoundRegion => "ultrasound region",
        }
    }
}

/// Millimetres per pixel along rows and columns, with their source.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PixelSpacing {
    /// Distance between the centres of adjacent rows (vertical), in mm.
    pub row_mm: f64,
    /// Distance between the centres of adjacent columns (horizontal), in mm.
    pub column_mm: f64,
    /// Where it came from.
    pub source: SpacingSource,
}

fn pair(obj: &InMemDicomObject, tag: Tag) -> Option<(f64, f64)> {
    let values = obj.get(tag)?.to_multi_float64().ok()?;
    match values[..] {
        [r, c, ..] if r > 0.0 && c > 0.0 && r.is_finite() && c.is_finite() => Some((r, c)),
        _ => None,
    }
}

/// The spacing of an image, or `None` when the file gives none (distances then in pixels).
pub fn pixel_spacing(obj: &InMemDicomObject) -> Option<PixelSpacing> {
    let make = |(row_mm, column_mm), source| PixelSpacing {
        row_mm,
        column_mm,
        source,
    };
    if let Some(p) = pair(obj, tags::PIXEL_SPACING) {
        return Some(make(p, SpacingSource::PixelSpacing));
    }
    // Enhanced multi-frame objects keep it in the shared Pixel Measures functional group.
    let in_group = |group: Tag| {
        obj.get(group)?
            .items()?
            .first()?
            .get(tags::PIXEL_MEASURES_SEQUENCE)?
            .items()?
            .first()
            .and_then(|m| pair(m, tags::PIXEL_SPACING))
    };
    if let Some(p) = in_group(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
        .or_else(|| in_group(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE))
    {
        return Some(make(p, SpacingSource::PixelSpacing));
    }
    if let Some((r, c)) = pair(obj, tags::IMAGER_PIXEL_SPACING) {
        let ermf = obj
            .get(tags::ESTIMATED_RADIOGRAPHIC_MAGNIFICATION_FACTOR)
            .and_then(|e| e.to_float64().ok())
            .filter(|m| *m > 0.0 && m.is_finite());
        return Some(match ermf {
            Some(m) => make((r / m, c / m), SpacingSource::ImagerCorrected),
            None => make((r, c), SpacingSource::Imager),
        });
    }
    let regions = obj.get(tags::SEQUENCE_OF_ULTRASOUND_REGIONS)?.items()?;
    regions.iter().find_map(|region| {
        let unit = |tag| region.get(tag).and_then(|e| e.to_int::<u16>().ok());
        let delta = |tag| {
            region
                .get(tag)
                .and_then(|e| e.to_float64().ok())
                .filter(|d| *d > 0.0 && d.is_finite())
        };
        // Unit 3 is centimetres; other units (seconds, Hz, dB) are not distances.
        if unit(tags::PHYSICAL_UNITS_X_DIRECTION) == Some(3)
            && unit(tags::PHYSICAL_UNITS_Y_DIRECTION) == Some(3)
        {
            let dx = delta(tags::PHYSICAL_DELTA_X)?;
            let dy = delta(tags::PHYSICAL_DELTA_Y)?;
            Some(make(
                (dy * 10.0, dx * 10.0),
                SpacingSource::UltrasoundRegion,
            ))
        } else {
            None
        }
    })
}
