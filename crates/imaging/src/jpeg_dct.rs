//! Greyscale lossy JPEG (baseline and extended sequential DCT, 8 and 12 bits; transfer syntaxes
//! 1.2.840.10008.1.2.4.50/.51). No Rust JPEG crate decodes 12-bit, and jpeg-decoder's IDCT
//! differs from the IJG one by up to 2 levels on 8-bit images; here the inverse DCT is the
//! integer "islow" transform of the IJG library that dcmtk is built on, so results agree with
//! it. Colour (8-bit YCbCr, 4:4:4, 4:2:2, 4:2:0, one interleaved scan) is decoded the same
//! way, with IJG's default upsampling and colour conversion.
//!
//! Kept as one file (~830 lines): the Huffman reader, the IDCT and the colour conversion share
//! one scan state and are checked together against dcmtk; split, each piece would be unreadable
//! without the others.

/// Whether frames of this transfer syntax may be for this decoder (baseline or extended).
pub fn handles(transfer_syntax: &str) -> bool {
    matches!(
        transfer_syntax,
        "1.2.840.10008.1.2.4.50" | "1.2.840.10008.1.2.4.51"
    )
}

/// The sample precision and number of components a JPEG stream's frame header declares.
pub fn frame_header(stream: &[u8]) -> Option<(u8, u8)> {
    let mut i = 2;
    while i + 4 < stream.len() {
        if stream[i] != 0xFF {
            return None;
        }
        let marker = stream[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let length = usize::from(u16::from_be_bytes([stream[i + 2], stream[i + 3]]));
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return Some((*stream.get(i + 4)?, *stream.get(i + 9)?));
        }
        i += 2 + length;
    }
    None
}

const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// A Huffman table in the canonical form of JPEG Annex C/F.
#[derive(Clone, Default)]
struct Huffman {
    max_code: [i32; 17],
    val_ptr: [i32; 17],
    min_code: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: Vec<u8>) -> Huffman {
        let mut table = Huffman {
            max_code: [-1; 17],
            values,
            ..Huffman::default()
        };
        let (mut code, mut k) = (0i32, 0i32);
        for length in 1..=16 {
            let n = i32::from(counts[length - 1]);
            table.val_ptr[length] = k;
            table.min_code[length] = code;
            code += n;
            k += n;
            table.max_code[length] = if n > 0 { code - 1 } else { -1 };
            code <<= 1;
        }
        table
    }
}

struct BitReader<'a> {
    data: &'a [u8],
    at: usize,
    buffer: u32,
    bits: u32,
    /// A marker was met: further reads give zero bits (as libjpeg does).
    hit_marker: bool,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8], at: usize) -> BitReader<'a> {
        BitReader {
            data,
            at,
            buffer: 0,
            bits: 0,
            hit_marker: false,
        }
    }

    fn fill(&mut self) {
        while self.bits <= 24 {
            let mut byte = 0u8;
            if !self.hit_marker {
                match self.data.get(self.at) {
                    Some(0xFF) => match self.data.get(self.at + 1) {
                        Some(0x00) => {
                            byte = 0xFF;
                            self.at += 2;
                        }
                        _ => self.hit_marker = true,
                    },
                    Some(b) => {
                        byte = *b;
                        self.at += 1;
                    }
                    None => self.hit_marker = true,
                }
            }
            self.buffer |= u32::from(byte) << (24 - self.bits);
            self.bits += 8;
        }
    }

    fn bit(&mut self) -> u32 {
        self.fill();
        let b = self.buffer >> 31;
        self.buffer <<= 1;
        self.bits -= 1;
        b
    }

    fn receive(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        self.fill();
        let v = self.buffer >> (32 - n);
        self.buffer <<= n;
        self.bits -= n;
        v as i32
    }

    fn decode(&mut self, table: &Huffman) -> Result<u8, String> {
        let mut code = 0i32;
        for length in 1..=16 {
            code = (code << 1) | self.bit() as i32;
            if code <= table.max_code[length] {
                let index = table.val_ptr[length] + code - table.min_code[length];
                return table
                    .values
                    .get(index as usize)
                    .copied()
                    .ok_or_else(|| "Huffman code outside its table".to_string());
            }
        }
        Err("invalid Huffman code".into())
    }

    /// Skips to the next RSTn marker and past it.
    fn restart(&mut self) -> Result<(), String> {
        self.buffer = 0;
        self.bits = 0;
        self.hit_marker = false;
        while self.at + 1 < self.data.len() {
            if self.data[self.at] == 0xFF && (0xD0..=0xD7).contains(&self.data[self.at + 1]) {
                self.at += 2;
                return Ok(());
            }
            self.at += 1;
        }
        Err("restart marker missing".into())
    }
}

