//! Any bytes as an inbound HL7 message (store, process, acknowledge) and as an ACK read by the
//! sender: an ACK that parses, never a panic.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use lightbox::store::Store;

fn store() -> &'static Mutex<Store> {
    static STORE: OnceLock<Mutex<Store>> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lightbox-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let store = Store::open(&dir.join("fuzz.sqlite")).expect("fuzz store");
        lightbox::ris::seed_starter_data(&store).expect("seed");
        Mutex::new(store)
    })
}

fuzz_target!(|data: &[u8]| {
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("date");
    let Ok(mut store) = store().lock() else {
        return;
    };
    let ack = lightbox::hl7::inbound::receive(&mut store, None, data, now);
    assert!(lightbox::hl7::sender::read_ack(ack.as_bytes()).is_some(), "{ack:?}");
    let _ = lightbox::hl7::sender::read_ack(data);
    let _ = lightbox::hl7::batch::split(data);
});
