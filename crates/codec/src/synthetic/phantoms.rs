//! Analytic phantoms for the demo's non-head exams, so a radiologist trying Lightbox sees
//! anatomy where window presets and measurements make sense: a chest and upper abdomen (CT
//! slices, and its projection as a chest radiograph), a breast (mammogram views) and an
//! abdominal ultrasound (liver with the gallbladder). Pure functions of position: no files,
//! no randomness beyond a repeatable grain.

/// One ellipsoid of the body in the unit cube (x to the patient's left, y anterior, z up):
/// semi-axes, centre, and the CT number inside it (innermost, i.e. last, wins).
struct Part {
    axes: [f64; 3],
    centre: [f64; 3],
    hu: i32,
}

const fn part(axes: [f64; 3], centre: [f64; 3], hu: i32) -> Part {
    Part { axes, centre, hu }
}

/// The chest and upper abdomen: fat, muscle, lungs with a nodule, heart, aorta, spine with its
/// canal, sternum, liver and stomach gas below the right and left diaphragm.
const BODY: [Part; 15] = [
    part([0.92, 0.62, 1.4], [0.0, 0.0, 0.0], -100), // subcutaneous fat
    part([0.86, 0.56, 1.4], [0.0, 0.0, 0.0], 45),   // muscle and soft tissue
    part([0.34, 0.42, 0.75], [-0.42, 0.02, 0.3], -850), // right lung
    part([0.32, 0.40, 0.72], [0.42, 0.02, 0.3], -850), // left lung
    part([0.05, 0.05, 0.05], [-0.48, 0.12, 0.45], 35), // a nodule in the right upper lobe
    part([0.30, 0.26, 0.28], [0.12, 0.14, -0.05], 40), // heart
    part([0.075, 0.075, 1.0], [0.1, -0.22, 0.2], 45), // descending aorta
    part([0.11, 0.10, 1.4], [0.0, -0.38, 0.0], 650), // vertebral bodies
    part([0.045, 0.045, 1.4], [0.0, -0.5, 0.0], 10), // spinal canal
    part([0.16, 0.035, 1.4], [0.0, -0.6, 0.0], 700), // posterior elements
    part([0.07, 0.03, 0.55], [0.0, 0.53, 0.15], 600), // sternum
    part([0.52, 0.45, 0.45], [-0.32, 0.05, -0.95], 60), // liver
    part([0.10, 0.12, 0.13], [-0.25, 0.25, -0.9], 0), // gallbladder (bile)
    part([0.22, 0.18, 0.18], [0.42, 0.15, -0.85], -950), // stomach gas
    part([0.09, 0.07, 0.07], [-0.45, -0.1, -0.9], 20), // a liver cyst
];

fn body_hu(p: [f64; 3]) -> i32 {
    BODY.iter()
        .rev()
        .find(|e| {
            let d = |i: usize| (p[i] - e.centre[i]) / e.axes[i];
            d(0) * d(0) + d(1) * d(1) + d(2) * d(2) <= 1.0
        })
        .map_or(-1000, |e| e.hu)
}

/// The CT number of the body at (x, y) of a `size`² slice `index` of `slices` (from the lung
/// apices down to the liver).
pub fn body_ct_hu(x: i64, y: i64, size: i64, index: u32, slices: u32) -> i32 {
    let half = size as f64 / 2.0;
    let px = (x as f64 + 0.5 - half) / half;
    let py = -((y as f64 + 0.5 - half) / half);
    let pz = 0.95 - 2.1 * f64::from(index) / f64::from(slices.max(2) - 1);
    body_hu([px, py, pz])
}

