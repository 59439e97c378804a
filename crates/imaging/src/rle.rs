//! RLE Lossless (PS3.5 Annex G), decoded here rather than by dicom-pixeldata because its
//! decoder indexes past its buffers on damaged segment tables (found by
//! `tests/imaging_mutation.rs`). Every offset and run is checked; output is interleaved,
//! little-endian samples like the other decoders give.

/// The transfer syntax.
pub const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// Decodes one RLE frame of `rows` × `columns` pixels with `samples` samples of
/// `bits_allocated` (8, 16 or 32) bits.
pub fn decode(
    frame: &[u8],
    rows: u32,
    columns: u32,
    samples: u16,
    bits_allocated: u16,
) -> Result<Vec<u8>, String> {
    if !matches!(bits_allocated, 8 | 16 | 32) || !matches!(samples, 1 | 3) {
        return Err(format!(
            "RLE with {samples} samples of {bits_allocated} bits is not supported"
        ));
    }
    let header = frame
        .get(..64)
        .ok_or("RLE frame shorter than its 64-byte header")?;
    let word = |i: usize| {
        u32::from_le_bytes([
            header[4 * i],
            header[4 * i + 1],
            header[4 * i + 2],
            header[4 * i + 3],
        ]) as usize
    };
    let bytes_per_sample = usize::from(bits_allocated / 8);
    let expected_segments = usize::from(samples) * bytes_per_sample;
    let segments = word(0);
    if segments != expected_segments {
        return Err(format!(
            "RLE header lists {segments} segments, {expected_segments} expected"
        ));
    }
    let pixels = rows as usize * columns as usize;
    let stride = usize::from(samples) * bytes_per_sample;
    let mut out = vec![0u8; pixels * stride];
    for segment in 0..segments {
        let start = word(segment + 1);
        let end = if segment + 1 < segments {
            word(segment + 2)
        } else {
            frame.len()
        };
        if start < 64 || start > end || end > frame.len() {
            return Err(format!(
                "RLE segment {segment} spans bytes {start}..{end} of a {}-byte frame",
                frame.len()
            ));
        }
        // Segment order: sample by sample, most significant byte first.
        let (sample, byte_from_top) = (segment / bytes_per_sample, segment % bytes_per_sample);
        let offset = sample * bytes_per_sample + (bytes_per_sample - 1 - byte_from_top);
        unpack_segment(&frame[start..end], pixels, |i, v| {
            out[i * stride + offset] = v
        })?;
    }
    Ok(out)
}

/// PackBits: a header byte n ≥ 0 copies n+1 literal bytes, -127..=-1 repeats the next byte
/// 1-n times, -128 does nothing. Stops at `pixels` bytes (encoders may pad); too few is an error.
fn unpack_segment(
    data: &[u8],
    pixels: usize,
    mut put: impl FnMut(usize, u8),
) -> Result<(), String> {
    let (mut at, mut written) = (0usize, 0usize);
    while written < pixels && at < data.len() {
        let n = data[at] as i8;
        at += 1;
        if n >= 0 {
            let count = n as usize + 1;
            let literal = data
                .get(at..at + count)
                .ok_or("RLE literal run past the segment")?;
            for v in literal.iter().take(pixels - written) {
                put(written, *v);
                written += 1;
            }
            at += count;
        } else if n != -128 {
            let count = (1 - isize::from(n)) as usize;
            let v = *data.get(at).ok_or("RLE repeat run past the segment")?;
            at += 1;
            for _ in 0..count.min(pixels - written) {
                put(written, v);
                written += 1;
            }
        }
    }
    if written < pixels {
        return Err(format!(
            "RLE segment decodes to {written} bytes, {pixels} expected"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_with(segments: &[&[u8]]) -> Vec<u8> {
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
        let mut offset = 64u32;
        let mut body = Vec::new();
        for (i, s) in segments.iter().enumerate() {
            header[4 * (i + 1)..4 * (i + 2)].copy_from_slice(&offset.to_le_bytes());
            offset += s.len() as u32;
            body.extend_from_slice(s);
        }
        header.extend(body);
        header
    }

    #[test]
    fn literal_and_repeat_runs_of_a_16_bit_frame() {
        // 4 pixels: high bytes [1,1,1,2] (repeat 3 then literal 1), low bytes literal [10,20,30,40].
        let frame = frame_with(&[&[0xFE, 1, 0, 2], &[3, 10, 20, 30, 40]]);
        let out = decode(&frame, 2, 2, 1, 16).unwrap();
        assert_eq!(out, vec![10, 1, 20, 1, 30, 1, 40, 2]);
    }

    #[test]
    fn damaged_tables_and_runs_are_errors() {
        let good = frame_with(&[&[3, 1, 2, 3, 4]]);
        assert!(decode(&good, 2, 2, 1, 8).is_ok());
        let mut bad_offset = good.clone();
        bad_offset[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&bad_offset, 2, 2, 1, 8).is_err());
        assert!(decode(&good, 4, 4, 1, 8).is_err()); // too few bytes for 16 pixels
        assert!(decode(&good[..66], 2, 2, 1, 8).is_err()); // literal cut short
        assert!(decode(&good, 2, 2, 3, 8).is_err()); // segment count mismatch
        assert!(decode(&[0; 10], 2, 2, 1, 8).is_err());
    }
}
