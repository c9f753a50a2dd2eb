//! The process calendar (pure): business days, waiting periods and SRE meeting dates, all
//! counted in the configured time zone (`[timing]`, `[meeting]` of `rules/policy.toml`).
//!
//! Choices, for SREs reading the code:
//! - A business day is a local date that is neither a weekend day nor a holiday.
//! - Waiting periods keep the local time of day: tagged Friday 10:00 + 3 business days ends
//!   Wednesday 10:00; + 3 calendar days ends Monday 10:00 (local days, so a DST change makes
//!   the period an hour longer or shorter, as a person counting days would expect).
//! - Local times that do not exist (spring-forward gap) move forward to the first existing
//!   minute; ambiguous ones (fall-back overlap) take the earlier instant.
//! - Meetings fall on `weekday` every `every_weeks` weeks counted from `anchor`, in either
//!   direction. A meeting that falls on a holiday does not take place: the next one counts.
//! - A meeting is over at the end of its local day: a decision posted the same day counts for
//!   it; the next day an undecided review rolls over to the next meeting.

use crate::rules::{Meeting, Timing};
use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta,
    TimeZone, Utc,
};

/// The local date of an instant in the configured time zone.
pub fn local_date(t: DateTime<Utc>, timing: &Timing) -> NaiveDate {
    t.with_timezone(&timing.timezone).date_naive()
}

/// Whether a local date is a business day (not a weekend day, not a holiday).
pub(crate) fn is_business_day(d: NaiveDate, timing: &Timing) -> bool {
    !timing.weekend.contains(&d.weekday()) && !timing.holidays.contains(&d)
}

fn next_day(d: NaiveDate) -> NaiveDate {
    d.checked_add_days(Days::new(1)).unwrap_or(d)
}

/// The `n`th business day after `d` (`d` itself for `n == 0`).
pub(crate) fn add_business_days(d: NaiveDate, n: u32, timing: &Timing) -> NaiveDate {
    let mut day = d;
    let mut left = n;
    while left > 0 {
        let next = next_day(day);
        if next == day {
            break; // the end of the calendar: nothing sensible lies beyond
        }
        day = next;
        if is_business_day(day, timing) {
            left -= 1;
        }
    }
    day
}

/// How many whole business days have passed from `since` to `now`: the largest `n` for which
/// `since`'s local date plus `n` business days, at `since`'s local time, is not after `now` (0
/// when `now` is earlier). The stale rule ([`crate::policy::is_stale`]) is this count reaching
/// `stale_after_business_days`; the stale nudge says the count.
pub fn business_days_elapsed(since: DateTime<Utc>, now: DateTime<Utc>, timing: &Timing) -> u32 {
    let local = since.with_timezone(&timing.timezone);
    let mut n = 0u32;
    let mut day = local.date_naive();
    loop {
        let next = add_business_days(day, 1, timing);
        if next == day || local_to_utc(next, local.time(), timing) > now {
            return n;
        }
        day = next;
        n = n.saturating_add(1);
    }
}

/// How many business days lie in `(from, to]` (0 when `to <= from`). Only the tests count
/// them (the stale rule adds business days instead).
#[cfg(test)]
fn business_days_between(from: NaiveDate, to: NaiveDate, timing: &Timing) -> u32 {
    let mut n = 0u32;
    let mut day = from;
    while day < to {
        let next = next_day(day);
        if next == day {
            break;
        }
        day = next;
        if is_business_day(day, timing) {
            n = n.saturating_add(1);
        }
    }
    n
}

/// A local date and time in the configured zone as an instant, DST-safe: a time in a
/// spring-forward gap moves forward to the first existing minute, an ambiguous time takes the
/// earlier instant.
pub(crate) fn local_to_utc(date: NaiveDate, time: NaiveTime, timing: &Timing) -> DateTime<Utc> {
    let tz = timing.timezone;
    let naive = NaiveDateTime::new(date, time);
    let mut probe = naive;
    // Gaps are at most a few hours; look a day ahead at most.
    for _ in 0..=(24 * 60) {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(early, _) => return early.with_timezone(&Utc),
            LocalResult::None => match probe.checked_add_signed(TimeDelta::minutes(1)) {
                Some(p) => probe = p,
                None => break,
            },
        }
    }
    naive.and_utc()
}