/// A chest radiograph of the same body: `lateral` false is a PA view (projected front to
/// back), true a lateral one; 12-bit values, bone and soft tissue bright, lungs dark.
pub fn chest_radiograph(x: i64, y: i64, size: i64, lateral: bool) -> u16 {
    let half = size as f64 / 2.0;
    // Columns across the chest, rows from the shoulders (z = 1) down to the upper abdomen.
    let across = (x as f64 + 0.5 - half) / half;
    let z = 1.1 - 2.0 * (y as f64 + 0.5) / size as f64;
    const STEPS: usize = 64;
    let mut path = 0.0;
    for s in 0..STEPS {
        let depth = -1.0 + 2.0 * (s as f64 + 0.5) / STEPS as f64;
        // PA: the film faces the patient's front, so the patient's right is on the viewer's
        // left as for any frontal view.
        let p = if lateral {
            [depth, -across, z]
        } else {
            [across, depth, z]
        };
        let mu = (f64::from(body_hu(p)) + 1000.0).max(0.0) / 1000.0;
        path += mu * 2.0 / STEPS as f64;
    }
    let value = 4095.0 * (1.0 - (-1.6 * path).exp());
    value.clamp(0.0, 4095.0) as u16
}

/// A mammogram view: `view` 0 RCC, 1 LCC, 2 RMLO, 3 LMLO. The breast lies against the chest
/// wall (the image's left edge for right views, right edge for left ones), with fibroglandular
/// tissue, a spiculated-looking dense mass and a cluster of microcalcifications.
pub fn mammogram(x: i64, y: i64, size: i64, view: u32) -> u16 {
    let half = size as f64 / 2.0;
    let mut u = (x as f64 + 0.5) / size as f64; // 0 at the chest wall
    let v = (y as f64 + 0.5 - half) / half; // -1 top, 1 bottom
    if view % 2 == 1 {
        u = 1.0 - u;
    }
    // The MLO views are a little taller and tilted: the pectoral muscle in the upper corner.
    let mlo = view >= 2;
    let (reach, height) = if mlo { (0.78, 0.95) } else { (0.7, 0.8) };
    let inside = (u / reach).powi(2) + (v / height).powi(2) <= 1.0;
    if !inside {
        return 60;
    }
    let mut value = 1300.0 + 500.0 * (1.0 - u / reach);
    if mlo && u + 0.5 * v < 0.12 {
        value += 900.0; // pectoral muscle
    }
    // Fibroglandular tissue: overlapping blobs behind the nipple.
    for (cu, cv, ru, rv) in [
        (0.22, -0.15, 0.16, 0.22),
        (0.3, 0.12, 0.14, 0.18),
        (0.4, -0.02, 0.12, 0.14),
    ] {
        let d = ((u - cu) / ru).powi(2) + ((v - cv) / rv).powi(2);
        if d <= 1.0 {
            value += 420.0 * (1.0 - d);
        }
    }
    // A dense mass with an irregular edge, in the upper outer quadrant of the right breast.
    if view.is_multiple_of(2) {
        let (du, dv) = (u - 0.42, v + 0.35);
        let angle = dv.atan2(du);
        let edge = 0.055 * (1.0 + 0.35 * (7.0 * angle).sin());
        if (du * du + dv * dv).sqrt() <= edge {
            value += 900.0;
        }
    }
    // Microcalcifications: a tight cluster of bright specks.
    for (cu, cv) in [(0.5, 0.3), (0.52, 0.32), (0.49, 0.34), (0.53, 0.29)] {
        if ((u - cu) * size as f64).abs() < 0.8 && ((v - cv) * half).abs() < 0.8 {
            value = 3800.0;
        }
    }
    value.clamp(0.0, 4095.0) as u16
}

