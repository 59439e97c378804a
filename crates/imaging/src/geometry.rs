//! Where an image lies in the patient (Image Position, Image Orientation, Pixel Spacing) and
//! where another image's plane cuts it: the reference line a viewer draws on a sagittal image
//! to show where the axial slice beside it is, and which slice of another stack lies at the
//! same place (synchronised scrolling by slice position).

/// An image plane in patient coordinates (mm, DICOM LPS).
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePlane {
    /// Frame of Reference UID: lines are only drawn between images that share it.
    pub frame_of_reference: String,
    /// Image Position (Patient): the centre of the first pixel.
    pub position: [f64; 3],
    /// Direction along a row (increasing column).
    pub row: [f64; 3],
    /// Direction down a column (increasing row).
    pub column: [f64; 3],
    /// Spacing between rows (along `column`) and between columns (along `row`), mm.
    pub spacing: (f64, f64),
    /// Columns and rows.
    pub size: (u32, u32),
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// Ties two stacks in different frames of reference (a prior): the leader's and the
/// follower's slice locations when the user said "these show the same anatomy".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncAnchor {
    /// The leading stack's [`ImagePlane::location_mm`] at the anchor.
    pub leader_mm: f64,
    /// The following stack's location at the anchor.
    pub follower_mm: f64,
}

/// The unit normal of a plane, or None for a degenerate orientation.
fn unit(v: [f64; 3]) -> Option<[f64; 3]> {
    let length = dot(v, v).sqrt();
    (length > 1e-9).then(|| [v[0] / length, v[1] / length, v[2] / length])
}

/// Which slice of `stack` shows the place the leader's slice shows: in the same frame of
/// reference by patient position; across frames (a prior) by the distance scrolled since the
/// anchor. None when the stacks are not parallel, the frames differ and there is no anchor,
/// or no slice of the stack has a known place (the caller then scrolls by image count).
pub fn synced_slice(
    leader: &ImagePlane,
    stack: &[Option<ImagePlane>],
    anchor: Option<SyncAnchor>,
) -> Option<usize> {
    let first = stack.iter().flatten().next()?;
    let (n_leader, n_stack) = (unit(leader.normal())?, unit(first.normal())?);
    let alignment = dot(n_leader, n_stack);
    // Parallel within about 8°: a tilted gantry still follows, an orthogonal stack does not.
    if alignment.abs() < 0.99 {
        return None;
    }
    let same_frame = !leader.frame_of_reference.is_empty()
        && leader.frame_of_reference == first.frame_of_reference;
    let target = match anchor {
        // Patient positions are exact within one frame: an anchor never overrides them.
        _ if same_frame => dot(leader.position, n_stack),
        Some(a) => a.follower_mm + alignment.signum() * (leader.location_mm() - a.leader_mm),
        None => return None,
    };
    stack
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.as_ref().map(|p| (i, (p.location_mm() - target).abs())))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

impl ImagePlane {
    fn normal(&self) -> [f64; 3] {
        cross(self.row, self.column)
    }

    /// Where this slice lies in its stack: the distance of its position along its normal
    /// (mm). Parallel slices of one stack differ only in it.
    pub fn location_mm(&self) -> f64 {
        unit(self.normal()).map_or(0.0, |n| dot(self.position, n))
    }

    /// The patient point at image pixel coordinates (x along the row, y down the column;
    /// 0,0 is the top-left corner of the first pixel).
    fn point(&self, x: f64, y: f64) -> [f64; 3] {
        let (row_mm, column_mm) = self.spacing;
        let (u, v) = ((x - 0.5) * column_mm, (y - 0.5) * row_mm);
        [
            self.position[0] + u * self.row[0] + v * self.column[0],
            self.position[1] + u * self.row[1] + v * self.column[1],
            self.position[2] + u * self.row[2] + v * self.column[2],
        ]
    }

