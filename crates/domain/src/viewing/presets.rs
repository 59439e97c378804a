//! Window presets per modality (CT brain, lung, bone…): built in, or configured in the
//! setting `viewer.window_presets`.

use crate::imaging::Window;

/// Setting: window presets per modality as JSON, e.g. `{"CT": [["Brain", 40, 80]]}` (name,
/// centre, width); replaces the built-in list for the modalities it names.
pub const WINDOW_PRESETS_SETTING: &str = "viewer.window_presets";

/// The built-in presets: (modality, name, centre, width).
const BUILT_IN_PRESETS: &[(&str, &str, f64, f64)] = &[
    ("CT", "Brain", 40.0, 80.0),
    ("CT", "Subdural", 75.0, 215.0),
    ("CT", "Stroke", 35.0, 40.0),
    ("CT", "Lung", -600.0, 1500.0),
    ("CT", "Mediastinum", 50.0, 350.0),
    ("CT", "Abdomen", 40.0, 400.0),
    ("CT", "Liver", 60.0, 160.0),
    ("CT", "Bone", 400.0, 1800.0),
];

/// The presets for a modality: the setting's list when it names the modality, else the
/// built-in one. A setting that does not read is ignored (and was refused when saved).
pub fn window_presets(store: &crate::store::Store, modality: &str) -> Vec<(String, Window)> {
    let configured = store
        .setting(WINDOW_PRESETS_SETTING)
        .ok()
        .flatten()
        .and_then(|json| parse_presets(&json).ok())
        .and_then(|map| map.get(&modality.to_uppercase()).cloned());
    configured.unwrap_or_else(|| {
        BUILT_IN_PRESETS
            .iter()
            .filter(|(m, ..)| m.eq_ignore_ascii_case(modality))
            .map(|(_, name, center, width)| {
                (
                    (*name).to_string(),
                    Window {
                        center: *center,
                        width: *width,
                    },
                )
            })
            .collect()
    })
}

/// Reads the presets setting: modality → [(name, window)].
pub fn parse_presets(
    json: &str,
) -> Result<std::collections::BTreeMap<String, Vec<(String, Window)>>, String> {
    let raw: std::collections::BTreeMap<String, Vec<(String, f64, f64)>> =
        serde_json::from_str(json).map_err(|e| format!("not a preset list: {e}"))?;
    raw.into_iter()
        .map(|(modality, list)| {
            let list = list
                .into_iter()
                .map(|(name, center, width)| {
                    if width > 0.0 && width.is_finite() && center.is_finite() {
                        Ok((name, Window { center, width }))
                    } else {
                        Err(format!("preset {name}: the width must be positive"))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((modality.to_uppercase(), list))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn built_in_ct_presets_and_a_configured_list_replacing_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("s.sqlite")).unwrap();
        let ct = window_presets(&store, "CT");
        assert!(
            ct.iter()
                .any(|(n, w)| n == "Lung" && w.center == -600.0 && w.width == 1500.0)
        );
        assert!(window_presets(&store, "MR").is_empty());
        let json = r#"{"mr": [["T2 soft", 300, 600]]}"#;
        crate::settings::validate(WINDOW_PRESETS_SETTING, json).unwrap();
        store.set_setting(WINDOW_PRESETS_SETTING, json).unwrap();
        assert_eq!(window_presets(&store, "MR")[0].0, "T2 soft");
        assert_eq!(
            window_presets(&store, "CT").len(),
            ct.len(),
            "CT keeps the built-in list"
        );
        assert!(
            crate::settings::validate(WINDOW_PRESETS_SETTING, r#"{"CT": [["x", 1, 0]]}"#).is_err()
        );
        assert!(crate::settings::validate(WINDOW_PRESETS_SETTING, "not json").is_err());
    }
}
