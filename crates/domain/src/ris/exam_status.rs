//! The exam status state machine: ordered → scheduled → arrived → in progress → completed →
//! preliminary → final → amended, with cancelled and discontinued as ends, and "needs review"
//! before ordered for an order that failed validation. Every change is checked here, so the
//! screens, the HL7 handler, MPPS and the CLI all refuse the same illegal moves with the same
//! reason.

use std::fmt;

/// Where an exam is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ExamStatus {
    /// The order failed validation and waits for a person (unknown procedure, no patient…).
    NeedsReview,
    /// Accepted, not yet on the schedule.
    Ordered,
    /// Has a room and a time (or is a walk-in on today's worklist).
    Scheduled,
    /// The patient is here.
    Arrived,
    /// The scanner has started (MPPS IN PROGRESS, or the technologist said so).
    InProgress,
    /// Images acquired; ready to read.
    Completed,
    /// A preliminary report exists.
    Preliminary,
    /// The report is signed.
    Final,
    /// An addendum was signed after the final report.
    Amended,
    /// Called off before the exam started.
    Cancelled,
    /// Stopped after it started (MPPS DISCONTINUED).
    Discontinued,
}

impl ExamStatus {
    /// Every status, in workflow order.
    pub const ALL: [ExamStatus; 11] = [
        ExamStatus::NeedsReview,
        ExamStatus::Ordered,
        ExamStatus::Scheduled,
        ExamStatus::Arrived,
        ExamStatus::InProgress,
        ExamStatus::Completed,
        ExamStatus::Preliminary,
        ExamStatus::Final,
        ExamStatus::Amended,
        ExamStatus::Cancelled,
        ExamStatus::Discontinued,
    ];

    /// The name stored in the database and shown in JSON.
    pub fn code(self) -> &'static str {
        match self {
            ExamStatus::NeedsReview => "needs_review",
            ExamStatus::Ordered => "ordered",
            ExamStatus::Scheduled => "scheduled",
            ExamStatus::Arrived => "arrived",
            ExamStatus::InProgress => "in_progress",
            ExamStatus::Completed => "completed",
            ExamStatus::Preliminary => "preliminary",
            ExamStatus::Final => "final",
            ExamStatus::Amended => "amended",
            ExamStatus::Cancelled => "cancelled",
            ExamStatus::Discontinued => "discontinued",
        }
    }

    /// The status a stored name stands for.
    pub fn from_code(code: &str) -> Option<ExamStatus> {
        ExamStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether nothing can follow.
    pub fn is_final_state(self) -> bool {
        matches!(self, ExamStatus::Cancelled | ExamStatus::Discontinued)
    }

    /// Checks a move; the error says why it is refused.
    pub fn check_transition(self, to: ExamStatus) -> Result<(), IllegalTransition> {
        use ExamStatus::*;
        let allowed = match self {
            NeedsReview => matches!(to, Ordered | Scheduled | Cancelled),
            Ordered => matches!(to, Scheduled | Arrived | Cancelled),
            // Scheduled → Scheduled is a reschedule; → Ordered is a no-show or an unbooking.
            Scheduled => matches!(to, Scheduled | Ordered | Arrived | InProgress | Cancelled),
            Arrived => matches!(to, InProgress | Scheduled | Cancelled),
            InProgress => matches!(to, Completed | Discontinued),
            Completed => matches!(to, Preliminary | Final),
            Preliminary => matches!(to, Preliminary | Final),
            Final | Amended => matches!(to, Amended),
            Cancelled | Discontinued => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(IllegalTransition {
                from: self,
                to,
                reason: reason(self, to),
            })
        }
    }
}

fn reason(from: ExamStatus, to: ExamStatus) -> &'static str {
    use ExamStatus::*;
    match (from, to) {
        (Cancelled | Discontinued, _) => "the exam is closed; place a new order instead",
        (Final | Amended, _) => "the report is signed; only an addendum can follow",
        (_, Amended) => "only a signed (final) report can be amended",
        (_, Final | Preliminary) => "a report needs the exam to be completed first",
        (_, Completed) => "only an exam in progress can be completed",
        (_, Discontinued) => "only an exam in progress can be discontinued",
        (InProgress | Completed | Preliminary, Cancelled) => {
            "the exam has started; discontinue it instead of cancelling"
        }
        (NeedsReview, _) => "the order needs review before it can go further",
        _ => "this step does not follow from the exam's current status",
    }
}

impl fmt::Display for ExamStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A refused status change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot go from {from} to {to}: {reason}")]
pub struct IllegalTransition {
    /// Current status.
    pub from: ExamStatus,
    /// Requested status.
    pub to: ExamStatus,
    /// Why not.
    pub reason: &'static str,
}

#[cfg(test)]
mod tests {
    use super::ExamStatus::*;
    use super::*;

    #[test]
    fn the_normal_path_is_allowed() {
        let path = [
            Ordered,
            Scheduled,
            Arrived,
            InProgress,
            Completed,
            Preliminary,
            Final,
            Amended,
            Amended,
        ];
        for pair in path.windows(2) {
            assert_eq!(pair[0].check_transition(pair[1]), Ok(()), "{pair:?}");
        }
    }

    #[test]
    fn illegal_moves_are_refused_with_a_reason() {
        let e = Final.check_transition(Cancelled).unwrap_err();
        assert!(e.to_string().contains("only an addendum"), "{e}");
        let e = InProgress.check_transition(Cancelled).unwrap_err();
        assert!(e.reason.contains("discontinue"));
        let e = Scheduled.check_transition(Final).unwrap_err();
        assert!(e.reason.contains("completed first"));
        assert!(Cancelled.check_transition(Ordered).is_err());
        assert!(Ordered.check_transition(Completed).is_err());
        assert!(NeedsReview.check_transition(Arrived).is_err());
    }

    #[test]
    fn codes_round_trip() {
        for s in ExamStatus::ALL {
            assert_eq!(ExamStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(ExamStatus::from_code("bogus"), None);
    }
}
