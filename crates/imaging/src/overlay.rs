//! Overlay planes (groups 6000–601E, PS3.3 C.9.2): 1-bit graphics or regions of interest drawn
//! over the image when the user asks for them. Only overlays with their own Overlay Data are
//! read; the retired form embedded in unused high bits of the pixel data is not.

use dicom_core::{PrimitiveValue, Tag};
use dicom_object::InMemDicomObject;

/// One overlay plane.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlay {
    /// The group (0x6000, 0x6002, …).
    pub group: u16,
    /// Overlay Rows.
    pub rows: u32,
    /// Overlay Columns.
    pub columns: u32,
    /// Row of the overlay's first pixel in the image, from 0 (Overlay Origin is 1-based).
    pub origin_row: i64,
    /// Column of the overlay's first pixel in the image, from 0.
    pub origin_column: i64,
    /// Image frame (from 0) the overlay's first frame belongs to.
    pub first_frame: u32,
    /// Frames in the overlay.
    pub frames: u32,
    /// The bits, packed little-endian as stored, all frames one after another.
    pub bits: Vec<u8>,
    /// "G" (graphics) or "R" (region of interest).
    pub kind: String,
}

impl Overlay {
    /// Whether overlay pixel (row, column) of overlay frame `frame` is set.
    pub fn is_set(&self, frame: u32, row: u32, column: u32) -> bool {
        let index = (u64::from(frame) * u64::from(self.rows) + u64::from(row))
            * u64::from(self.columns)
            + u64::from(column);
        self.bits
            .get((index / 8) as usize)
            .is_some_and(|b| b & (1 << (index % 8)) != 0)
    }

    /// Draws this overlay onto 8-bit pixels (`samples` per pixel) of image frame `frame`,
    /// setting covered pixels to white.
    pub fn draw(
        &self,
        frame: u32,
        image_rows: u32,
        image_columns: u32,
        samples: usize,
        pixels: &mut [u8],
    ) {
        if frame < self.first_frame || frame - self.first_frame >= self.frames {
            return;
        }
        let f = frame - self.first_frame;
        for r in 0..self.rows {
            let y = self.origin_row + i64::from(r);
            if y < 0 || y >= i64::from(image_rows) {
                continue;
            }
            for c in 0..self.columns {
                let x = self.origin_column + i64::from(c);
                if x < 0 || x >= i64::from(image_columns) || !self.is_set(f, r, c) {
                    continue;
                }
                let at = (y as usize * image_columns as usize + x as usize) * samples;
                if let Some(px) = pixels.get_mut(at..at + samples) {
                    px.fill(255);
                }
            }
        }
    }
}

/// The overlays of an object with their own Overlay Data; broken ones are skipped with a log
/// line (an overlay is an annotation, never a reason to refuse the image).
pub fn read_overlays(obj: &InMemDicomObject) -> Vec<Overlay> {
    (0x6000u16..=0x601E)
        .step_by(2)
        .filter_map(|group| match read_one(obj, group) {
            Ok(found) => found,
            Err(reason) => {
                tracing::warn!(group = format!("{group:04X}"), %reason, "overlay skipped");
                None
            }
        })
        .collect()
}

fn read_one(obj: &InMemDicomObject, group: u16) -> Result<Option<Overlay>, String> {
    let Some(data) = obj.get(Tag(group, 0x3000)) else {
        return Ok(None);
    };
    let int = |element: u16| {
        obj.get(Tag(group, element))
            .and_then(|e| e.to_multi_int::<i64>().ok())
            .unwrap_or_default()
    };
    let (rows, columns) = match (int(0x0010).first(), int(0x0011).first()) {
        (Some(r), Some(c)) if *r > 0 && *c > 0 && *r <= 65_535 && *c <= 65_535 => {
            (*r as u32, *c as u32)
        }
        _ => return Err("overlay rows or columns missing".into()),
    };
    let origin = int(0x0050);
    let (origin_row, origin_column) = match origin[..] {
        [r, c, ..] => (r - 1, c - 1),
        _ => (0, 0),
    };
    let frames = int(0x0015).first().copied().unwrap_or(1).clamp(1, 65_535) as u32;
    let first_frame = (int(0x0051).first().copied().unwrap_or(1) - 1).clamp(0, 65_535) as u32;
    let bits: Vec<u8> = match data.value().primitive() {
        Some(PrimitiveValue::U16(words)) => words.iter().flat_map(|w| w.to_le_bytes()).collect(),
        Some(p) => p.to_bytes().to_vec(),
        None => return Err("overlay data is not a plain value".into()),
    };
    let needed = (u64::from(rows) * u64::from(columns) * u64::from(frames)).div_ceil(8);
    if (bits.len() as u64) < needed {
        return Err(format!(
            "overlay data holds {} bytes, {needed} needed",
            bits.len()
        ));
    }
    let kind = obj
        .get(Tag(group, 0x0040))
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "G".into());
    Ok(Some(Overlay {
        group,
        rows,
        columns,
        origin_row,
        origin_column,
        first_frame,
        frames,
        bits,
        kind,
    }))
}
