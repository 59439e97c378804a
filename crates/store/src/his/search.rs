//! The front desk's patient search: what a person types — a name prefix ("müller",
//! "Müller, zoë"), an MRN or outside identifier prefix, or a birth date — answered from
//! indexes (names kept in Unicode lower case beside the originals, migration 019), so a
//! keystroke costs the same with 150 patients or 150,000.

use rusqlite::params;

use super::{PATIENT_COLUMNS, PatientRecord, patient_from_row};
use crate::{SqlContext, Store, StoreResult, fold};

/// The smallest string after every string that starts with `prefix`.
fn after_prefix(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

impl Store {
    /// Patients matching what the front desk types: a name prefix (family, or "family, given"),
    /// an MRN or outside identifier prefix (as typed or in capitals), or a birth date
    /// (YYYY-MM-DD); merged records are left out. At most `limit`, by name.
    pub fn search_patients(&self, text: &str, limit: usize) -> StoreResult<Vec<PatientRecord>> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let (family, given) = match text.split_once(',') {
            Some((f, g)) => (f.trim(), g.trim()),
            None => (text, ""),
        };
        let escape = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        };
        let family = fold(family);
        let given_like = format!("{}%", escape(&fold(given)));
        let upper = text.to_uppercase();
        // Each way of matching is one index range; their union is small, then sorted.
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {} FROM his_patients p
                 WHERE p.merged_into IS NULL AND p.id IN (
                    SELECT id FROM his_patients
                     WHERE family_folded >= ?1 AND family_folded < ?2
                       AND given_folded LIKE ?3 ESCAPE '\\'
                    UNION SELECT id FROM his_patients WHERE mrn >= ?4 AND mrn < ?5
                    UNION SELECT id FROM his_patients WHERE mrn >= ?6 AND mrn < ?7
                    UNION SELECT id FROM his_patients WHERE birth_date = ?8
                    UNION SELECT patient FROM patient_identifiers WHERE value >= ?4 AND value < ?5
                    UNION SELECT patient FROM patient_identifiers WHERE value >= ?6 AND value < ?7)
                 ORDER BY p.family_name, p.given_name, p.birth_date LIMIT ?9",
                PATIENT_COLUMNS
                    .split(", ")
                    .map(|c| format!("p.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .ctx("preparing the patient search")?;
        let rows = stmt
            .query_map(
                params![
                    family,
                    after_prefix(&family),
                    given_like,
                    text,
                    after_prefix(text),
                    upper,
                    after_prefix(&upper),
                    text,
                    limit as i64
                ],
                patient_from_row,
            )
            .ctx("searching patients")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("searching patients")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: SQLite's LIKE folds ASCII letters only, so "müller" did not find MÜLLER
    /// (found by the network API's test searching as a person types).
    #[test]
    fn a_lowercase_accented_search_finds_an_uppercase_accented_name() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut store = Store::open(&dir.path().join("db.sqlite")).expect("store");
        for (mrn, family, given) in [
            ("M1", "MÜLLER", "Zoë"),
            ("M2", "ÅSTRÖM", "Øystein"),
            ("M3", "山田", "太郎"),
        ] {
            store
                .insert_patient(
                    &PatientRecord {
                        mrn: mrn.into(),
                        family_name: family.into(),
                        given_name: given.into(),
                        birth_date: "1960-01-01".into(),
                        sex: "U".into(),
                        pregnancy: "unknown".into(),
                        ..Default::default()
                    },
                    &[],
                )
                .expect("patient");
        }
        let found = |text: &str| -> Vec<String> {
            store
                .search_patients(text, 10)
                .expect("search")
                .into_iter()
                .map(|p| p.mrn)
                .collect()
        };
        assert_eq!(found("müller"), ["M1"]);
        assert_eq!(found("Müller, zoë"), ["M1"]);
        assert_eq!(found("åström, ØY"), ["M2"]);
        assert_eq!(found("山田"), ["M3"]);
        // Wildcards typed by a person are literal.
        assert!(found("m_ller").is_empty());
        // An MRN typed in lower case, a birth date.
        assert_eq!(found("m2"), ["M2"]);
        assert_eq!(found("1960-01-01").len(), 3);
        // A name is one range of the folded index, not a fold of every name.
        let plan: Vec<String> = store
            .conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT id FROM his_patients
                  WHERE family_folded >= 'müller' AND family_folded < 'müller\u{10FFFF}'",
            )
            .expect("plan")
            .query_map([], |r| r.get::<_, String>(3))
            .expect("plan rows")
            .collect::<Result<_, _>>()
            .expect("plan rows");
        assert!(
            plan.iter().any(|p| p.contains("his_patients_folded")),
            "{plan:?}"
        );
    }
}
