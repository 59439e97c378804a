//! Where "now" comes from. Every decision that depends on the date — the first free slot of
//! an order, "today" on the schedule and the worklist, how long an exam has waited — takes its
//! time from a [`Clock`] handed down from the wiring, never from the wall clock directly, so a
//! test (or a demo recorded for screenshots) decides what day it is. Record stamps written by
//! the store itself (`created_at`) stay in real UTC: they are evidence, not decisions.

use chrono::{Local, NaiveDate, NaiveDateTime, TimeDelta};

/// A source of the local date and time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    /// The computer's clock (production).
    #[default]
    System,
    /// Always the same instant (reference images, tests that must not see time pass).
    Frozen(NaiveDateTime),
    /// The computer's clock moved by a fixed amount: time passes, from a chosen start
    /// (tests of running services, where timeouts and retries still need real time).
    Shifted(TimeDelta),
}

impl Clock {
    /// A clock that reads `start` now and then advances in real time.
    pub fn starting_at(start: NaiveDateTime) -> Clock {
        Clock::Shifted(start - Local::now().naive_local())
    }

    /// The current local date and time.
    pub fn now(&self) -> NaiveDateTime {
        match self {
            Clock::System => Local::now().naive_local(),
            Clock::Frozen(at) => *at,
            Clock::Shifted(by) => Local::now().naive_local() + *by,
        }
    }

    /// Today's local date.
    pub fn today(&self) -> NaiveDate {
        self.now().date()
    }

    /// Parses the `--clock` value of the command line: `YYYY-MM-DDTHH:MM[:SS]` or
    /// `YYYY-MM-DD HH:MM[:SS]`; the clock starts there and advances.
    pub fn parse_start(value: &str) -> Result<Clock, String> {
        let value = value.trim().replace(' ', "T");
        let start = NaiveDateTime::parse_from_str(&value, "%Y-%m-%dT%H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(&value, "%Y-%m-%dT%H:%M"))
            .map_err(|_| format!("{value:?} is not a date and time like 2026-11-30T08:00"))?;
        Ok(Clock::starting_at(start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_does_not_move_and_a_shifted_one_starts_where_asked() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 30)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .unwrap_or_default();
        assert_eq!(Clock::Frozen(start).now(), start);
        let shifted = Clock::starting_at(start);
        let read = shifted.now();
        assert!(
            read >= start && read - start < TimeDelta::seconds(60),
            "{read}"
        );
        assert_eq!(shifted.today(), start.date());
        let parsed = Clock::parse_start("2026-11-30 08:00").unwrap_or_default();
        assert_eq!(parsed.today(), start.date());
        assert!(Clock::parse_start("monday").is_err());
    }
}
