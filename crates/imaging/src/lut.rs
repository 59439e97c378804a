//! Lookup tables as DICOM stores them (PS3.3 C.11.1, C.11.2, C.7.6.3.1.5–6, C.7.9): the
//! Modality LUT, VOI LUT and Palette Color tables share one descriptor form, and palettes may be
//! segmented. Reading them is separate from applying them so the GPU path can upload the same
//! tables the CPU path uses.

use dicom_core::{PrimitiveValue, Tag};
use dicom_object::InMemDicomObject;

/// Entries beyond this would be a broken descriptor, not a real table.
const MAX_ENTRIES: usize = 65_536;

/// One lookup table: input values from `first_mapped` map to `entries`; inputs below or above
/// the table take its first or last entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Lut {
    /// The input value that maps to the first entry.
    pub first_mapped: i32,
    /// Bits per entry the descriptor declares (8 to 16); the full-scale output is `2^bits - 1`.
    pub bits: u16,
    /// The table.
    pub entries: Vec<u16>,
}

impl Lut {
    /// The entry for input `x` (clamped to the table).
    pub fn lookup(&self, x: i64) -> u16 {
        let last = self.entries.len().saturating_sub(1) as i64;
        let index = (x - i64::from(self.first_mapped)).clamp(0, last);
        self.entries.get(index as usize).copied().unwrap_or(0)
    }

    /// The largest output the table's bits allow.
    pub fn full_scale(&self) -> f64 {
        f64::from((1u32 << self.bits.clamp(1, 16)) - 1)
    }
}

/// A table's descriptor: number of entries (0 meaning 65536), first value mapped, bits.
fn descriptor(
    obj: &InMemDicomObject,
    tag: Tag,
    signed_input: bool,
) -> Result<(usize, i32, u16), String> {
    let element = obj
        .get(tag)
        .ok_or_else(|| format!("LUT descriptor {tag} is missing"))?;
    let values: Vec<i32> = element
        .to_multi_int::<i32>()
        .map_err(|e| format!("LUT descriptor {tag} is unreadable: {e}"))?;
    let [count, first, bits] = values[..] else {
        return Err(format!(
            "LUT descriptor {tag} has {} values, 3 expected",
            values.len()
        ));
    };
    // The entry count is always unsigned (0 is 65536); a descriptor read as SS shows 65535 as -1.
    let count = match count {
        0 => MAX_ENTRIES,
        c if c < 0 => (c + 65_536) as usize,
        c => c as usize,
    };
    // The first mapped value follows the pixel representation, whatever VR it was written with.
    let first = if signed_input && first > 32_767 {
        first - 65_536
    } else if !signed_input && first < 0 {
        first + 65_536
    } else {
        first
    };
    if !(1..=16).contains(&bits) {
        return Err(format!(
            "LUT descriptor {tag} declares {bits} bits per entry"
        ));
    }
    Ok((count.min(MAX_ENTRIES), first, bits as u16))
}

/// 16-bit words of a US/OW/SS element, whichever way the reader typed them.
fn words(obj: &InMemDicomObject, tag: Tag) -> Result<Vec<u16>, String> {
    let element = obj
        .get(tag)
        .ok_or_else(|| format!("LUT data {tag} is missing"))?;
    let primitive = element
        .value()
        .primitive()
        .ok_or_else(|| format!("LUT data {tag} is not a plain value"))?;
    Ok(match primitive {
        PrimitiveValue::U16(v) => v.to_vec(),
        PrimitiveValue::I16(v) => v.iter().map(|x| *x as u16).collect(),
        PrimitiveValue::U8(v) => v
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect(),
        other => other
            .to_multi_int::<u16>()
            .map_err(|e| format!("LUT data {tag} is unreadable: {e}"))?,
    })
}

/// Makes table data exactly `count` entries long: an 8-bit table may come packed two entries
/// per word (unpacked when the count says so); fewer entries than declared is an error.
fn fit_entries(mut entries: Vec<u16>, count: usize, bits: u16) -> Result<Vec<u16>, String> {
    if bits <= 8 && entries.len() * 2 == count && count > 1 {
        entries = entries.iter().flat_map(|w| [w & 0xFF, w >> 8]).collect();
    }
    if entries.len() < count {
        return Err(format!(
            "has {} entries, its descriptor says {count}",
            entries.len()
        ));
    }
    entries.truncate(count);
    Ok(entries)
}

/// Reads a LUT from an item holding LUT Descriptor (0028,3002) and LUT Data (0028,3006), as in
/// the Modality LUT and VOI LUT sequences.
pub fn lut_from_item(item: &InMemDicomObject, signed_input: bool) -> Result<Lut, String> {
    let (count, first_mapped, bits) = descriptor(item, Tag(0x0028, 0x3002), signed_input)?;
    let entries = fit_entries(words(item, Tag(0x0028, 0x3006))?, count, bits)
        .map_err(|e| format!("LUT {e}"))?;
    Ok(Lut {
        first_mapped,
        bits,
        entries,
    })
}

/// The red, green and blue Palette Color tables of a PALETTE COLOR image, normal or segmented.
#[derive(Debug, Clone, PartialEq)]
pub struct Palette {
    /// Red, green and blue tables.
    pub channels: [Lut; 3],
}