/// The end of the waiting period of a request tagged at `tagged_at`: `waiting_period_days`
/// calendar days later, or that many business days when `waiting_period_business_days`.
pub(crate) fn waiting_period_end(tagged_at: DateTime<Utc>, timing: &Timing) -> DateTime<Utc> {
    let local = tagged_at.with_timezone(&timing.timezone);
    let date = local.date_naive();
    let end_date = if timing.waiting_period_business_days {
        add_business_days(date, timing.waiting_period_days, timing)
    } else {
        date.checked_add_days(Days::new(u64::from(timing.waiting_period_days)))
            .unwrap_or(date)
    };
    local_to_utc(end_date, local.time(), timing).max(tagged_at)
}

/// Whether a meeting in the configured cadence falls on `d` (holidays included).
fn in_cadence(d: NaiveDate, meeting: &Meeting) -> bool {
    let period = 7 * i64::from(meeting.every_weeks.max(1));
    d.weekday() == meeting.weekday && (d - meeting.anchor).num_days().rem_euclid(period) == 0
}

/// Whether an SRE meeting takes place on local date `d`.
pub fn is_meeting_day(d: NaiveDate, meeting: &Meeting, timing: &Timing) -> bool {
    in_cadence(d, meeting) && !timing.holidays.contains(&d)
}

/// The first meeting date on or after `d`.
pub fn meeting_on_or_after(d: NaiveDate, meeting: &Meeting, timing: &Timing) -> NaiveDate {
    let period = 7 * i64::from(meeting.every_weeks.max(1));
    let diff = (d - meeting.anchor).num_days();
    let k = diff.div_euclid(period);
    let mut candidate = meeting
        .anchor
        .checked_add_signed(TimeDelta::days(k * period))
        .unwrap_or(d);
    if candidate < d {
        candidate = candidate
            .checked_add_signed(TimeDelta::days(period))
            .unwrap_or(d);
    }
    // Skip meetings that fall on holidays (finitely many).
    let mut guard = timing.holidays.len() + 1;
    while timing.holidays.contains(&candidate) && guard > 0 {
        candidate = candidate
            .checked_add_signed(TimeDelta::days(period))
            .unwrap_or(candidate);
        guard -= 1;
    }
    candidate
}

/// The last meeting date strictly before `d` (meetings on holidays do not take place).
pub fn meeting_before(d: NaiveDate, meeting: &Meeting, timing: &Timing) -> NaiveDate {
    let period = 7 * i64::from(meeting.every_weeks.max(1));
    let diff = (d - meeting.anchor).num_days() - 1;
    let k = diff.div_euclid(period);
    let step_back = |c: NaiveDate| c.checked_sub_signed(TimeDelta::days(period)).unwrap_or(c);
    let mut candidate = meeting
        .anchor
        .checked_add_signed(TimeDelta::days(k * period))
        .unwrap_or(d);
    // Skip meetings that fall on holidays (finitely many).
    let mut guard = timing.holidays.len() + 1;
    while timing.holidays.contains(&candidate) && guard > 0 {
        candidate = step_back(candidate);
        guard -= 1;
    }
    candidate
}

/// The first meeting date strictly after `d`.
pub fn meeting_after(d: NaiveDate, meeting: &Meeting, timing: &Timing) -> NaiveDate {
    meeting_on_or_after(next_day(d), meeting, timing)
}

/// When the meeting of local date `date` starts (its local `time`), as an instant.
pub(crate) fn meeting_start(date: NaiveDate, meeting: &Meeting, timing: &Timing) -> DateTime<Utc> {
    local_to_utc(date, meeting.time, timing)
}

/// The end of the meeting's local day: until then a decision counts for that meeting.
pub(crate) fn meeting_day_end(date: NaiveDate, timing: &Timing) -> DateTime<Utc> {
    local_to_utc(next_day(date), NaiveTime::MIN, timing)
}

