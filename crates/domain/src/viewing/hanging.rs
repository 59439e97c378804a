//! Hanging protocols as data: which studies a protocol is for (modality, body part, study
//! description patterns, how many priors), the layout, which series goes in which viewport
//! (current or a prior, by description, orientation or order), the initial window and whether
//! scrolling is synchronised. Stored as JSON in the store, editable and exportable; the most
//! specific matching protocol wins and the viewer shows which one it used.

use serde::{Deserialize, Serialize};

/// Which studies a protocol is for; an empty field matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolMatch {
    /// Modalities (any of them is in the study), e.g. ["CR", "DX"].
    #[serde(default)]
    pub modalities: Vec<String>,
    /// Body Part Examined patterns (`*` and `?`, case-insensitive), any of them.
    #[serde(default)]
    pub body_parts: Vec<String>,
    /// Study Description pattern (`*` and `?`, case-insensitive).
    #[serde(default)]
    pub study_description: String,
    /// At least this many priors must exist.
    #[serde(default)]
    pub min_priors: usize,
}

/// Image plane from Image Orientation (Patient).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plane {
    /// Axial (transverse).
    Axial,
    /// Coronal.
    Coronal,
    /// Sagittal.
    Sagittal,
}

/// Which series a viewport shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesRule {
    /// 0 = the current study, 1 = the most relevant prior, 2 = the next…
    #[serde(default)]
    pub study: usize,
    /// Series Description pattern (`*`, `?`, case-insensitive); empty = any.
    #[serde(default)]
    pub description: String,
    /// Only series in this plane.
    #[serde(default)]
    pub plane: Option<Plane>,
    /// The n-th matching series (0-based) not already hung.
    #[serde(default)]
    pub nth: usize,
}

/// A window preset for a viewport.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InitialWindow {
    /// Window centre.
    pub center: f64,
    /// Window width.
    pub width: f64,
}

/// One viewport of the layout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewportRule {
    /// What it shows.
    pub series: SeriesRule,
    /// Its first window (None = the image's own).
    #[serde(default)]
    pub window: Option<InitialWindow>,
}

/// A hanging protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HangingProtocol {
    /// Its name (shown in the viewer).
    pub name: String,
    /// Which studies it is for.
    #[serde(rename = "match")]
    pub matches: ProtocolMatch,
    /// Rows of viewports (1–4).
    pub rows: u8,
    /// Columns of viewports (1–4).
    pub columns: u8,
    /// The viewports, row by row (missing ones stay empty).
    pub viewports: Vec<ViewportRule>,
    /// Scroll viewports of the same orientation together.
    #[serde(default)]
    pub sync_scroll: bool,
}

/// What the protocol matching knows about an open study.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudyFacts {
    /// Modalities in the study.
    pub modalities: Vec<String>,
    /// Body parts of its series.
    pub body_parts: Vec<String>,
    /// Study Description.
    pub description: String,
    /// How many relevant priors it has.
    pub priors: usize,
}

/// What series assignment knows about one series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesFacts {
    /// Series Description.
    pub description: String,
    /// Its plane, if its images say.
    pub plane: Option<Plane>,
}

/// `*` and `?` matching, case-insensitive (what staff type in a protocol editor).
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl HangingProtocol {
    /// Whether the protocol is for this study, and how specifically (more conditions = higher).
    pub fn specificity(&self, study: &StudyFacts) -> Option<u32> {
        let m = &self.matches;
        let mut score = 0;
        if !m.modalities.is_empty() {
            if !m.modalities.iter().any(|want| {
                study
                    .modalities
                    .iter()
                    .any(|have| have.eq_ignore_ascii_case(want))
            }) {
                return None;
            }
            score += 1;
        }
        if !m.body_parts.is_empty() {
            if !m
                .body_parts
                .iter()
                .any(|want| study.body_parts.iter().any(|have| glob_matches(want, have)))
            {
                return None;
            }
            score += 2;
        }
        if !m.study_description.is_empty() {
            if !glob_matches(&m.study_description, &study.description) {
                return None;
            }
            score += 2;
        }
        if study.priors < m.min_priors {
            return None;
        }
        score += u32::try_from(m.min_priors).unwrap_or(u32::MAX).min(3);
        Some(score)
    }

    /// For each viewport, the (study, series) it shows: study 0 is the current study, then
    /// the priors in relevance order; a series is hung once.
    pub fn assign(&self, studies: &[Vec<SeriesFacts>]) -> Vec<Option<(usize, usize)>> {
        let mut used = std::collections::HashSet::new();
        self.viewports
            .iter()
            .map(|v| {
                let rule = &v.series;
                let series = studies.get(rule.study)?;
                let choice = series
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !used.contains(&(rule.study, *i)))
                    .filter(|(_, s)| {
                        rule.description.is_empty()
                            || glob_matches(&rule.description, &s.description)
                    })
                    // A series whose plane is not known yet is not refused for it.
                    .filter(|(_, s)| {
                        rule.plane.is_none() || s.plane.is_none() || s.plane == rule.plane
                    })
                    .nth(rule.nth)
                    .map(|(i, _)| (rule.study, i))?;
                used.insert(choice);
                Some(choice)
            })
            .collect()
    }
}