impl Palette {
    /// Reads the palette of `obj` (its pixel values are indices, `signed` when Pixel
    /// Representation is 1).
    pub fn read(obj: &InMemDicomObject, signed: bool) -> Result<Palette, String> {
        let mut channels = Vec::with_capacity(3);
        for (i, name) in ["red", "green", "blue"].iter().enumerate() {
            let offset = i as u16;
            let (count, first_mapped, bits) = descriptor(obj, Tag(0x0028, 0x1101 + offset), signed)
                .map_err(|e| format!("{name} palette: {e}"))?;
            let segmented = Tag(0x0028, 0x1221 + offset);
            let entries = if obj.get(segmented).is_some() {
                expand_segments(&words(obj, segmented)?, count)
                    .map_err(|e| format!("{name} segmented palette: {e}"))?
            } else {
                words(obj, Tag(0x0028, 0x1201 + offset))
                    .map_err(|e| format!("{name} palette: {e}"))?
            };
            let entries =
                fit_entries(entries, count, bits).map_err(|e| format!("{name} palette {e}"))?;
            channels.push(Lut {
                first_mapped,
                bits,
                entries,
            });
        }
        let [r, g, b]: [Lut; 3] = channels
            .try_into()
            .map_err(|_| "palette tables incomplete".to_string())?;
        Ok(Palette {
            channels: [r, g, b],
        })
    }

    /// The 8-bit RGB colour of index `x`.
    pub fn rgb(&self, x: i64) -> [u8; 3] {
        self.channels.each_ref().map(|lut| {
            let v = lut.lookup(x);
            if lut.bits > 8 {
                (v >> 8) as u8
            } else {
                v.min(255) as u8
            }
        })
    }
}

/// Expands segmented palette data (PS3.3 C.7.9.2): discrete (0), linear (1) and indirect (2)
/// segments. Indirect segments are followed one level deep; the result is capped at `count`.
pub fn expand_segments(data: &[u16], count: usize) -> Result<Vec<u16>, String> {
    let mut out: Vec<u16> = Vec::with_capacity(count.min(MAX_ENTRIES));
    expand_into(data, 0, data.len(), &mut out, count, true)?;
    Ok(out)
}

fn expand_into(
    data: &[u16],
    start: usize,
    end: usize,
    out: &mut Vec<u16>,
    count: usize,
    allow_indirect: bool,
) -> Result<(), String> {
    let mut i = start;
    while i < end && out.len() < count {
        let opcode = data[i];
        let length = *data.get(i + 1).ok_or("segment without a length")? as usize;
        match opcode {
            0 => {
                let values = data
                    .get(i + 2..i + 2 + length)
                    .ok_or("discrete segment runs past the data")?;
                out.extend_from_slice(values);
                i += 2 + length;
            }
            1 => {
                let y1 = f64::from(
                    *data
                        .get(i + 2)
                        .ok_or("linear segment without an end value")?,
                );
                let y0 = f64::from(*out.last().ok_or("linear segment with no value before it")?);
                for k in 1..=length {
                    let t = k as f64 / length as f64;
                    out.push((y0 + (y1 - y0) * t).round() as u16);
                }
                i += 3;
            }
            2 if allow_indirect => {
                let (lo, hi) = (
                    *data
                        .get(i + 2)
                        .ok_or("indirect segment without an offset")?,
                    *data
                        .get(i + 3)
                        .ok_or("indirect segment without an offset")?,
                );
                let mut at = (usize::from(hi) << 16) | usize::from(lo);
                for _ in 0..length {
                    let next = segment_end(data, at)?;
                    expand_into(data, at, next, out, count, false)?;
                    at = next;
                }
                i += 4;
            }
            other => return Err(format!("unknown segment type {other}")),
        }
        if out.len() > MAX_ENTRIES {
            return Err("segments expand past 65536 entries".into());
        }
    }
    Ok(())
}

/// Where the segment starting at word `at` ends.
fn segment_end(data: &[u16], at: usize) -> Result<usize, String> {
    let length = *data.get(at + 1).ok_or("indirect offset past the data")? as usize;
    let end = match data.get(at) {
        Some(0) => at + 2 + length,
        Some(1) => at + 3,
        Some(_) => return Err("indirect segment points at an unsupported segment".into()),
        None => return Err("indirect offset past the data".into()),
    };
    if end > data.len() {
        return Err("indirect segment runs past the data".into());
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_expand_discrete_linear_and_indirect() {
        // discrete [0, 10], linear up to 40 over 3 entries, then indirect: repeat the first segment.
        let data = [0, 2, 0, 10, 1, 3, 40, 2, 1, 0, 0];
        let table = expand_segments(&data, 100).unwrap();
        assert_eq!(table, vec![0, 10, 20, 30, 40, 0, 10]);
    }

    #[test]
    fn broken_segments_are_errors_not_panics() {
        assert!(expand_segments(&[1, 3, 40], 10).is_err()); // linear with nothing before
        assert!(expand_segments(&[0, 9, 1], 10).is_err()); // runs past the end
        assert!(expand_segments(&[7, 1, 1], 10).is_err()); // unknown opcode
        assert!(expand_segments(&[0, 1, 5, 2, 1, 0xFFFF, 0xFFFF], 10).is_err());
    }

    #[test]
    fn lookup_clamps_to_the_table() {
        let lut = Lut {
            first_mapped: -2,
            bits: 12,
            entries: vec![5, 6, 7],
        };
        assert_eq!(lut.lookup(-100), 5);
        assert_eq!(lut.lookup(-1), 6);
        assert_eq!(lut.lookup(100), 7);
        assert_eq!(lut.full_scale(), 4095.0);
    }
}
