//! The schedule: rooms with opening hours, free-slot search ("next free MR slot of 45 minutes
//! after Tuesday 2 pm"), booking with conflict detection, reschedule, cancel, no-show and
//! walk-ins. Times are practice-local.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::{ExamStatus, LOCAL_TIME_FORMAT, RisError, weekday_index};
use crate::access::{self, Action, Actor};
use crate::store::Store;
use crate::store::ris::Room;

/// Slots start on multiples of this many minutes.
const SLOT_GRANULARITY_MINUTES: i64 = 5;

/// A free place in the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Slot {
    /// Room id.
    pub room: i64,
    /// Local start.
    pub start: NaiveDateTime,
}

/// A room's opening hours on `day`, if open.
fn opening(room: &Room, day: NaiveDate) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let text = room
        .hours
        .get(weekday_index(day.and_time(NaiveTime::MIN)))?;
    let (open, close) = text.split_once('-')?;
    let open = NaiveTime::parse_from_str(open.trim(), "%H:%M").ok()?;
    let close = NaiveTime::parse_from_str(close.trim(), "%H:%M").ok()?;
    (open < close).then(|| (day.and_time(open), day.and_time(close)))
}

fn round_up(t: NaiveDateTime) -> NaiveDateTime {
    let t = t
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t);
    let minutes = i64::from(t.minute());
    let extra =
        (SLOT_GRANULARITY_MINUTES - minutes % SLOT_GRANULARITY_MINUTES) % SLOT_GRANULARITY_MINUTES;
    t + Duration::minutes(extra)
}

fn parse_local(text: &str) -> Option<NaiveDateTime> {
    // "YYYY-MM-DDTHH:MM" read by hand: the slot search reads every booking of a week, and
    // chrono's format-driven parser was a third of its time.
    let b = text.as_bytes();
    if b.len() != 16 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return NaiveDateTime::parse_from_str(text, LOCAL_TIME_FORMAT).ok();
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)?.and_hms_opt(
        number(11..13)?,
        number(14..16)?,
        0,
    )
}

/// Booked intervals of a room from `from_day` for `days` days (and any booking from the day
/// before running into them), sorted, as one query.
fn busy_span(
    store: &Store,
    room: i64,
    from_day: NaiveDate,
    days: i64,
    except_order: Option<i64>,
) -> Result<Vec<(NaiveDateTime, NaiveDateTime)>, RisError> {
    let from = from_day.and_time(NaiveTime::MIN);
    let to = from + Duration::days(days);
    let mut intervals: Vec<_> = store
        .room_busy(
            room,
            &from.format(LOCAL_TIME_FORMAT).to_string(),
            &to.format(LOCAL_TIME_FORMAT).to_string(),
        )?
        .into_iter()
        .filter(|(order, _, _)| Some(*order) != except_order)
        .filter_map(|(_, start, minutes)| {
            let start = parse_local(&start)?;
            Some((start, start + Duration::minutes(i64::from(minutes))))
        })
        .filter(|(_, end)| *end > from)
        .collect();
    intervals.sort();
    Ok(intervals)
}

/// Booked intervals of a room on one day.
fn busy(
    store: &Store,
    room: i64,
    day: NaiveDate,
    except_order: Option<i64>,
) -> Result<Vec<(NaiveDateTime, NaiveDateTime)>, RisError> {
    busy_span(store, room, day, 1, except_order)
}

/// Days of bookings read per query while searching.
const SEARCH_CHUNK_DAYS: i64 = 7;

/// The first free slot of `duration_minutes` in a room of `modality` at or after `after`,
/// looking `days` days ahead; the earliest across rooms (lowest room id on a tie).
pub fn find_slot(
    store: &Store,
    modality: &str,
    duration_minutes: u32,
    after: NaiveDateTime,
    days: u32,
) -> Result<Option<Slot>, RisError> {
    let rooms = store.rooms(Some(modality))?;
    let length = Duration::minutes(i64::from(duration_minutes));
    let days = i64::from(days);
    let mut chunk_start = 0;
    while chunk_start < days {
        let chunk_days = SEARCH_CHUNK_DAYS.min(days - chunk_start);
        let first_day = after.date() + Duration::days(chunk_start);
        // One query per room for the whole chunk, then the days are searched in memory.
        let bookings = rooms
            .iter()
            .map(|room| busy_span(store, room.id, first_day, chunk_days, None))
            .collect::<Result<Vec<_>, _>>()?;
        for d in 0..chunk_days {
            let day = first_day + Duration::days(d);
            let mut best: Option<Slot> = None;
            for (room, booked) in rooms.iter().zip(&bookings) {
                let Some((open, close)) = opening(room, day) else {
                    continue;
                };
                let mut candidate = round_up(open.max(after));
                for (start, end) in booked.iter().filter(|(s, e)| *e > open && *s < close) {
                    if candidate + length <= *start {
                        break;
                    }
                    if *end > candidate {
                        candidate = round_up(*end);
                    }
                }
                if candidate + length <= close && best.is_none_or(|b| candidate < b.start) {
                    best = Some(Slot {
                        room: room.id,
                        start: candidate,
                    });
                }
            }
            if best.is_some() {
                return Ok(best);
            }
        }
        chunk_start += chunk_days;
    }
    Ok(None)
}

