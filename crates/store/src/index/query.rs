//! Index queries: C-FIND, QIDO-style and the study browser's matching (exact, wildcard, range,
//! list) turned into SQL over the four levels.

use super::*;

pub(super) fn placeholders_in(clause: &str) -> usize {
    clause.matches('?').count()
}

pub(super) fn condition_sql(cond: &Condition, values: &mut Vec<Value>) -> String {
    let col = cond.column.sql();
    match &cond.matcher {
        Matcher::Exact(v) => {
            values.push(Value::Text(v.clone()));
            format!("{col} = ?")
        }
        Matcher::Glob {
            pattern,
            case_insensitive,
        } => {
            if *case_insensitive && cond.column == Column::PatientName {
                // Through the folded, indexed copy of the name: a pattern that starts with
                // letters (a typed name, "MÜLLER*") is a range of that index.
                let folded = crate::fold(pattern);
                let prefix: String = folded
                    .chars()
                    .take_while(|c| !matches!(c, '*' | '?' | '['))
                    .collect();
                values.push(Value::Text(folded));
                if prefix.is_empty() {
                    return "p.name_folded GLOB ?".to_string();
                }
                values.push(Value::Text(prefix.clone()));
                values.push(Value::Text(format!("{prefix}\u{10FFFF}")));
                return "(p.name_folded GLOB ? AND p.name_folded >= ? AND p.name_folded < ?)"
                    .to_string();
            }
            values.push(Value::Text(pattern.clone()));
            if *case_insensitive {
                // Unicode case folding on both sides (SQLite's upper() knows ASCII only).
                format!("lb_fold({col}) GLOB lb_fold(?)")
            } else {
                format!("{col} GLOB ?")
            }
        }
        Matcher::Range(lo, hi) => {
            let mut parts = Vec::new();
            if !lo.is_empty() {
                values.push(Value::Text(lo.clone()));
                parts.push(format!("{col} >= ?"));
            }
            if !hi.is_empty() {
                values.push(Value::Text(hi.clone()));
                parts.push(format!("{col} <= ?"));
            }
            if parts.is_empty() {
                "1=1".to_string()
            } else {
                // An empty stored value never matches a range.
                format!("({col} <> '' AND {})", parts.join(" AND "))
            }
        }
        Matcher::AnyOf(list) => {
            let marks = vec!["?"; list.len().max(1)].join(",");
            if list.is_empty() {
                values.push(Value::Null);
            }
            values.extend(list.iter().map(|v| Value::Text(v.clone())));
            format!("{col} IN ({marks})")
        }
    }
}

