//! The throw-away demo practice's accounts: the sign-in screen lists them when the practice
//! is the demo (its name ends in "(demo)"), so anyone trying Lightbox can sign in as each role.
//! The demo itself is filled by the `lightbox --demo` wiring.

use crate::access::Role;
use crate::store::Store;

/// The password of every demo account (shown on the sign-in screen in demo mode).
pub const DEMO_PASSWORD: &str = "demo-password";

/// The demo accounts: (login, role).
pub const DEMO_USERS: [(&str, Role); 4] = [
    ("admin", Role::Administrator),
    ("frontdesk", Role::FrontDesk),
    ("tech", Role::Technologist),
    ("drreed", Role::Radiologist),
];

/// Whether the practice in `store` is the demo.
pub fn is_demo(store: &Store) -> bool {
    store
        .setting(crate::site::PRACTICE_NAME_SETTING)
        .ok()
        .flatten()
        .is_some_and(|n| n.ends_with("(demo)"))
}