/// An abdominal ultrasound frame (8-bit echo): speckled liver, the anechoic gallbladder with
/// bright posterior enhancement and a small echogenic stone with its acoustic shadow, and the
/// dark near field; `frame` moves the probe a little.
pub fn ultrasound(x: i64, y: i64, size: i64, frame: u32) -> u16 {
    let n = size as f64;
    let (u, depth) = ((x as f64 + 0.5) / n, (y as f64 + 0.5) / n);
    // A sector: the probe at the top centre, ±35°.
    let (du, dv) = (u - 0.5, depth + 0.05);
    let angle = du.atan2(dv);
    let range = (du * du + dv * dv).sqrt();
    if angle.abs() > 0.61 || range > 1.0 {
        return 0;
    }
    let speckle = f64::from(super::grain(x, y, i64::from(frame)) + 4) / 8.0;
    let shift = 0.04 * f64::from(frame);
    let (gu, gv) = (0.45 + shift, 0.48);
    let in_gallbladder = ((u - gu) / 0.16).powi(2) + ((depth - gv) / 0.1).powi(2) <= 1.0;
    let in_stone = ((u - gu - 0.05) / 0.025).powi(2) + ((depth - gv - 0.06) / 0.025).powi(2) <= 1.0;
    let behind_stone = (u - gu - 0.05).abs() < 0.025 && depth > gv + 0.085;
    let behind_gallbladder = (u - gu).abs() < 0.14 && depth > gv + 0.1;
    let mut echo = if in_stone {
        235.0
    } else if in_gallbladder {
        6.0 + 6.0 * speckle
    } else if range < 0.12 {
        40.0 + 50.0 * speckle // near field: skin and muscle
    } else {
        90.0 + 70.0 * speckle // liver parenchyma
    };
    if behind_stone {
        echo *= 0.25; // acoustic shadow
    } else if behind_gallbladder && !in_gallbladder {
        echo *= 1.45; // posterior enhancement
    }
    // Deeper echoes fade (time-gain compensation is never perfect).
    echo *= 1.0 - 0.35 * range;
    echo.clamp(0.0, 255.0) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_air_outside_lungs_dark_bone_bright_and_a_liver_below() {
        // Outside the body, air; mid-chest, a lung on each side of bright spine.
        assert_eq!(body_ct_hu(0, 0, 128, 5, 40), -1000);
        let mid = 12; // a slice through the lungs
        assert!(body_ct_hu(32, 64, 128, mid, 40) < -700, "right lung");
        assert!(body_ct_hu(96, 64, 128, mid, 40) < -700, "left lung");
        assert!(body_ct_hu(64, 90, 128, mid, 40) > 500, "vertebral body");
        // Low slices hold the liver on the patient's right.
        assert!(
            (40..=80).contains(&body_ct_hu(40, 64, 128, 38, 40)),
            "liver"
        );
    }

    #[test]
    fn a_chest_radiograph_has_dark_lungs_and_a_bright_mediastinum() {
        let lung = chest_radiograph(36, 45, 128, false);
        let mediastinum = chest_radiograph(66, 60, 128, false);
        let outside = chest_radiograph(1, 60, 128, false);
        assert!(
            outside < lung && lung < mediastinum,
            "{outside} {lung} {mediastinum}"
        );
        assert!(
            chest_radiograph(64, 60, 128, true) > lung,
            "a lateral view is denser"
        );
    }

    #[test]
    fn mammogram_views_mirror_and_hold_calcifications() {
        assert!(
            mammogram(10, 64, 128, 0) > 1000,
            "breast at the chest wall (right)"
        );
        assert!(
            mammogram(117, 64, 128, 1) > 1000,
            "breast at the chest wall (left)"
        );
        assert_eq!(mammogram(120, 64, 128, 0), 60, "air beyond the breast");
        let calcified = (0..128)
            .flat_map(|y| (0..128).map(move |x| (x, y)))
            .filter(|&(x, y)| mammogram(x, y, 128, 0) == 3800)
            .count();
        assert!((3..=20).contains(&calcified), "{calcified}");
    }

    #[test]
    fn the_gallbladder_is_dark_in_bright_liver_inside_the_sector() {
        assert_eq!(ultrasound(2, 120, 128, 0), 0, "outside the sector");
        let gallbladder = ultrasound(58, 61, 128, 0);
        let liver = ultrasound(64, 40, 128, 0);
        assert!(gallbladder < 20 && liver > 60, "{gallbladder} {liver}");
    }
}
