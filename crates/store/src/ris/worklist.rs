//! Worklist rows: the scheduled steps joined with their orders and patients, for the Modality
//! Worklist, the exams of a day and the schedule.

use super::*;

/// Everything a worklist item needs about one scheduled step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorklistRow {
    /// The order.
    pub order: OrderRecord,
    /// Its step.
    pub step: StepRecord,
    /// The patient.
    pub patient: crate::his::PatientRecord,
    /// Issuer of the MRN (setting `his.mrn_issuer`, default LIGHTBOX).
    pub mrn_issuer: String,
    /// Catalogue name of the procedure ("" if unknown).
    pub procedure_name: String,
    /// Room name.
    pub room_name: String,
    /// Station AE title of the room.
    pub station_ae: String,
    /// Modality of the room.
    pub modality: String,
    /// Referring physician as a DICOM person name.
    pub referring_name: String,
}

impl Store {
    /// Steps that belong on the scanners' worklist (scheduled or arrived, with a room), between
    /// two local dates inclusive and at one station when given.
    pub fn worklist_rows(
        &self,
        from_date: Option<&str>,
        to_date: Option<&str>,
        station_ae: Option<&str>,
    ) -> StoreResult<Vec<WorklistRow>> {
        self.booked_rows(
            "o.status IN ('scheduled', 'arrived')",
            from_date,
            to_date,
            station_ae,
        )
    }

    /// Every booked exam of one local date whatever its status (the technologists' day:
    /// waiting, running, done, called off), by room and time, with the images archived for
    /// each (one grouped count, not a query per exam).
    pub fn day_exams(&self, date: &str) -> StoreResult<Vec<(WorklistRow, usize)>> {
        let mut rows = self.booked_rows(
            "o.status NOT IN ('needs_review', 'ordered')",
            Some(date),
            Some(date),
            None,
        )?;
        rows.sort_by(|a, b| {
            (a.room_name.as_str(), a.step.start_time.as_str())
                .cmp(&(b.room_name.as_str(), b.step.start_time.as_str()))
        });
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT st.study_uid, COUNT(i.id) FROM studies st
                 JOIN series se ON se.study_row = st.id
                 JOIN instances i ON i.series_row = se.id
                 WHERE st.study_uid IN (SELECT s.study_uid FROM scheduled_steps s
                                        WHERE s.start_time >= ?1 AND s.start_time <= ?2)
                 GROUP BY st.study_uid",
            )
            .ctx("preparing the day's image counts")?;
        let counts: std::collections::HashMap<String, usize> = stmt
            .query_map(
                params![format!("{date}T00:00"), format!("{date}T99:99")],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize)),
            )
            .ctx("counting the day's images")?
            .collect::<Result<_, _>>()
            .ctx("counting the day's images")?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let images = counts.get(&r.step.study_uid).copied().unwrap_or(0);
                (r, images)
            })
            .collect())
    }

    pub(super) fn booked_rows(
        &self,
        status_filter: &str,
        from_date: Option<&str>,
        to_date: Option<&str>,
        station_ae: Option<&str>,
    ) -> StoreResult<Vec<WorklistRow>> {
        let prefixed = |cols: &str, p: &str| {
            cols.split(", ")
                .map(|c| format!("{p}.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sql = format!(
            "SELECT {}, {}, p.id, p.mrn, p.family_name, p.given_name, p.middle_name, p.prefix,
                    p.suffix, p.birth_date, p.sex, p.address, p.phone, p.email, p.language,
                    p.alerts, p.pregnancy, p.merged_into,
                    COALESCE((SELECT value FROM settings WHERE key = 'his.mrn_issuer'), 'LIGHTBOX'),
                    COALESCE(pr.name, ''), r.name, r.station_ae, r.modality,
                    COALESCE(rp.family_name || '^' || rp.given_name, '')
             FROM scheduled_steps s
             JOIN orders o ON o.id = s.order_id
             JOIN his_patients p ON p.id = o.patient
             JOIN rooms r ON r.id = s.room
             LEFT JOIN procedures pr ON pr.code = o.procedure_code
             LEFT JOIN referring_physicians rp ON rp.id = o.referring
             WHERE {status_filter}
               AND s.start_time >= ?1 AND s.start_time <= ?2 {}
             ORDER BY s.start_time, s.id",
            prefixed(ORDER_COLUMNS, "o"),
            prefixed(STEP_COLUMNS, "s"),
            // A station narrows to its room, so the (room, start) index does the work.
            if station_ae.is_some() {
                "AND s.room = (SELECT id FROM rooms WHERE station_ae = ?3)"
            } else {
                "AND ?3 IS NULL"
            }
        );
        // Open-ended dates become the widest bounds (plain comparisons keep the index usable).
        let from = format!("{}T00:00", from_date.unwrap_or("0000-00-00"));
        let to = format!("{}T99:99", to_date.unwrap_or("9999-99-99"));
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .ctx("preparing the worklist")?;
        let rows = stmt
            .query_map(params![from, to, station_ae], |r| {
                let order = order_from_row(r)?;
                let step = step_at(r, 16)?;
                let patient = crate::his::PatientRecord {
                    id: r.get(25)?,
                    mrn: r.get(26)?,
                    family_name: r.get(27)?,
                    given_name: r.get(28)?,
                    middle_name: r.get(29)?,
                    prefix: r.get(30)?,
                    suffix: r.get(31)?,
                    birth_date: r.get(32)?,
                    sex: r.get(33)?,
                    address: r.get(34)?,
                    phone: r.get(35)?,
                    email: r.get(36)?,
                    language: r.get(37)?,
                    alerts: r.get(38)?,
                    pregnancy: r.get(39)?,
                    merged_into: r.get(40)?,
                };
                Ok(WorklistRow {
                    order,
                    step,
                    patient,
                    mrn_issuer: r.get(41)?,
                    procedure_name: r.get(42)?,
                    room_name: r.get(43)?,
                    station_ae: r.get(44)?,
                    modality: r.get(45)?,
                    referring_name: r.get(46)?,
                })
            })
            .ctx("reading the worklist")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading the worklist")
    }
}