/// The protocol for a study: the most specific match (the first by name on a tie), if any.
pub fn choose<'a>(
    protocols: &'a [HangingProtocol],
    study: &StudyFacts,
) -> Option<&'a HangingProtocol> {
    let mut best: Option<(u32, &HangingProtocol)> = None;
    for p in protocols {
        if let Some(score) = p.specificity(study)
            && best.is_none_or(|(b, bp)| score > b || (score == b && p.name < bp.name))
        {
            best = Some((score, p));
        }
    }
    best.map(|(_, p)| p)
}

/// The plane of an image from its Image Orientation (Patient): the normal's largest component.
pub fn plane_of(orientation: &[f64]) -> Option<Plane> {
    let [rx, ry, rz, cx, cy, cz] = orientation[..] else {
        return None;
    };
    let n = (ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx);
    let (ax, ay, az) = (n.0.abs(), n.1.abs(), n.2.abs());
    if az >= ax && az >= ay {
        Some(Plane::Axial)
    } else if ay >= ax {
        Some(Plane::Coronal)
    } else {
        Some(Plane::Sagittal)
    }
}

fn viewport(study: usize, description: &str, plane: Option<Plane>, nth: usize) -> ViewportRule {
    ViewportRule {
        series: SeriesRule {
            study,
            description: description.into(),
            plane,
            nth,
        },
        window: None,
    }
}