/// Books (or moves) an exam into a room at a time. The check that the room is open and free
/// and the booking itself are one exclusive write: two front desks (two windows, two
/// workstations, two processes) asking for the same slot get one booking and one clear
/// conflict naming the booking in the way. With `seen_version` (the exam's version the desk
/// showed), a booking of an exam that someone else changed meanwhile is refused as stale
/// instead of overwriting their change.
pub fn book(
    store: &mut Store,
    actor: &Actor,
    accession: &str,
    room_id: i64,
    start: NaiveDateTime,
    note: &str,
    seen_version: Option<i64>,
) -> Result<i64, RisError> {
    let subject = format!("order:{accession}");
    access::authorise(store, actor, Action::Schedule, &subject)?;
    let outcome = store.exclusively(|store| -> Result<Result<i64, RisError>, RisError> {
        let order = super::order_named(store, accession)?;
        if let Some(seen) = seen_version {
            let now = store.exam_version(order.id)?;
            if now != seen {
                return Ok(Err(RisError::Stale {
                    accession: accession.to_string(),
                    status: order.status.clone(),
                    version: now,
                }));
            }
        }
        let from = super::status_of(&order)?;
        from.check_transition(ExamStatus::Scheduled)?;
        let step = store.step_of_order(order.id)?;
        let room = store
            .rooms(None)?
            .into_iter()
            .find(|r| r.id == room_id)
            .ok_or_else(|| RisError::NotFound(format!("room {room_id}")))?;
        let end = start + Duration::minutes(i64::from(step.duration_minutes));
        match opening(&room, start.date()) {
            Some((open, close)) if start >= open && end <= close => {}
            _ => {
                return Ok(Err(RisError::Conflict(format!(
                    "{} is closed at {} (opening hours {})",
                    room.name,
                    start.format("%a %d %b %H:%M"),
                    room.hours[weekday_index(start)]
                ))));
            }
        }
        if let Some((other_start, other_end)) = busy(store, room.id, start.date(), Some(order.id))?
            .into_iter()
            .find(|(s, e)| *s < end && start < *e)
        {
            return Ok(Err(RisError::Conflict(format!(
                "{} is booked {}–{}",
                room.name,
                other_start.format("%H:%M"),
                other_end.format("%H:%M")
            ))));
        }
        let when = start.format(LOCAL_TIME_FORMAT).to_string();
        store.book_step(
            order.id,
            Some((room.id, &when)),
            false,
            ExamStatus::Scheduled.code(),
            &actor.login,
            note,
        )?;
        access::audit(
            store,
            actor,
            "schedule.book",
            &subject,
            "ok",
            &format!("{} {when}", room.station_ae),
        )?;
        Ok(Ok(store.exam_version(order.id)?))
    })?;
    if let Err(refused) = &outcome {
        // Written after the exclusive write ended, so the refusal is recorded either way.
        access::audit(
            store,
            actor,
            "schedule.book",
            &subject,
            "refused",
            &refused.to_string(),
        )?;
    }
    outcome
}

/// Puts a walk-in exam on today's worklist of the first room of its modality.
pub fn book_walk_in(
    store: &mut Store,
    actor: &Actor,
    order_id: i64,
    modality: &str,
    now: NaiveDateTime,
) -> Result<(), RisError> {
    let room = store
        .rooms(Some(modality))?
        .into_iter()
        .next()
        .ok_or_else(|| RisError::NotFound(format!("a {modality} room")))?;
    let when = now.format(LOCAL_TIME_FORMAT).to_string();
    store.book_step(
        order_id,
        Some((room.id, &when)),
        true,
        ExamStatus::Scheduled.code(),
        &actor.login,
        "walk-in",
    )?;
    Ok(())
}

/// Records a no-show: the exam goes back to the to-be-scheduled list.
pub fn no_show(store: &mut Store, actor: &Actor, accession: &str) -> Result<(), RisError> {
    let subject = format!("order:{accession}");
    access::authorise(store, actor, Action::Schedule, &subject)?;
    let order = super::order_named(store, accession)?;
    if order.status != ExamStatus::Scheduled.code() {
        return Err(RisError::Invalid(format!(
            "only a scheduled exam can be a no-show; {accession} is {}",
            order.status
        )));
    }
    store.book_step(
        order.id,
        None,
        false,
        ExamStatus::Ordered.code(),
        &actor.login,
        "no-show",
    )?;
    access::audit(store, actor, "schedule.no_show", &subject, "ok", "")?;
    Ok(())
}

/// Orders waiting for a slot, oldest first.
pub fn to_be_scheduled(store: &Store) -> Result<Vec<crate::store::ris::OrderRecord>, RisError> {
    Ok(store.orders_with_status(ExamStatus::Ordered.code())?)
}