/// The meeting a sudo review that became ready at `ready_at` goes to: the first meeting that
/// starts at least `cutoff_hours` after `ready_at`.
pub(crate) fn next_meeting(
    ready_at: DateTime<Utc>,
    meeting: &Meeting,
    timing: &Timing,
) -> NaiveDate {
    let cutoff = TimeDelta::hours(i64::from(meeting.cutoff_hours));
    let mut d = meeting_on_or_after(local_date(ready_at, timing), meeting, timing);
    // Each step moves at least a week; the cutoff is bounded, so this ends.
    loop {
        let start = meeting_start(d, meeting, timing);
        // At the edge of the calendar there is no earlier instant: take that meeting.
        if start
            .checked_sub_signed(cutoff)
            .is_none_or(|c| c >= ready_at)
        {
            return d;
        }
        let next = meeting_after(d, meeting, timing);
        if next <= d {
            return d;
        }
        d = next;
    }
}

/// A sudo review not decided at its meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollover {
    /// The last meeting that passed without a decision.
    pub missed: NaiveDate,
    /// The meeting it is now on the agenda of.
    pub next: NaiveDate,
}

/// For a review scheduled for `scheduled`: `None` while that meeting's day has not ended;
/// afterwards the last missed meeting and the next one (whose day has not ended at `now`).
pub fn rolled_over(
    scheduled: NaiveDate,
    now: DateTime<Utc>,
    meeting: &Meeting,
    timing: &Timing,
) -> Option<Rollover> {
    if now < meeting_day_end(scheduled, timing) {
        return None;
    }
    let mut missed = scheduled;
    let mut next = meeting_after(scheduled, meeting, timing);
    while meeting_day_end(next, timing) <= now {
        let after = meeting_after(next, meeting, timing);
        if after <= next {
            break;
        }
        missed = next;
        next = after;
    }
    Some(Rollover { missed, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;
    use chrono::Weekday;

    fn rules() -> Rules {
        Rules::for_tests().clone()
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn business_days_elapsed_counts_whole_business_days_at_the_local_time() {
        let r = rules();
        let t = &r.timing;
        let since = at("2026-11-06T10:00:00Z"); // Friday 10:00
        for (now, want) in [
            ("2026-11-06T09:00:00Z", 0), // before it
            ("2026-11-09T09:59:00Z", 0), // Monday, a minute short of one
            ("2026-11-09T10:00:00Z", 1),
            ("2026-11-13T10:00:00Z", 5), // the stale threshold: Friday 13th 10:00
            ("2026-11-17T11:00:00Z", 7),
        ] {
            assert_eq!(business_days_elapsed(since, at(now), t), want, "{now}");
        }
        // A holiday is no business day: Thursday 24th + 1 is Monday 28th.
        assert_eq!(
            business_days_elapsed(at("2026-12-24T10:00:00Z"), at("2026-12-28T10:00:00Z"), t),
            1
        );
        // The stale rule fires exactly when the count reaches the threshold.
        for now in ["2026-11-13T09:59:00Z", "2026-11-13T10:00:00Z"] {
            assert_eq!(
                crate::policy::is_stale(since, at(now), t),
                business_days_elapsed(since, at(now), t) >= t.stale_after_business_days,
                "{now}"
            );
        }
    }

    #[test]
    fn weekends_and_holidays_are_not_business_days() {
        let r = rules();
        assert!(is_business_day(date("2026-11-27"), &r.timing)); // Fri
        assert!(!is_business_day(date("2026-11-28"), &r.timing)); // Sat
        assert!(!is_business_day(date("2026-11-29"), &r.timing)); // Sun
        assert!(!is_business_day(date("2026-12-25"), &r.timing)); // holiday, Fri
        let mut t = r.timing.clone();
        t.weekend = vec![Weekday::Fri, Weekday::Sat];
        assert!(is_business_day(date("2026-11-29"), &t));
        assert!(!is_business_day(date("2026-11-27"), &t));
    }

    #[test]
    fn business_day_arithmetic() {
        let r = rules();
        let t = &r.timing;
        assert_eq!(
            add_business_days(date("2026-11-27"), 3, t),
            date("2026-12-02")
        );
        assert_eq!(
            add_business_days(date("2026-11-28"), 1, t),
            date("2026-11-30")
        );
        assert_eq!(
            add_business_days(date("2026-11-27"), 0, t),
            date("2026-11-27")
        );
        // Thu 24 Dec + 1: Fri 25 is a holiday, then the weekend.
        assert_eq!(
            add_business_days(date("2026-12-24"), 1, t),
            date("2026-12-28")
        );
        assert_eq!(
            business_days_between(date("2026-11-27"), date("2026-12-02"), t),
            3
        );
        assert_eq!(
            business_days_between(date("2026-12-02"), date("2026-11-27"), t),
            0
        );
        assert_eq!(
            business_days_between(date("2026-12-24"), date("2026-12-28"), t),
            1
        );
    }

    #[test]
    fn waiting_periods_in_calendar_and_business_days() {
        let r = rules();
        let mut t = r.timing.clone();
        assert_eq!(
            waiting_period_end(at("2026-11-27T10:00:00Z"), &t),
            at("2026-11-30T10:00:00Z")
        );
        t.waiting_period_business_days = true;
        assert_eq!(
            waiting_period_end(at("2026-11-27T10:00:00Z"), &t),
            at("2026-12-02T10:00:00Z")
        );
    }

    #[test]
    fn waiting_period_counts_local_days_across_dst() {
        let r = rules();
        let mut t = r.timing.clone();
        t.timezone = chrono_tz::Europe::Berlin;
        // 2026-10-25 03:00 CEST -> 02:00 CET. Tagged Fri 23 Oct 10:00 local (08:00Z).
        let end = waiting_period_end(at("2026-10-23T08:00:00Z"), &t);
        // Mon 26 Oct 10:00 CET = 09:00Z: 73 hours later.
        assert_eq!(end, at("2026-10-26T09:00:00Z"));
        // The local date is the zone's: 23:30Z on Friday is already Saturday in Berlin.
        assert_eq!(
            local_date(at("2026-11-27T23:30:00Z"), &t),
            date("2026-11-28")
        );
    }

    #[test]
    fn local_times_in_gaps_and_overlaps() {
        let r = rules();
        let mut t = r.timing.clone();
        t.timezone = chrono_tz::Europe::Berlin;
        // 2026-03-29 02:30 does not exist in Berlin: moves to 03:00 CEST = 01:00Z.
        let gap = local_to_utc(
            date("2026-03-29"),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            &t,
        );
        assert_eq!(gap, at("2026-03-29T01:00:00Z"));
        // 2026-10-25 02:30 happens twice: the earlier (CEST, 00:30Z).
        let twice = local_to_utc(
            date("2026-10-25"),
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            &t,
        );
        assert_eq!(twice, at("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn meeting_dates_follow_the_anchor_both_ways() {
        let r = rules();
        let (m, t) = (&r.meeting, &r.timing);
        // Anchor 2026-11-02 (Mon), every 2 weeks.
        assert!(is_meeting_day(date("2026-11-16"), m, t));
        assert!(!is_meeting_day(date("2026-11-09"), m, t));
        assert!(is_meeting_day(date("2026-10-19"), m, t)); // before the anchor
        assert_eq!(
            meeting_on_or_after(date("2026-11-03"), m, t),
            date("2026-11-16")
        );
        assert_eq!(
            meeting_on_or_after(date("2026-11-16"), m, t),
            date("2026-11-16")
        );
        assert_eq!(
            meeting_on_or_after(date("2026-10-01"), m, t),
            date("2026-10-05")
        );
        assert_eq!(meeting_after(date("2026-11-16"), m, t), date("2026-11-30"));
        assert_eq!(meeting_before(date("2026-11-17"), m, t), date("2026-11-16"));
        assert_eq!(meeting_before(date("2026-11-16"), m, t), date("2026-11-02"));
        assert_eq!(meeting_before(date("2026-10-06"), m, t), date("2026-10-05"));
        assert_eq!(meeting_before(date("2026-10-05"), m, t), date("2026-09-21"));
    }

    #[test]
    fn meetings_on_holidays_do_not_take_place() {
        let r = rules();
        let mut t = r.timing.clone();
        t.holidays.push(date("2026-11-16"));
        assert_eq!(
            meeting_on_or_after(date("2026-11-03"), &r.meeting, &t),
            date("2026-11-30")
        );
        assert_eq!(
            meeting_before(date("2026-11-20"), &r.meeting, &t),
            date("2026-11-02")
        );
    }

    #[test]
    fn next_meeting_honours_the_cutoff() {
        let r = rules();
        let (m, t) = (&r.meeting, &r.timing);
        // Meeting Mon 16 Nov 15:00 UTC, cutoff 24 h: ready by Sun 15 Nov 15:00.
        assert_eq!(
            next_meeting(at("2026-11-15T15:00:00Z"), m, t),
            date("2026-11-16")
        );
        assert_eq!(
            next_meeting(at("2026-11-15T15:00:01Z"), m, t),
            date("2026-11-30")
        );
        assert_eq!(
            next_meeting(at("2026-11-16T16:00:00Z"), m, t),
            date("2026-11-30")
        );
        assert_eq!(
            next_meeting(at("2026-11-03T09:00:00Z"), m, t),
            date("2026-11-16")
        );
    }

    #[test]
    fn cutoff_counts_from_the_local_start() {
        let r = rules();
        let mut t = r.timing.clone();
        t.timezone = chrono_tz::Europe::Berlin;
        // Mon 16 Nov 15:00 CET = 14:00Z; the cutoff is Sun 15 Nov 14:00Z.
        assert_eq!(
            next_meeting(at("2026-11-15T14:00:00Z"), &r.meeting, &t),
            date("2026-11-16")
        );
        assert_eq!(
            next_meeting(at("2026-11-15T14:30:00Z"), &r.meeting, &t),
            date("2026-11-30")
        );
        // Late on Sunday 1 Nov UTC is already Monday 2 Nov in Berlin (a meeting day), yet
        // that meeting starts within the cutoff.
        assert_eq!(
            next_meeting(at("2026-11-01T23:30:00Z"), &r.meeting, &t),
            date("2026-11-16")
        );
        // A cutoff of several periods skips several meetings.
        let mut m = r.meeting.clone();
        m.cutoff_hours = 24 * 15;
        assert_eq!(
            next_meeting(at("2026-11-03T09:00:00Z"), &m, &t),
            date("2026-11-30")
        );
    }

    #[test]
    fn meeting_start_is_local() {
        let r = rules();
        let mut t = r.timing.clone();
        t.timezone = chrono_tz::America::New_York;
        // 15:00 EST = 20:00Z.
        assert_eq!(
            meeting_start(date("2026-11-16"), &r.meeting, &t),
            at("2026-11-16T20:00:00Z")
        );
        // 15:00 EDT = 19:00Z (before the US change on 1 Nov).
        assert_eq!(
            meeting_start(date("2026-10-19"), &r.meeting, &t),
            at("2026-10-19T19:00:00Z")
        );
    }

    proptest::proptest! {
        #[test]
        fn calendar_functions_never_panic(secs in -8_000_000_000_000i64..8_000_000_000_000i64,
                                          later in 0i64..100_000_000) {
            let r = rules();
            let mut t = r.timing.clone();
            t.timezone = chrono_tz::America::Santiago;
            if let (Some(a), Some(b)) = (
                DateTime::from_timestamp(secs, 0),
                DateTime::from_timestamp(secs.saturating_add(later), 0),
            ) {
                let end = waiting_period_end(a, &t);
                proptest::prop_assert!(end >= a);
                let m = next_meeting(a, &r.meeting, &t);
                proptest::prop_assert!(is_meeting_day(m, &r.meeting, &t) || m.year() > 200_000 || m.year() < -200_000);
                let _ = rolled_over(m, b, &r.meeting, &t);
                let _ = business_days_between(local_date(a, &t), local_date(b, &t), &t);
            }
        }
    }

    #[test]
    fn rollovers() {
        let r = rules();
        let (m, t) = (&r.meeting, &r.timing);
        let d = date("2026-11-16");
        assert_eq!(rolled_over(d, at("2026-11-16T23:59:59Z"), m, t), None);
        assert_eq!(
            rolled_over(d, at("2026-11-17T00:00:00Z"), m, t),
            Some(Rollover {
                missed: d,
                next: date("2026-11-30")
            })
        );
        assert_eq!(
            rolled_over(d, at("2026-12-02T00:00:00Z"), m, t),
            Some(Rollover {
                missed: date("2026-11-30"),
                next: date("2026-12-14")
            })
        );
    }
}