/// The protocols Lightbox ships (restored at start if missing; local edits are kept).
pub fn defaults() -> Vec<HangingProtocol> {
    vec![
        HangingProtocol {
            name: "CR/DX two views".into(),
            matches: ProtocolMatch {
                modalities: vec!["CR".into(), "DX".into()],
                ..Default::default()
            },
            rows: 1,
            columns: 2,
            viewports: vec![viewport(0, "", None, 0), viewport(0, "", None, 0)],
            sync_scroll: false,
        },
        HangingProtocol {
            name: "CT with prior".into(),
            matches: ProtocolMatch {
                modalities: vec!["CT".into()],
                min_priors: 1,
                ..Default::default()
            },
            rows: 1,
            columns: 2,
            viewports: vec![
                viewport(0, "", Some(Plane::Axial), 0),
                viewport(1, "", Some(Plane::Axial), 0),
            ],
            sync_scroll: true,
        },
        HangingProtocol {
            name: "CT single".into(),
            matches: ProtocolMatch {
                modalities: vec!["CT".into()],
                ..Default::default()
            },
            rows: 1,
            columns: 1,
            viewports: vec![viewport(0, "", Some(Plane::Axial), 0)],
            sync_scroll: false,
        },
        HangingProtocol {
            name: "MR brain".into(),
            matches: ProtocolMatch {
                modalities: vec!["MR".into()],
                body_parts: vec!["HEAD".into(), "BRAIN".into()],
                ..Default::default()
            },
            rows: 2,
            columns: 2,
            viewports: vec![
                viewport(0, "*T1*", None, 0),
                viewport(0, "*T2*", None, 0),
                viewport(0, "*FLAIR*", None, 0),
                viewport(0, "*DWI*", None, 0),
            ],
            sync_scroll: true,
        },
        HangingProtocol {
            name: "Mammography 4-up with prior".into(),
            matches: ProtocolMatch {
                modalities: vec!["MG".into()],
                min_priors: 1,
                ..Default::default()
            },
            rows: 2,
            columns: 4,
            viewports: vec![
                viewport(0, "*R*CC*", None, 0),
                viewport(0, "*L*CC*", None, 0),
                viewport(1, "*R*CC*", None, 0),
                viewport(1, "*L*CC*", None, 0),
                viewport(0, "*R*MLO*", None, 0),
                viewport(0, "*L*MLO*", None, 0),
                viewport(1, "*R*MLO*", None, 0),
                viewport(1, "*L*MLO*", None, 0),
            ],
            sync_scroll: false,
        },
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn study(modality: &str, body: &str, description: &str, priors: usize) -> StudyFacts {
        StudyFacts {
            modalities: vec![modality.into()],
            body_parts: vec![body.into()],
            description: description.into(),
            priors,
        }
    }

    #[test]
    fn globs_match_like_staff_expect() {
        assert!(glob_matches("*T2*", "Ax T2 FSE"));
        assert!(glob_matches("*t2*", "AX T2 FSE"));
        assert!(glob_matches("CT HEAD*", "CT head without contrast"));
        assert!(glob_matches("?R*", "CR CHEST"));
        assert!(!glob_matches("*FLAIR*", "Ax T2"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("a", ""));
    }

    #[test]
    fn the_most_specific_protocol_wins() {
        let all = defaults();
        let pick = |s: &StudyFacts| choose(&all, s).map(|p| p.name.clone());
        assert_eq!(
            pick(&study("CT", "HEAD", "CT head", 1)).as_deref(),
            Some("CT with prior")
        );
        assert_eq!(
            pick(&study("CT", "HEAD", "CT head", 0)).as_deref(),
            Some("CT single")
        );
        assert_eq!(
            pick(&study("MR", "BRAIN", "MR brain", 0)).as_deref(),
            Some("MR brain")
        );
        assert_eq!(pick(&study("MR", "KNEE", "MR knee", 0)), None);
        assert_eq!(
            pick(&study("DX", "CHEST", "XR chest", 3)).as_deref(),
            Some("CR/DX two views")
        );
        assert_eq!(
            pick(&study("MG", "BREAST", "Screening", 0)),
            None,
            "4-up needs a prior"
        );
        assert_eq!(
            pick(&study("MG", "BREAST", "Screening", 2)).as_deref(),
            Some("Mammography 4-up with prior")
        );
        // A local protocol for one description beats the general one.
        let mut mine = all.clone();
        mine.push(HangingProtocol {
            name: "Stroke CT".into(),
            matches: ProtocolMatch {
                modalities: vec!["CT".into()],
                study_description: "*STROKE*".into(),
                ..Default::default()
            },
            rows: 1,
            columns: 3,
            viewports: vec![],
            sync_scroll: true,
        });
        assert_eq!(
            choose(&mine, &study("CT", "HEAD", "CT head STROKE protocol", 1))
                .map(|p| p.name.as_str()),
            Some("Stroke CT")
        );
    }

    #[test]
    fn series_go_to_viewports_by_description_plane_and_study_once_each() {
        let current = vec![
            SeriesFacts {
                description: "Scout".into(),
                plane: Some(Plane::Coronal),
            },
            SeriesFacts {
                description: "Axial 5mm".into(),
                plane: Some(Plane::Axial),
            },
            SeriesFacts {
                description: "Axial 1mm".into(),
                plane: Some(Plane::Axial),
            },
        ];
        let prior = vec![SeriesFacts {
            description: "Axial".into(),
            plane: Some(Plane::Axial),
        }];
        let ct = defaults()
            .into_iter()
            .find(|p| p.name == "CT with prior")
            .unwrap();
        assert_eq!(
            ct.assign(&[current.clone(), prior]),
            vec![Some((0, 1)), Some((1, 0))]
        );
        // Two viewports of "the first series": the second takes the next one.
        let dx = defaults()
            .into_iter()
            .find(|p| p.name == "CR/DX two views")
            .unwrap();
        assert_eq!(
            dx.assign(std::slice::from_ref(&current)),
            vec![Some((0, 0)), Some((0, 1))]
        );
        // No prior: that viewport stays empty.
        assert_eq!(ct.assign(&[current]), vec![Some((0, 1)), None]);
        let mr = defaults()
            .into_iter()
            .find(|p| p.name == "MR brain")
            .unwrap();
        let brain = vec![
            SeriesFacts {
                description: "Sag T1".into(),
                plane: Some(Plane::Sagittal),
            },
            SeriesFacts {
                description: "Ax FLAIR".into(),
                plane: Some(Plane::Axial),
            },
            SeriesFacts {
                description: "Ax T2".into(),
                plane: Some(Plane::Axial),
            },
        ];
        assert_eq!(
            mr.assign(&[brain]),
            vec![Some((0, 0)), Some((0, 2)), Some((0, 1)), None]
        );
    }

    #[test]
    fn the_plane_comes_from_image_orientation() {
        assert_eq!(
            plane_of(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            Some(Plane::Axial)
        );
        assert_eq!(
            plane_of(&[1.0, 0.0, 0.0, 0.0, 0.0, -1.0]),
            Some(Plane::Coronal)
        );
        assert_eq!(
            plane_of(&[0.0, 1.0, 0.0, 0.0, 0.0, -1.0]),
            Some(Plane::Sagittal)
        );
        // Slightly oblique axial.
        assert_eq!(
            plane_of(&[0.99, 0.1, 0.0, -0.1, 0.99, 0.1]),
            Some(Plane::Axial)
        );
        assert_eq!(plane_of(&[1.0, 0.0]), None);
    }

    #[test]
    fn protocols_round_trip_through_json() {
        for p in defaults() {
            let json = serde_json::to_string(&p).unwrap();
            let back: HangingProtocol = serde_json::from_str(&json).unwrap();
            assert_eq!(back, p);
        }
        // Hand-written JSON with defaults left out still reads.
        let p: HangingProtocol = serde_json::from_str(
            r#"{"name":"X","match":{"modalities":["US"]},"rows":1,"columns":1,"viewports":[{"series":{}}]}"#,
        )
        .unwrap();
        assert_eq!(p.viewports[0].series.study, 0);
    }
}
