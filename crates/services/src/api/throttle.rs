//! Guessing passwords over the network is slowed to a stop: an address with
//! [`MAX_FAILURES`] failed sign-ins within [`WINDOW`] is refused (429) until the oldest of them
//! leaves the window, whatever login it tries next — per address, not per login, so nobody can
//! lock a radiologist out by failing on purpose under their name. Bounded: at most
//! [`MAX_TRACKED`] addresses are remembered.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::ApiError;

/// Failed sign-ins an address may make within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;
/// How long a failure counts.
pub const WINDOW: Duration = Duration::from_secs(10 * 60);
/// Addresses remembered at most (the oldest forgotten first).
const MAX_TRACKED: usize = 10_000;

/// Failed sign-ins by address.
#[derive(Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl SignInThrottle {
    /// Refuses an address that failed too often lately.
    pub fn check(&self, address: IpAddr) -> Result<(), ApiError> {
        let Ok(mut failures) = self.failures.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        let Some(times) = failures.get_mut(&address) else {
            return Ok(());
        };
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() < MAX_FAILURES {
            return Ok(());
        }
        let wait = times
            .front()
            .map(|t| WINDOW.saturating_sub(now.duration_since(*t)))
            .unwrap_or(WINDOW);
        tracing::warn!(%address, "sign-in refused: too many failed attempts from this address");
        Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many failed sign-ins from this address; try again in {} minute(s)",
                wait.as_secs().div_ceil(60).max(1)
            ),
        ))
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, address: IpAddr) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_TRACKED && !failures.contains_key(&address) {
            // Forget the address whose latest failure is oldest.
            if let Some(oldest) = failures
                .iter()
                .min_by_key(|(_, times)| times.back().copied())
                .map(|(a, _)| *a)
            {
                failures.remove(&oldest);
            }
        }
        let times = failures.entry(address).or_default();
        times.push_back(Instant::now());
        while times.len() > MAX_FAILURES {
            times.pop_front();
        }
    }

    /// A sign-in from the address succeeded: its failures are forgiven.
    pub fn succeeded(&self, address: IpAddr) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&address);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_five_failures_and_forgiven_by_a_success() {
        let throttle = SignInThrottle::default();
        let guesser: IpAddr = "203.0.113.7".parse().expect("address");
        let other: IpAddr = "198.51.100.2".parse().expect("address");
        for _ in 0..MAX_FAILURES {
            assert!(throttle.check(guesser).is_ok());
            throttle.failed(guesser);
        }
        let refused = throttle.check(guesser);
        assert!(
            matches!(&refused, Err(ApiError(StatusCode::TOO_MANY_REQUESTS, m)) if m.contains("minute")),
            "{refused:?}"
        );
        assert!(
            throttle.check(other).is_ok(),
            "another address is not held up"
        );
        throttle.succeeded(guesser);
        assert!(throttle.check(guesser).is_ok());
    }
}
