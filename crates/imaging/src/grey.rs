//! The greyscale pipeline of PS3.3 C.11 / PS3.4 N.2 on the CPU: stored value → Modality LUT
//! (rescale or table) → VOI (window with LINEAR, LINEAR_EXACT or SIGMOID, or a VOI LUT) →
//! Presentation LUT shape and MONOCHROME1 inversion → 8-bit. This is the reference the GPU
//! shader (`shaders/grey.wgsl`) is tested against, and the fallback where no GPU is usable.

use super::lut::Lut;

/// A window in modality units.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    /// Window Center.
    pub center: f64,
    /// Window Width (≥ 1 for LINEAR, > 0 otherwise).
    pub width: f64,
}

/// VOI LUT Function (0028,1056): how a window maps modality values to display values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoiFunction {
    /// The standard's default, with its half-pixel offsets.
    #[default]
    Linear,
    /// A straight line from `c - w/2` to `c + w/2`.
    LinearExact,
    /// A logistic curve centred on the window.
    Sigmoid,
}

impl VoiFunction {
    /// The function a VOI LUT Function value names; unknown values fall back to LINEAR, as the
    /// standard asks.
    pub fn from_code(code: &str) -> VoiFunction {
        match code.trim() {
            "LINEAR_EXACT" => VoiFunction::LinearExact,
            "SIGMOID" => VoiFunction::Sigmoid,
            _ => VoiFunction::Linear,
        }
    }

    /// A stable number for the GPU uniform.
    pub fn gpu_code(self) -> u32 {
        match self {
            VoiFunction::Linear => 0,
            VoiFunction::LinearExact => 1,
            VoiFunction::Sigmoid => 2,
        }
    }
}

/// Stored values to modality values (PS3.3 C.11.1).
#[derive(Debug, Clone, PartialEq)]
pub enum ModalityTransform {
    /// Rescale Slope and Intercept (1 and 0 when absent).
    Rescale {
        /// Rescale Slope.
        slope: f64,
        /// Rescale Intercept.
        intercept: f64,
    },
    /// A Modality LUT Sequence table.
    Table(Lut),
}

impl ModalityTransform {
    /// The modality value of stored value `stored`.
    pub fn apply(&self, stored: i32) -> f64 {
        match self {
            ModalityTransform::Rescale { slope, intercept } => {
                f64::from(stored) * slope + intercept
            }
            ModalityTransform::Table(lut) => f64::from(lut.lookup(i64::from(stored))),
        }
    }
}

/// The VOI transform chosen for display.
#[derive(Debug, Clone, PartialEq)]
pub enum Voi {
    /// A window with its function.
    Window(Window, VoiFunction),
    /// A VOI LUT Sequence table.
    Table(Lut),
}

/// What the file says about displaying its grey values.
#[derive(Debug, Clone, PartialEq)]
pub struct GreyPipeline {
    /// Modality transform.
    pub modality: ModalityTransform,
    /// Windows in the file, the first is the default.
    pub windows: Vec<Window>,
    /// The file's VOI LUT Function, applied to its windows and to a window the user sets.
    pub function: VoiFunction,
    /// VOI LUT Sequence tables in the file (used when it has no window).
    pub voi_tables: Vec<Lut>,
    /// Whether the display is inverted: MONOCHROME1, or Presentation LUT Shape INVERSE.
    pub invert: bool,
}

impl GreyPipeline {
    /// The VOI to show: `window` when the user gave one, else the file's first window, else its
    /// first VOI LUT, else a window over the frame's range of modality values.
    pub fn choose_voi(&self, window: Option<Window>, stored: &[i32]) -> Voi {
        if let Some(w) = window {
            return Voi::Window(w, self.function);
        }
        if let Some(w) = self.windows.first() {
            return Voi::Window(*w, self.function);
        }
        if let Some(lut) = self.voi_tables.first() {
            return Voi::Table(lut.clone());
        }
        Voi::Window(self.range_window(stored), VoiFunction::Linear)
    }

    /// A window spanning the smallest to the largest modality value of the frame (what dcmtk
    /// calls the min-max window).
    pub fn range_window(&self, stored: &[i32]) -> Window {
        let (lo, hi) = stored_range(stored);
        let (a, b) = (self.modality.apply(lo), self.modality.apply(hi));
        // A table may be decreasing: look at every value only when it is.
        let (min, max) = if matches!(self.modality, ModalityTransform::Table(_)) {
            stored
                .iter()
                .map(|v| self.modality.apply(*v))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                    (l.min(v), h.max(v))
                })
        } else {
            (a.min(b), a.max(b))
        };
        if !min.is_finite() {
            return Window {
                center: 0.0,
                width: 1.0,
            };
        }
        // Centre and width chosen so that LINEAR maps the smallest value to 0 and the largest
        // to full scale exactly (C.11.2.1.2.1 with w = max - min + 1).
        Window {
            center: (min + max + 1.0) / 2.0,
            width: (max - min + 1.0).max(1.0),
        }
    }

    /// The display value (0..=255) of one stored value.
    pub fn display(&self, stored: i32, voi: &Voi) -> u8 {
        let x = self.modality.apply(stored);
        let y = voi_output(x, voi);
        if self.invert { 255 - y } else { y }
    }

    /// Renders stored values to 8-bit grey. Each distinct stored value is computed once
    /// (through a table over the frame's range) so a window change costs one pass.
    pub fn render(&self, stored: &[i32], voi: &Voi) -> Vec<u8> {
        let (lo, hi) = stored_range(stored);
        let span = i64::from(hi) - i64::from(lo);
        if (0..=1 << 20).contains(&span) {
            let table: Vec<u8> = (lo..=hi).map(|s| self.display(s, voi)).collect();
            stored
                .iter()
                .map(|s| table[(i64::from(*s) - i64::from(lo)) as usize])
                .collect()
        } else {
            stored.iter().map(|s| self.display(*s, voi)).collect()
        }
    }
}