impl Store {
    /// Answers a query at `level` under `conditions`, at most `limit` rows.
    pub fn query_index(
        &self,
        level: Level,
        conditions: &[Condition],
        limit: usize,
    ) -> StoreResult<Vec<IndexRow>> {
        let (select, from) = match level {
            Level::Patient => (
                "p.patient_id, p.issuer, p.name, p.birth_date, p.sex,
                 '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '',
                 (SELECT group_concat(DISTINCT s2.modality) FROM studies t2 JOIN series s2 ON s2.study_row = t2.id WHERE t2.patient_row = p.id),
                 (SELECT COUNT(*) FROM studies t2 WHERE t2.patient_row = p.id),
                 (SELECT COUNT(*) FROM studies t2 JOIN series s2 ON s2.study_row = t2.id WHERE t2.patient_row = p.id),
                 (SELECT COUNT(*) FROM studies t2 JOIN series s2 ON s2.study_row = t2.id JOIN instances i2 ON i2.series_row = s2.id WHERE t2.patient_row = p.id)",
                "patients p",
            ),
            Level::Study => (
                "p.patient_id, p.issuer, p.name, p.birth_date, p.sex,
                 st.study_uid, st.study_date, st.study_time, st.accession, st.study_id, st.description, st.referring,
                 '', '', '', '', '', '', '', '', '', '',
                 (SELECT group_concat(DISTINCT s2.modality) FROM series s2 WHERE s2.study_row = st.id),
                 0,
                 (SELECT COUNT(*) FROM series s2 WHERE s2.study_row = st.id),
                 (SELECT COUNT(*) FROM series s2 JOIN instances i2 ON i2.series_row = s2.id WHERE s2.study_row = st.id)",
                "studies st JOIN patients p ON p.id = st.patient_row",
            ),
            Level::Series => (
                "p.patient_id, p.issuer, p.name, p.birth_date, p.sex,
                 st.study_uid, st.study_date, st.study_time, st.accession, st.study_id, st.description, st.referring,
                 se.series_uid, se.modality, se.series_number, se.description, se.body_part, '', '', '', '', '',
                 '', 0, 0,
                 (SELECT COUNT(*) FROM instances i2 WHERE i2.series_row = se.id)",
                "series se JOIN studies st ON st.id = se.study_row JOIN patients p ON p.id = st.patient_row",
            ),
            Level::Image => (
                "p.patient_id, p.issuer, p.name, p.birth_date, p.sex,
                 st.study_uid, st.study_date, st.study_time, st.accession, st.study_id, st.description, st.referring,
                 se.series_uid, se.modality, se.series_number, se.description, se.body_part,
                 i.sop_uid, i.sop_class, i.instance_number, i.transfer_syntax, i.file_path,
                 '', 0, 0, 0",
                "instances i JOIN series se ON se.id = i.series_row JOIN studies st ON st.id = se.study_row JOIN patients p ON p.id = st.patient_row",
            ),
        };
        let mut sql = format!("SELECT {select} FROM {from} WHERE 1=1");
        let mut values: Vec<Value> = Vec::new();
        for cond in conditions {
            let clause = condition_sql(cond, &mut values);
            if cond.column.level().depth() <= level.depth() {
                sql.push_str(" AND ");
                sql.push_str(&clause);
            } else {
                // A key below the query level (e.g. Modalities in Study at STUDY level):
                // the entity matches when any of its children does.
                let exists = match (level, cond.column.level()) {
                    (Level::Patient, Level::Series) => {
                        "EXISTS (SELECT 1 FROM studies st JOIN series se ON se.study_row = st.id WHERE st.patient_row = p.id AND "
                    }
                    (Level::Patient, Level::Study) => {
                        "EXISTS (SELECT 1 FROM studies st WHERE st.patient_row = p.id AND "
                    }
                    (Level::Study, Level::Series) => {
                        "EXISTS (SELECT 1 FROM series se WHERE se.study_row = st.id AND "
                    }
                    (Level::Series, Level::Image)
                    | (Level::Study, Level::Image)
                    | (Level::Patient, Level::Image) => {
                        // Instance keys above IMAGE level are not matched (PS3.4 C.4.1.3.1).
                        values.truncate(values.len() - placeholders_in(&clause));
                        continue;
                    }
                    _ => continue,
                };
                sql.push_str(" AND ");
                sql.push_str(exists);
                sql.push_str(&clause);
                sql.push(')');
            }
        }
        let order = match level {
            Level::Patient => " ORDER BY p.id",
            Level::Study => " ORDER BY st.study_date DESC, st.id DESC",
            Level::Series => " ORDER BY st.id, CAST(se.series_number AS INTEGER), se.id",
            Level::Image => " ORDER BY se.id, CAST(i.instance_number AS INTEGER), i.id",
        };
        sql.push_str(order);
        sql.push_str(&format!(" LIMIT {}", limit.min(i64::MAX as usize)));
        let mut stmt = self.conn.prepare_cached(&sql).ctx("preparing a query")?;
        let rows = stmt
            .query_map(params_from_iter(values.iter()), |r| {
                let modalities: Option<String> = r.get(22)?;
                Ok(IndexRow {
                    patient_id: r.get(0)?,
                    issuer: r.get(1)?,
                    patient_name: r.get(2)?,
                    birth_date: r.get(3)?,
                    sex: r.get(4)?,
                    study_uid: r.get(5)?,
                    study_date: r.get(6)?,
                    study_time: r.get(7)?,
                    accession: r.get(8)?,
                    study_id: r.get(9)?,
                    study_description: r.get(10)?,
                    referring: r.get(11)?,
                    series_uid: r.get(12)?,
                    modality: r.get(13)?,
                    series_number: r.get(14)?,
                    series_description: r.get(15)?,
                    body_part: r.get(16)?,
                    sop_uid: r.get(17)?,
                    sop_class: r.get(18)?,
                    instance_number: r.get(19)?,
                    transfer_syntax: r.get(20)?,
                    file_path: r.get(21)?,
                    modalities_in_study: modalities
                        .unwrap_or_default()
                        .split(',')
                        .filter(|m| !m.is_empty())
                        .collect::<Vec<_>>()
                        .join("\\"),
                    related_studies: r.get(23)?,
                    related_series: r.get(24)?,
                    related_instances: r.get(25)?,
                })
            })
            .ctx("running a query")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading query rows")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(n: usize, name: &str) -> NewInstance {
        NewInstance {
            patient_id: format!("P{n}"),
            patient_name: name.into(),
            study_uid: format!("1.2.3.{n}"),
            series_uid: format!("1.2.3.{n}.1"),
            sop_uid: format!("1.2.3.{n}.1.1"),
            modality: "CT".into(),
            file_path: format!("{n}.dcm"),
            ..NewInstance::default()
        }
    }

    #[test]
    fn a_typed_name_prefix_is_a_range_of_the_folded_name_index_in_any_case() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut store = Store::open(&dir.path().join("db.sqlite")).expect("store");
        store
            .index_instances(&[
                instance(1, "MÜLLER^ZOË"),
                instance(2, "MULLER^JOHN"),
                instance(3, "山田^太郎"),
            ])
            .expect("indexed");
        let find = |pattern: &str| -> Vec<String> {
            store
                .query_index(
                    Level::Study,
                    &[Condition {
                        column: Column::PatientName,
                        matcher: Matcher::Glob {
                            pattern: pattern.into(),
                            case_insensitive: true,
                        },
                    }],
                    10,
                )
                .expect("query")
                .into_iter()
                .map(|r| r.patient_name)
                .collect()
        };
        assert_eq!(find("müller*"), vec!["MÜLLER^ZOË".to_string()]);
        assert_eq!(find("MÜLLER^ZOË"), vec!["MÜLLER^ZOË".to_string()]);
        assert_eq!(find("山田*"), vec!["山田^太郎".to_string()]);
        // No literal prefix: still found, by scanning the folded names.
        assert_eq!(find("*ller^zo?").len(), 1);
        assert_eq!(find("m?ller*").len(), 2);
        // The prefix is answered from the index, not by folding every name.
        let mut values = Vec::new();
        let clause = condition_sql(
            &Condition {
                column: Column::PatientName,
                matcher: Matcher::Glob {
                    pattern: "müller*".into(),
                    case_insensitive: true,
                },
            },
            &mut values,
        );
        let plan: Vec<String> = store
            .conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT p.id FROM patients p WHERE {clause}"
            ))
            .expect("plan")
            .query_map(rusqlite::params_from_iter(values.iter()), |r| {
                r.get::<_, String>(3)
            })
            .expect("plan rows")
            .collect::<Result<_, _>>()
            .expect("plan rows");
        assert!(
            plan.iter().any(|p| p.contains("patients_name_folded")),
            "{plan:?}"
        );
    }
}