    /// Where `other`'s plane cuts this image, as a segment in this image's pixel coordinates
    /// clipped to the image; None when the planes are parallel, in another frame of
    /// reference, or the cut misses the image.
    pub fn reference_line(&self, other: &ImagePlane) -> Option<((f64, f64), (f64, f64))> {
        if self.frame_of_reference.is_empty() || self.frame_of_reference != other.frame_of_reference
        {
            return None;
        }
        let n = other.normal();
        let length = dot(n, n).sqrt();
        if length == 0.0
            || cross(self.normal(), n)
                .iter()
                .all(|c| c.abs() < 1e-6 * length)
        {
            return None;
        }
        // Signed distance from the other plane of each corner; the cut is where it is zero
        // along the image's edges.
        let (w, h) = (f64::from(self.size.0), f64::from(self.size.1));
        let corners = [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)];
        let distance = |(x, y): (f64, f64)| {
            let p = self.point(x, y);
            dot(
                n,
                [
                    p[0] - other.position[0],
                    p[1] - other.position[1],
                    p[2] - other.position[2],
                ],
            ) / length
        };
        let mut points = Vec::new();
        for i in 0..4 {
            let (a, b) = (corners[i], corners[(i + 1) % 4]);
            let (da, db) = (distance(a), distance(b));
            if da == 0.0 {
                points.push(a);
            }
            if (da < 0.0 && db > 0.0) || (da > 0.0 && db < 0.0) {
                let t = da / (da - db);
                points.push((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t));
            }
        }
        points.dedup_by(|p, q| (p.0 - q.0).abs() < 1e-9 && (p.1 - q.1).abs() < 1e-9);
        match points[..] {
            [a, b, ..] => Some((a, b)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axial(z: f64) -> ImagePlane {
        ImagePlane {
            frame_of_reference: "1.2.3".into(),
            position: [-100.0, -100.0, z],
            row: [1.0, 0.0, 0.0],
            column: [0.0, 1.0, 0.0],
            spacing: (1.0, 1.0),
            size: (200, 200),
        }
    }

    fn sagittal() -> ImagePlane {
        // Rows run posterior (+y), columns run to the feet (-z); x = 0 (midline).
        ImagePlane {
            frame_of_reference: "1.2.3".into(),
            position: [0.0, -100.0, 100.0],
            row: [0.0, 1.0, 0.0],
            column: [0.0, 0.0, -1.0],
            spacing: (1.0, 1.0),
            size: (200, 200),
        }
    }

    #[test]
    fn an_axial_slice_cuts_a_sagittal_image_in_a_horizontal_line_at_its_height() {
        // z = 40 mm is 60 mm below the sagittal image's top (z = 100): row 60.5 (pixel
        // centres are at .5).
        let (a, b) = sagittal().reference_line(&axial(40.0)).unwrap();
        assert!(
            (a.1 - 60.5).abs() < 1e-9 && (b.1 - 60.5).abs() < 1e-9,
            "{a:?} {b:?}"
        );
        assert!((a.0 - b.0).abs() > 199.0, "spans the image: {a:?} {b:?}");
        // The sagittal midline cuts the axial image in a vertical line at x = 0 mm.
        let (a, b) = axial(40.0).reference_line(&sagittal()).unwrap();
        assert!(
            (a.0 - 100.5).abs() < 1e-9 && (b.0 - 100.5).abs() < 1e-9,
            "{a:?} {b:?}"
        );
    }

    fn stack(frame: &str, first_z: f64, step_mm: f64, slices: usize) -> Vec<Option<ImagePlane>> {
        (0..slices)
            .map(|i| {
                let mut p = axial(first_z + step_mm * i as f64);
                p.frame_of_reference = frame.into();
                Some(p)
            })
            .collect()
    }

    #[test]
    fn a_stack_in_the_same_frame_follows_by_position_whatever_its_spacing() {
        // 2.5 mm slices lead, 5 mm slices descending from z = 45 follow.
        let leader = stack("1.2.3", 0.0, 2.5, 20);
        let follower = stack("1.2.3", 45.0, -5.0, 10);
        let at = |i: usize| synced_slice(leader[i].as_ref().unwrap(), &follower, None);
        assert_eq!(at(0), Some(9)); // z 0 ↔ 45 - 5·9 = 0
        assert_eq!(at(8), Some(5)); // z 20 ↔ 20
        assert_eq!(at(19), Some(0)); // z 47.5: nearest is 45
        // Slices whose place is unknown are skipped, not chosen.
        let mut gaps = follower.clone();
        gaps[5] = None;
        assert!(matches!(
            synced_slice(leader[8].as_ref().unwrap(), &gaps, None),
            Some(4) | Some(6)
        ));
    }

    #[test]
    fn a_prior_in_another_frame_follows_only_from_an_anchor() {
        let current = stack("1.2.3", 0.0, 2.5, 40);
        // The prior was scanned with the table 300 mm elsewhere, 5 mm slices.
        let prior = stack("9.8.7", 300.0, 5.0, 20);
        let leader = current[10].as_ref().unwrap(); // z = 25
        assert_eq!(synced_slice(leader, &prior, None), None);
        // The user lined up current slice 10 (z 25) with prior slice 3 (z 315).
        let anchor = SyncAnchor {
            leader_mm: leader.location_mm(),
            follower_mm: prior[3].as_ref().unwrap().location_mm(),
        };
        assert_eq!(synced_slice(leader, &prior, Some(anchor)), Some(3));
        // 20 mm further down the current stack is 4 prior slices further.
        let moved = current[18].as_ref().unwrap();
        assert_eq!(synced_slice(moved, &prior, Some(anchor)), Some(7));
    }

    #[test]
    fn an_orthogonal_stack_or_an_unknown_one_does_not_follow() {
        let leader = axial(10.0);
        assert_eq!(synced_slice(&leader, &[Some(sagittal())], None), None);
        assert_eq!(synced_slice(&leader, &[None, None], None), None);
        let mut unnamed = leader.clone();
        unnamed.frame_of_reference = String::new();
        assert_eq!(
            synced_slice(&unnamed, &stack("", 0.0, 1.0, 3), None),
            None,
            "an empty frame of reference is no frame of reference"
        );
    }

    #[test]
    fn no_line_between_parallel_planes_other_frames_or_a_cut_outside() {
        assert!(axial(0.0).reference_line(&axial(10.0)).is_none());
        let mut other = sagittal();
        other.frame_of_reference = "9.9".into();
        assert!(axial(0.0).reference_line(&other).is_none());
        // An axial slice far below the sagittal image misses it.
        assert!(sagittal().reference_line(&axial(-500.0)).is_none());
    }
}
