//! Who the patient is, the same way on every screen: a banner wherever one patient is in
//! context (name, sex, birth date with age, MRN, alerts and pregnancy in colour), and the short
//! forms every list row that stands for an exam uses ("DOE, Jane" and "1980-02-03 (46 y)").
//! Two identifiers on every row is the first rule of patient safety.

use crate::records::his::PatientRecord;
use crate::records::reports::ExamSubject;

/// Subjects of the exams a list shows, keyed by accession.
pub type ExamSubjects = std::collections::HashMap<String, ExamSubject>;

/// The patient columns a list of exams sorts by.
#[derive(Debug, Clone, Copy)]
pub enum SubjectColumn {
    /// Family then given name, whatever their case.
    Name,
    /// Birth date (YYYY-MM-DD sorts as a date).
    Born,
    /// The procedure's name.
    Procedure,
}

/// The key an exam's row sorts by in one of the patient columns ("" when unknown).
pub fn subject_sort_key(subjects: &ExamSubjects, accession: &str, column: SubjectColumn) -> String {
    let Some(s) = subjects.get(accession) else {
        return String::new();
    };
    match column {
        SubjectColumn::Name => format!(
            "{} {}",
            s.family_name.to_uppercase(),
            s.given_name.to_uppercase()
        ),
        SubjectColumn::Born => s.birth_date.clone(),
        SubjectColumn::Procedure => s.procedure_name.clone(),
    }
}

/// The patient's name of an exam in a list ("DOE, Jane"), or "?" if unknown.
pub fn subject_name(subjects: &ExamSubjects, accession: &str) -> String {
    subjects
        .get(accession)
        .map(|s| display_name(&s.family_name, &s.given_name))
        .unwrap_or_else(|| "?".into())
}

/// The patient's birth date with age of an exam in a list.
pub fn subject_born(subjects: &ExamSubjects, accession: &str, today: chrono::NaiveDate) -> String {
    subjects
        .get(accession)
        .map(|s| birth_with_age(&s.birth_date, today))
        .unwrap_or_default()
}

/// The procedure's name of an exam in a list, with its code ("CT head (70450)").
pub fn subject_procedure(subjects: &ExamSubjects, accession: &str, code: &str) -> String {
    match subjects.get(accession).map(|s| s.procedure_name.as_str()) {
        Some(name) if !name.is_empty() => format!("{name} ({code})"),
        _ => code.to_string(),
    }
}

/// What the banner shows of a patient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientIdentity {
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// YYYY-MM-DD or empty.
    pub birth_date: String,
    /// F, M, O or U.
    pub sex: String,
    /// The practice's MRN.
    pub mrn: String,
    /// Alerts and allergies ("" if none).
    pub alerts: String,
    /// unknown, not_pregnant, possibly, pregnant.
    pub pregnancy: String,
}

impl From<&PatientRecord> for PatientIdentity {
    fn from(p: &PatientRecord) -> PatientIdentity {
        PatientIdentity {
            family_name: p.family_name.clone(),
            given_name: p.given_name.clone(),
            birth_date: p.birth_date.clone(),
            sex: p.sex.clone(),
            mrn: p.mrn.clone(),
            alerts: p.alerts.clone(),
            pregnancy: p.pregnancy.clone(),
        }
    }
}

/// "DOE, Jane": the family name in capitals first, as clinical lists write it.
pub fn display_name(family: &str, given: &str) -> String {
    match (family.trim(), given.trim()) {
        ("", "") => "(no name)".into(),
        (f, "") => f.to_uppercase(),
        ("", g) => g.to_string(),
        (f, g) => format!("{}, {g}", f.to_uppercase()),
    }
}

/// "1980-02-03 (46 y)"; infants in months ("2026-03-01 (9 mo)"); the date alone if no age.
pub fn birth_with_age(birth_date: &str, today: chrono::NaiveDate) -> String {
    if birth_date.is_empty() {
        return "born ?".into();
    }
    let Ok(born) = chrono::NaiveDate::parse_from_str(birth_date, "%Y-%m-%d") else {
        return birth_date.to_string();
    };
    match today.years_since(born) {
        Some(0) => {
            let months = (today.year_ce().1 * 12 + today.month0())
                .saturating_sub(born.year_ce().1 * 12 + born.month0());
            format!("{birth_date} ({months} mo)")
        }
        Some(years) => format!("{birth_date} ({years} y)"),
        None => birth_date.to_string(),
    }
}

use chrono::Datelike as _;

/// The sex as a word.
pub fn sex_word(sex: &str) -> &'static str {
    match sex {
        "F" => "female",
        "M" => "male",
        "O" => "other",
        _ => "sex unknown",
    }
}

/// Draws the banner: one framed line, the name large, then sex, birth date with age and MRN,
/// then alerts in the error colour and pregnancy in the warning colour.
pub fn show(ui: &mut egui::Ui, patient: &PatientIdentity, today: chrono::NaiveDate) {
    let visuals = ui.visuals().clone();
    egui::Frame::group(ui.style())
        .fill(visuals.faint_bg_color)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                // Each fact stays whole on its line; the banner wraps between facts.
                let fact = |ui: &mut egui::Ui, text: egui::RichText| {
                    ui.add(egui::Label::new(text).wrap_mode(egui::TextWrapMode::Extend));
                };
                fact(
                    ui,
                    egui::RichText::new(display_name(&patient.family_name, &patient.given_name))
                        .strong()
                        .size(18.0),
                );
                fact(ui, egui::RichText::new(sex_word(&patient.sex)));
                fact(
                    ui,
                    egui::RichText::new(format!(
                        "born {}",
                        birth_with_age(&patient.birth_date, today)
                    )),
                );
                fact(ui, egui::RichText::new(format!("MRN {}", patient.mrn)));
                if !patient.alerts.trim().is_empty() {
                    fact(
                        ui,
                        egui::RichText::new(format!("Alert: {}", patient.alerts.trim()))
                            .color(visuals.error_fg_color)
                            .strong(),
                    );
                }
                match patient.pregnancy.as_str() {
                    "pregnant" => fact(
                        ui,
                        egui::RichText::new("pregnant")
                            .color(visuals.warn_fg_color)
                            .strong(),
                    ),
                    "possibly" => fact(
                        ui,
                        egui::RichText::new("possibly pregnant")
                            .color(visuals.warn_fg_color)
                            .strong(),
                    ),
                    _ => {}
                }
            });
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn names_read_family_first_in_capitals_with_accents_and_cjk_kept() {
        assert_eq!(display_name("Müller", "Zoë"), "MÜLLER, Zoë");
        assert_eq!(display_name("山田", "太郎"), "山田, 太郎");
        assert_eq!(display_name("", ""), "(no name)");
    }

    #[test]
    fn ages_count_whole_years_and_infants_in_months() {
        let today = day(2026, 12, 6);
        assert_eq!(birth_with_age("1980-02-03", today), "1980-02-03 (46 y)");
        assert_eq!(birth_with_age("1980-12-07", today), "1980-12-07 (45 y)");
        assert_eq!(birth_with_age("2026-03-01", today), "2026-03-01 (9 mo)");
        assert_eq!(birth_with_age("", today), "born ?");
        assert_eq!(birth_with_age("03/02/1980", today), "03/02/1980");
    }
}
