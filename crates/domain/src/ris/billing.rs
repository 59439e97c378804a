//! Billing: one charge per performed procedure (CPT, modifiers, ICD-10 from the order, units,
//! amount from the catalogue, payer from the insurance used), created when the exam completes,
//! reviewed, then marked billed; exported as CSV (and as DFT^P03 by the HL7 lane).

use super::RisError;
use crate::access::{self, Action, Actor};
use crate::store::Store;
use crate::store::reports::ChargeRecord;

/// Creates the exam's charge if it has none (idempotent: a second completion changes nothing).
pub fn charge_for(store: &Store, order_id: i64) -> Result<(), RisError> {
    let Some(order) = store.order_by_id(order_id)? else {
        return Err(RisError::NotFound(format!("order {order_id}")));
    };
    let amount = store
        .procedure(&order.procedure_code)?
        .map_or(0, |p| p.charge_cents);
    let payer = match order.insurance {
        Some(id) => store.insurance(id)?.payer,
        None => "self-pay".into(),
    };
    if store.insert_charge(
        order_id,
        &order.procedure_code,
        &order.icd10,
        amount,
        &payer,
    )? {
        tracing::info!(accession = %order.accession, amount_cents = amount, "charge created");
    }
    Ok(())
}

/// Marks a charge reviewed (optionally with modifiers, e.g. "26" for the professional part).
pub fn review(
    store: &Store,
    actor: &Actor,
    charge_id: i64,
    modifiers: Option<&str>,
) -> Result<(), RisError> {
    access::authorise(
        store,
        actor,
        Action::Administer,
        &format!("charge:{charge_id}"),
    )?;
    store.set_charge_status(charge_id, "reviewed", modifiers)?;
    access::audit(
        store,
        actor,
        "charge.review",
        &format!("charge:{charge_id}"),
        "ok",
        "",
    )?;
    Ok(())
}

/// Corrects the diagnosis codes of a pending charge before review (the coder's fix); each
/// code must look like ICD-10-CM (letter, two digits, optional dot and up to four more).
pub fn correct_diagnoses(
    store: &Store,
    actor: &Actor,
    charge_id: i64,
    icd10: &[String],
) -> Result<(), RisError> {
    access::authorise(
        store,
        actor,
        Action::Administer,
        &format!("charge:{charge_id}"),
    )?;
    if let Some(bad) = icd10.iter().find(|c| !looks_like_icd10(c)) {
        return Err(RisError::Invalid(format!(
            "{bad:?} is not an ICD-10 code (e.g. R51.9)"
        )));
    }
    store.set_charge_icd10(charge_id, &icd10.join("~"))?;
    access::audit(
        store,
        actor,
        "charge.codes",
        &format!("charge:{charge_id}"),
        "ok",
        &icd10.join(","),
    )?;
    Ok(())
}

/// Whether `code` has the shape of an ICD-10-CM code.
pub fn looks_like_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    let (head, tail) = code.split_once('.').unwrap_or((code, ""));
    b.len() >= 3
        && head.len() == 3
        && b[0].is_ascii_uppercase()
        && head.bytes().skip(1).all(|c| c.is_ascii_alphanumeric())
        && tail.len() <= 4
        && tail.bytes().all(|c| c.is_ascii_alphanumeric())
}

/// Marks a reviewed charge billed.
pub fn mark_billed(store: &Store, actor: &Actor, charge_id: i64) -> Result<(), RisError> {
    access::authorise(
        store,
        actor,
        Action::Administer,
        &format!("charge:{charge_id}"),
    )?;
    let charge = store
        .charges(None)?
        .into_iter()
        .find(|c| c.id == charge_id)
        .ok_or_else(|| RisError::NotFound(format!("charge {charge_id}")))?;
    if charge.status != "reviewed" {
        return Err(RisError::Invalid(format!(
            "charge {charge_id} is {}; review it before billing",
            charge.status
        )));
    }
    store.set_charge_status(charge_id, "billed", None)?;
    access::audit(
        store,
        actor,
        "charge.billed",
        &format!("charge:{charge_id}"),
        "ok",
        "",
    )?;
    Ok(())
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// Charges as CSV (header line first): accession, CPT, modifiers, ICD-10 (';'-separated),
/// units, amount, payer, status.
pub fn export_csv(charges: &[ChargeRecord]) -> String {
    let mut out = String::from("accession,cpt,modifiers,icd10,units,amount,payer,status\n");
    for c in charges {
        let fields = [
            csv_field(&c.accession),
            csv_field(&c.cpt),
            csv_field(&c.modifiers),
            csv_field(&c.icd10.replace('~', ";")),
            c.units.to_string(),
            format!("{}.{:02}", c.amount_cents / 100, c.amount_cents % 100),
            csv_field(&c.payer),
            csv_field(&c.status),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}