fn extend(v: i32, t: u32) -> i32 {
    if t == 0 {
        0
    } else if v < 1 << (t - 1) {
        v - (1 << t) + 1
    } else {
        v
    }
}

/// One component of a frame: its id, sampling factors and quantisation table.
#[derive(Debug, Clone, Copy)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant: usize,
}

/// What the markers before the (first) scan say.
struct Parsed {
    precision: u8,
    rows: u16,
    columns: u16,
    components: Vec<Component>,
    quant: [[u16; 64]; 4],
    dc_tables: [Option<Huffman>; 4],
    ac_tables: [Option<Huffman>; 4],
    restart_interval: usize,
    /// The scan's components (index into `components`) with their DC and AC table ids.
    scan: Vec<(usize, usize, usize)>,
    /// Where the entropy-coded data starts.
    data_start: usize,
}

/// Reads the markers up to the first scan.
fn parse(stream: &[u8]) -> Result<Parsed, String> {
    if !stream.starts_with(&[0xFF, 0xD8]) {
        return Err("JPEG stream does not start with SOI".into());
    }
    let mut quant: [[u16; 64]; 4] = [[1; 64]; 4];
    let mut dc_tables: [Option<Huffman>; 4] = Default::default();
    let mut ac_tables: [Option<Huffman>; 4] = Default::default();
    let mut restart_interval = 0usize;
    let mut frame: Option<(u8, u16, u16, Vec<Component>)> = None;
    let mut i = 2;
    loop {
        // Find the next marker.
        while stream.get(i) == Some(&0xFF) && stream.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (Some(0xFF), Some(&marker)) = (stream.get(i), stream.get(i + 1)) else {
            return Err("JPEG stream ends before its scan".into());
        };
        let length = stream
            .get(i + 2..i + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or("JPEG segment header truncated")?;
        let body = stream
            .get(i + 4..i + 2 + length)
            .ok_or("JPEG segment runs past the stream")?;
        match marker {
            0xC0 | 0xC1 => {
                let [precision, r0, r1, c0, c1, count, ..] = body[..] else {
                    return Err("frame header too short".into());
                };
                if count != 1 && count != 3 {
                    return Err(format!("{count}-component JPEG is not decoded here"));
                }
                let mut components = Vec::new();
                for k in 0..usize::from(count) {
                    let c = body
                        .get(6 + 3 * k..9 + 3 * k)
                        .ok_or("frame header too short")?;
                    let (h, v) = (usize::from(c[1] >> 4), usize::from(c[1] & 15));
                    if !(1..=2).contains(&h) || !(1..=2).contains(&v) {
                        return Err(format!("sampling factors {h}x{v} are not decoded here"));
                    }
                    components.push(Component {
                        id: c[0],
                        h,
                        v,
                        quant: usize::from(c[2] & 3),
                    });
                }
                let rows = u16::from_be_bytes([r0, r1]);
                let columns = u16::from_be_bytes([c0, c1]);
                if rows == 0 || columns == 0 {
                    return Err("frame header without a size".into());
                }
                frame = Some((precision, rows, columns, components));
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(format!(
                    "JPEG process SOF{} is not extended sequential",
                    marker - 0xC0
                ));
            }
            0xC4 => {
                let mut at = 0;
                while at < body.len() {
                    let class_id = body[at];
                    let counts: [u8; 16] = body
                        .get(at + 1..at + 17)
                        .and_then(|c| c.try_into().ok())
                        .ok_or("Huffman table truncated")?;
                    let total: usize = counts.iter().map(|c| usize::from(*c)).sum();
                    let values = body
                        .get(at + 17..at + 17 + total)
                        .ok_or("Huffman table truncated")?
                        .to_vec();
                    let table = Some(Huffman::new(&counts, values));
                    let id = usize::from(class_id & 3);
                    if class_id >> 4 == 0 {
                        dc_tables[id] = table;
                    } else {
                        ac_tables[id] = table;
                    }
                    at += 17 + total;
                }
            }
            0xDB => {
                let mut at = 0;
                while at < body.len() {
                    let (precision, id) = (body[at] >> 4, usize::from(body[at] & 3));
                    let size = if precision == 0 { 64 } else { 128 };
                    let values = body
                        .get(at + 1..at + 1 + size)
                        .ok_or("quantisation table truncated")?;
                    for k in 0..64 {
                        quant[id][k] = if precision == 0 {
                            u16::from(values[k])
                        } else {
                            u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
                        };
                    }
                    at += 1 + size;
                }
            }
            0xDD => {
                restart_interval = body
                    .get(..2)
                    .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                    .ok_or("restart interval truncated")?;
            }
            0xDA => {
                let (precision, rows, columns, components) =
                    frame.ok_or("scan before the frame header")?;
                if precision != 8 && precision != 12 {
                    return Err(format!(
                        "{precision}-bit sample precision, 8 or 12 expected"
                    ));
                }
                let count = usize::from(*body.first().ok_or("scan header too short")?);
                if count != components.len() {
                    return Err("a scan of some components only is not decoded here".into());
                }
                let mut scan = Vec::new();
                for k in 0..count {
                    let s = body
                        .get(1 + 2 * k..3 + 2 * k)
                        .ok_or("scan header too short")?;
                    let index = components
                        .iter()
                        .position(|c| c.id == s[0])
                        .ok_or("scan names an unknown component")?;
                    scan.push((index, usize::from(s[1] >> 4), usize::from(s[1] & 3)));
                }
                return Ok(Parsed {
                    precision,
                    rows,
                    columns,
                    components,
                    quant,
                    dc_tables,
                    ac_tables,
                    restart_interval,
                    scan,
                    data_start: i + 2 + length,
                });
            }
            0xD9 => return Err("JPEG stream ends before its scan".into()),
            _ => {}
        }
        i += 2 + length;
    }
}

/// Decodes a one-component stream: (rows, columns, samples — bytes for 8-bit, little-endian
/// 16-bit words for 12-bit).
pub fn decode(stream: &[u8]) -> Result<(u16, u16, Vec<u8>), String> {
    let p = parse(stream)?;
    if p.components.len() != 1 {
        return Err("a colour stream: use decode_colour".into());
    }
    let (index, dc_id, ac_id) = p.scan[0];
    let dc = p
        .dc_tables
        .get(dc_id)
        .and_then(Option::as_ref)
        .ok_or("scan uses a missing DC table")?;
    let ac = p
        .ac_tables
        .get(ac_id)
        .and_then(Option::as_ref)
        .ok_or("scan uses a missing AC table")?;
    let samples = decode_scan(
        stream,
        p.data_start,
        (p.rows, p.columns),
        &p.quant[p.components[index].quant],
        (dc, ac),
        p.restart_interval,
        p.precision,
    )?;
    let bytes = if p.precision == 8 {
        samples.iter().map(|s| *s as u8).collect()
    } else {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    };
    Ok((p.rows, p.columns, bytes))
}

/// Decodes an 8-bit three-component (YCbCr) stream the way the IJG library does by default —
/// islow inverse DCT, "fancy" (triangle) upsampling of subsampled chroma, its fixed-point
/// YCbCr to RGB tables — so colour lossy JPEG looks as it does in dcmtk. Returns (rows,
/// columns, interleaved RGB).
pub fn decode_colour(stream: &[u8]) -> Result<(u16, u16, Vec<u8>), String> {
    let p = parse(stream)?;
    if p.components.len() != 3 || p.precision != 8 {
        return Err("not an 8-bit three-component stream".into());
    }
    let planes = decode_interleaved(stream, &p)?;
    let (rows, columns) = (usize::from(p.rows), usize::from(p.columns));
    let h_max = p.components.iter().map(|c| c.h).max().unwrap_or(1);
    let v_max = p.components.iter().map(|c| c.v).max().unwrap_or(1);
    // Each plane at full size.
    let full: Vec<Vec<u8>> = p
        .components
        .iter()
        .zip(&planes)
        .map(|(c, plane)| upsample(plane, c, (h_max, v_max), (rows, columns)))
        .collect::<Result<_, String>>()?;
    let t = ijg_ycc_tables();
    let mut rgb = Vec::with_capacity(rows * columns * 3);
    let [luma, blue, red] = &full[..] else {
        return Err("three components expected".into());
    };
    for ((y, cb), cr) in luma.iter().zip(blue).zip(red) {
        let y = i32::from(*y);
        let (cb, cr) = (usize::from(*cb), usize::from(*cr));
        let g = y + ((t.cb_g[cb] + t.cr_g[cr]) >> 16) as i32;
        rgb.extend_from_slice(&[
            (y + t.cr_r[cr]).clamp(0, 255) as u8,
            g.clamp(0, 255) as u8,
            (y + t.cb_b[cb]).clamp(0, 255) as u8,
        ]);
    }
    Ok((p.rows, p.columns, rgb))
}

/// A component's decoded samples, at its own (subsampled) size rounded up to whole blocks.
struct Plane {
    samples: Vec<u8>,
    /// Samples per row (whole blocks).
    stride: usize,
    /// The component's own size (IJG's downsampled_width/height).
    width: usize,
    height: usize,
}

/// Decodes an interleaved scan of every component, MCU by MCU.
fn decode_interleaved(stream: &[u8], p: &Parsed) -> Result<Vec<Plane>, String> {
    let (rows, columns) = (usize::from(p.rows), usize::from(p.columns));
    let h_max = p.components.iter().map(|c| c.h).max().unwrap_or(1);
    let v_max = p.components.iter().map(|c| c.v).max().unwrap_or(1);
    let mcus_x = columns.div_ceil(8 * h_max);
    let mcus_y = rows.div_ceil(8 * v_max);
    let mut planes: Vec<Plane> = p
        .components
        .iter()
        .map(|c| {
            let stride = mcus_x * c.h * 8;
            Plane {
                samples: vec![0; stride * mcus_y * c.v * 8],
                stride,
                width: (columns * c.h).div_ceil(h_max),
                height: (rows * c.v).div_ceil(v_max),
            }
        })
        .collect();
    let mut tables = Vec::new();
    for &(index, dc_id, ac_id) in &p.scan {
        let dc = p
            .dc_tables
            .get(dc_id)
            .and_then(Option::as_ref)
            .ok_or("scan uses a missing DC table")?;
        let ac = p
            .ac_tables
            .get(ac_id)
            .and_then(Option::as_ref)
            .ok_or("scan uses a missing AC table")?;
        tables.push((index, dc, ac));
    }
    let mut reader = BitReader::new(stream, p.data_start);
    let mut predictors = vec![0i32; p.components.len()];
    for mcu in 0..mcus_x * mcus_y {
        if p.restart_interval > 0 && mcu > 0 && mcu % p.restart_interval == 0 {
            reader.restart()?;
            predictors.iter_mut().for_each(|x| *x = 0);
        }
        let (mx, my) = (mcu % mcus_x, mcu / mcus_x);
        for &(index, dc, ac) in &tables {
            let c = p.components[index];
            for by in 0..c.v {
                for bx in 0..c.h {
                    let block = decode_block(
                        &mut reader,
                        (dc, ac),
                        &p.quant[c.quant],
                        &mut predictors[index],
                    )?;
                    let pixels = idct_islow(&block, 8);
                    let plane = &mut planes[index];
                    let (x0, y0) = ((mx * c.h + bx) * 8, (my * c.v + by) * 8);
                    for y in 0..8 {
                        let at = (y0 + y) * plane.stride + x0;
                        if let Some(row) = plane.samples.get_mut(at..at + 8) {
                            for (x, v) in row.iter_mut().enumerate() {
                                *v = pixels[y * 8 + x] as u8;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(planes)
}

/// One block's coefficients, dequantised, in natural order.
fn decode_block(
    reader: &mut BitReader<'_>,
    (dc, ac): (&Huffman, &Huffman),
    quant: &[u16; 64],
    predictor: &mut i32,
) -> Result<[i32; 64], String> {
    let mut coefficients = [0i32; 64];
    let t = u32::from(reader.decode(dc)?);
    if t > 16 {
        return Err("DC difference too large".into());
    }
    *predictor += extend(reader.receive(t), t);
    coefficients[0] = *predictor * i32::from(quant[0]);
    let mut k = 1;
    while k < 64 {
        let rs = reader.decode(ac)?;
        let (r, s) = (usize::from(rs >> 4), u32::from(rs & 15));
        if s == 0 {
            if r == 15 {
                k += 16;
                continue;
            }
            break;
        }
        k += r;
        if k > 63 {
            return Err("AC coefficients run past the block".into());
        }
        coefficients[ZIGZAG[k]] = extend(reader.receive(s), s) * i32::from(quant[k]);
        k += 1;
    }
    Ok(coefficients)
}

/// A component brought to full size as IJG's default upsampler does: copied when not
/// subsampled, the triangle filter of jdsample.c for 2:1 horizontally (and vertically),
/// edges replicated.
fn upsample(
    plane: &Plane,
    c: &Component,
    (h_max, v_max): (usize, usize),
    (rows, columns): (usize, usize),
) -> Result<Vec<u8>, String> {
    let (fh, fv) = (h_max / c.h, v_max / c.v);
    let at = |x: usize, y: usize| -> i32 {
        let (x, y) = (x.min(plane.width - 1), y.min(plane.height - 1));
        i32::from(
            plane
                .samples
                .get(y * plane.stride + x)
                .copied()
                .unwrap_or(0),
        )
    };
    let mut out = vec![0u8; rows * columns];
    match (fh, fv) {
        (1, 1) => {
            for y in 0..rows {
                for x in 0..columns {
                    out[y * columns + x] = at(x, y) as u8;
                }
            }
        }
        (2, 1) => {
            for y in 0..rows {
                for x in 0..columns {
                    let i = x / 2;
                    let this = at(i, y) * 3;
                    let v = if x % 2 == 0 {
                        if i == 0 {
                            at(0, y)
                        } else {
                            (this + at(i - 1, y) + 1) >> 2
                        }
                    } else if i + 1 >= plane.width {
                        at(i, y)
                    } else {
                        (this + at(i + 1, y) + 2) >> 2
                    };
                    out[y * columns + x] = v as u8;
                }
            }
        }
        (2, 2) => {
            for y in 0..rows {
                let iy = y / 2;
                // The nearer other row: above for even output rows, below for odd ones.
                let other = if y % 2 == 0 {
                    iy.saturating_sub(1)
                } else {
                    (iy + 1).min(plane.height - 1)
                };
                let colsum = |i: usize| at(i, iy) * 3 + at(i, other);
                for x in 0..columns {
                    let i = x / 2;
                    let this = colsum(i);
                    let v = if x % 2 == 0 {
                        if i == 0 {
                            (this * 4 + 8) >> 4
                        } else {
                            (this * 3 + colsum(i - 1) + 8) >> 4
                        }
                    } else if i + 1 >= plane.width {
                        (this * 4 + 7) >> 4
                    } else {
                        (this * 3 + colsum(i + 1) + 7) >> 4
                    };
                    out[y * columns + x] = v as u8;
                }
            }
        }
        (h, v) => return Err(format!("{h}x{v} chroma subsampling is not decoded here")),
    }
    Ok(out)
}

/// IJG's YCbCr to RGB tables (jdcolor.c): 16 fractional bits, rounded once per term.
struct YccTables {
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i64; 256],
    cb_g: [i64; 256],
}

fn ijg_ycc_tables() -> &'static YccTables {
    static TABLES: std::sync::OnceLock<YccTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        const SCALE: i64 = 1 << 16;
        const HALF: i64 = 1 << 15;
        let fix = |x: f64| (x * SCALE as f64 + 0.5) as i64;
        let mut t = YccTables {
            cr_r: [0; 256],
            cb_b: [0; 256],
            cr_g: [0; 256],
            cb_g: [0; 256],
        };
        for i in 0..256usize {
            let x = i as i64 - 128;
            t.cr_r[i] = ((fix(1.402_00) * x + HALF) >> 16) as i32;
            t.cb_b[i] = ((fix(1.772_00) * x + HALF) >> 16) as i32;
            t.cr_g[i] = -fix(0.714_14) * x;
            t.cb_g[i] = -fix(0.344_14) * x + HALF;
        }
        t
    })
}

fn decode_scan(
    stream: &[u8],
    start: usize,
    (rows, columns): (u16, u16),
    quant: &[u16; 64],
    (dc, ac): (&Huffman, &Huffman),
    restart_interval: usize,
    precision: u8,
) -> Result<Vec<u16>, String> {
    let (rows, columns) = (usize::from(rows), usize::from(columns));
    let (blocks_x, blocks_y) = (columns.div_ceil(8), rows.div_ceil(8));
    let mut out = vec![0u16; rows * columns];
    let mut reader = BitReader::new(stream, start);
    let mut predictor = 0i32;
    for block in 0..blocks_x * blocks_y {
        if restart_interval > 0 && block > 0 && block % restart_interval == 0 {
            reader.restart()?;
            predictor = 0;
        }
        let coefficients = decode_block(&mut reader, (dc, ac), quant, &mut predictor)?;
        let pixels = idct_islow(&coefficients, precision);
        let (bx, by) = (block % blocks_x, block / blocks_x);
        for y in 0..8 {
            let row = by * 8 + y;
            if row >= rows {
                break;
            }
            for x in 0..8 {
                let column = bx * 8 + x;
                if column < columns {
                    out[row * columns + column] = pixels[y * 8 + x];
                }
            }
        }
    }
    Ok(out)
}

/// The IJG integer inverse DCT ("islow", jidctint.c) for 8- or 12-bit samples.
fn idct_islow(input: &[i32; 64], precision: u8) -> [u16; 64] {
    const CONST_BITS: i32 = 13;
    // jidctint.c keeps 2 extra bits after the first pass for 8-bit samples, 1 for 12-bit.
    let pass1_bits: i32 = if precision == 8 { 2 } else { 1 };
    const F0_298: i64 = 2446;
    const F0_390: i64 = 3196;
    const F0_541: i64 = 4433;
    const F0_765: i64 = 6270;
    const F0_899: i64 = 7373;
    const F1_175: i64 = 9633;
    const F1_501: i64 = 12299;
    const F1_847: i64 = 15137;
    const F1_961: i64 = 16069;
    const F2_053: i64 = 16819;
    const F2_562: i64 = 20995;
    const F3_072: i64 = 25172;
    let descale = |x: i64, n: i32| (x + (1 << (n - 1))) >> n;

    // One 1-D pass over eight values spaced `stride` apart; returns the eight results before
    // descaling.
    let pass = |v: [i64; 8]| -> [i64; 8] {
        let (z2, z3) = (v[2], v[6]);
        let z1 = (z2 + z3) * F0_541;
        let tmp2 = z1 + z3 * -F1_847;
        let tmp3 = z1 + z2 * F0_765;
        let tmp0 = (v[0] + v[4]) << CONST_BITS;
        let tmp1 = (v[0] - v[4]) << CONST_BITS;
        let (tmp10, tmp13, tmp11, tmp12) = (tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2);
        let (mut t0, mut t1, mut t2, mut t3) = (v[7], v[5], v[3], v[1]);
        let (z1, z2, z3, z4) = (t0 + t3, t1 + t2, t0 + t2, t1 + t3);
        let z5 = (z3 + z4) * F1_175;
        t0 *= F0_298;
        t1 *= F2_053;
        t2 *= F3_072;
        t3 *= F1_501;
        let z1 = z1 * -F0_899;
        let z2 = z2 * -F2_562;
        let z3 = z3 * -F1_961 + z5;
        let z4 = z4 * -F0_390 + z5;
        t0 += z1 + z3;
        t1 += z2 + z4;
        t2 += z2 + z3;
        t3 += z1 + z4;
        [
            tmp10 + t3,
            tmp11 + t2,
            tmp12 + t1,
            tmp13 + t0,
            tmp13 - t0,
            tmp12 - t1,
            tmp11 - t2,
            tmp10 - t3,
        ]
    };

    let mut work = [0i64; 64];
    for column in 0..8 {
        let v: [i64; 8] = std::array::from_fn(|r| i64::from(input[r * 8 + column]));
        if v[1..].iter().all(|x| *x == 0) {
            for r in 0..8 {
                work[r * 8 + column] = v[0] << pass1_bits;
            }
            continue;
        }
        let out = pass(v);
        for r in 0..8 {
            work[r * 8 + column] = descale(out[r], CONST_BITS - pass1_bits);
        }
    }
    let centre = 1i64 << (precision - 1);
    let maximum = (1i64 << precision) - 1;
    let limit = |x: i64| (x + centre).clamp(0, maximum) as u16;
    let mut result = [0u16; 64];
    for row in 0..8 {
        let v: [i64; 8] = std::array::from_fn(|c| work[row * 8 + c]);
        if v[1..].iter().all(|x| *x == 0) {
            let dc = limit(descale(v[0], pass1_bits + 3));
            result[row * 8..row * 8 + 8].fill(dc);
            continue;
        }
        let out = pass(v);
        for c in 0..8 {
            result[row * 8 + c] = limit(descale(out[c], CONST_BITS + pass1_bits + 3));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_block_decodes_to_its_dc_level() {
        let mut input = [0i32; 64];
        input[0] = 8 * 100; // DC of a flat block of value 100 above the 2048 centre
        let out = idct_islow(&input, 12);
        assert!(out.iter().all(|v| *v == 2148), "{out:?}");
        let out = idct_islow(&input, 8);
        assert!(out.iter().all(|v| *v == 228), "{out:?}");
    }

    /// Regression: a scan header naming Huffman table 15 indexed past the four tables.
    #[test]
    fn a_scan_naming_a_table_beyond_the_four_is_an_error_not_a_panic() {
        for count in [1u8, 3] {
            let mut s = vec![0xFF, 0xD8, 0xFF, 0xC0];
            let sof_len = 8 + 3 * u16::from(count);
            s.extend_from_slice(&sof_len.to_be_bytes());
            s.extend_from_slice(&[8, 0, 8, 0, 8, count]);
            for id in 1..=count {
                s.extend_from_slice(&[id, 0x11, 0]);
            }
            s.extend_from_slice(&[0xFF, 0xDA]);
            s.extend_from_slice(&(6 + 2 * u16::from(count)).to_be_bytes());
            s.push(count);
            for id in 1..=count {
                s.extend_from_slice(&[id, 0xF0]);
            }
            s.extend_from_slice(&[0, 63, 0, 0, 0, 0xFF, 0xD9]);
            assert!(decode(&s).is_err());
            assert!(decode_colour(&s).is_err());
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[0xFF, 0xD8, 0xFF]).is_err());
        assert!(decode(&[0xFF, 0xD8, 0xFF, 0xC1, 0x00, 0x02]).is_err());
        assert!(decode(&[0xFF, 0xD8, 0xFF, 0xDA, 0xFF, 0xFF, 0x00]).is_err());
    }
}