fn stored_range(stored: &[i32]) -> (i32, i32) {
    let lo = stored.iter().copied().min().unwrap_or(0);
    let hi = stored.iter().copied().max().unwrap_or(0);
    (lo, hi)
}

/// The VOI output (0..=255) of modality value `x`.
pub fn voi_output(x: f64, voi: &Voi) -> u8 {
    match voi {
        Voi::Window(w, VoiFunction::Linear) => voi_linear(x, *w),
        Voi::Window(w, VoiFunction::LinearExact) => voi_linear_exact(x, *w),
        Voi::Window(w, VoiFunction::Sigmoid) => voi_sigmoid(x, *w),
        Voi::Table(lut) => {
            let y = f64::from(lut.lookup(x.round() as i64)) / lut.full_scale();
            to_u8(y * 255.0)
        }
    }
}

fn to_u8(y: f64) -> u8 {
    y.round().clamp(0.0, 255.0) as u8
}

/// VOI LINEAR (PS3.3 C.11.2.1.2.1) to 0..=255.
pub fn voi_linear(x: f64, window: Window) -> u8 {
    let c = window.center;
    let w = window.width.max(1.0);
    if x <= c - 0.5 - (w - 1.0) / 2.0 {
        0
    } else if x > c - 0.5 + (w - 1.0) / 2.0 || w <= 1.0 {
        255
    } else {
        to_u8(((x - (c - 0.5)) / (w - 1.0) + 0.5) * 255.0)
    }
}

/// VOI LINEAR_EXACT (PS3.3 C.11.2.1.3.2) to 0..=255.
pub fn voi_linear_exact(x: f64, window: Window) -> u8 {
    let (c, w) = (window.center, window.width.max(f64::MIN_POSITIVE));
    if x <= c - w / 2.0 {
        0
    } else if x > c + w / 2.0 {
        255
    } else {
        to_u8(((x - c) / w + 0.5) * 255.0)
    }
}

/// VOI SIGMOID (PS3.3 C.11.2.1.3.1) to 0..=255.
pub fn voi_sigmoid(x: f64, window: Window) -> u8 {
    let w = window.width.max(f64::MIN_POSITIVE);
    to_u8(255.0 / (1.0 + (-4.0 * (x - window.center) / w).exp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(center: f64, width: f64) -> Window {
        Window { center, width }
    }

    #[test]
    fn voi_linear_follows_the_standard_formula() {
        let win = w(40.0, 400.0);
        assert_eq!(voi_linear(-1000.0, win), 0);
        assert_eq!(voi_linear(1000.0, win), 255);
        assert!((i32::from(voi_linear(40.0, win)) - 128).abs() <= 1);
        // Width 1 is a threshold at the centre.
        assert_eq!(voi_linear(9.0, w(10.0, 1.0)), 0);
        assert_eq!(voi_linear(10.0, w(10.0, 1.0)), 255);
    }

    #[test]
    fn linear_exact_and_sigmoid_are_centred() {
        assert_eq!(voi_linear_exact(0.0, w(0.0, 100.0)), 128);
        assert_eq!(voi_linear_exact(-50.0, w(0.0, 100.0)), 0);
        assert_eq!(voi_linear_exact(50.0, w(0.0, 100.0)), 255);
        assert_eq!(voi_sigmoid(0.0, w(0.0, 100.0)), 128);
        assert!(voi_sigmoid(-1000.0, w(0.0, 100.0)) == 0);
        assert!(voi_sigmoid(1000.0, w(0.0, 100.0)) == 255);
        // Sigmoid is not clipped at the window edge.
        let edge = voi_sigmoid(50.0, w(0.0, 100.0));
        assert!(edge > 200 && edge < 255, "{edge}");
    }

    #[test]
    fn tables_and_inversion() {
        let pipeline = GreyPipeline {
            modality: ModalityTransform::Table(Lut {
                first_mapped: 0,
                bits: 16,
                entries: vec![1000, 0, 500],
            }),
            windows: vec![],
            function: VoiFunction::Linear,
            voi_tables: vec![Lut {
                first_mapped: 0,
                bits: 10,
                entries: (0..=1000).map(|v| v as u16).collect(),
            }],
            invert: true,
        };
        let voi = pipeline.choose_voi(None, &[0, 1, 2]);
        assert!(matches!(voi, Voi::Table(_)));
        // 1000/1023 of full scale, inverted.
        assert_eq!(pipeline.display(0, &voi), 255 - 249);
        assert_eq!(pipeline.display(1, &voi), 255);
        // The range window of a decreasing table still spans its outputs.
        let range = pipeline.range_window(&[0, 1, 2]);
        assert_eq!((range.center, range.width), (500.5, 1001.0));
        assert_eq!(voi_linear(0.0, range), 0);
        assert_eq!(voi_linear(1000.0, range), 255);
    }
}
