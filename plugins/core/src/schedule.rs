//! Cron schedules exactly as Kubernetes accepts them, and when they fire next.
//!
//! The API server validates `spec.schedule` with robfig/cron v3's standard parser and
//! then rejects anything containing `TZ`. A schedule kuul accepts but the server rejects
//! (or the reverse) would surface as an API error after the user has moved on, so this
//! parser follows the same rules, quirks included, and is proven against the real API
//! server with the table in `tests/fixtures/new/schedules.txt`. Next run times follow
//! robfig's algorithm too: days and months step in local wall-clock time, hours and
//! minutes in absolute time, so a run inside a spring-forward gap is skipped and one in a
//! repeated autumn hour fires twice, as the `CronJob` controller does.

use std::fmt;
use std::time::Duration;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc,
};

/// What the schedule syntax allows, for error hints.
pub const SYNTAX_HINT: &str = "a schedule is 5 fields (minute hour day-of-month month day-of-week) of numbers, \
     names (JAN-DEC, SUN-SAT), *, ?, ranges a-b, steps /n and lists a,b; or one of @yearly, \
     @annually, @monthly, @weekly, @daily, @midnight, @hourly, @every DURATION";

/// How many years ahead robfig (and so the `CronJob` controller) looks for a next run.
const SEARCH_YEARS: i32 = 5;

/// A validated cron schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    text: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// Five fields (or a macro that stands for five fields).
    Fields(Fields),
    /// `@every DURATION`: a fixed delay between runs.
    Every(Duration),
}

/// The set of allowed values of each field as bits, plus whether the day fields were
/// written as `*`/`?` (robfig's "star bit"), which decides how they combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fields {
    minute: u64,
    hour: u64,
    day_of_month: u64,
    month: u64,
    day_of_week: u64,
    day_of_month_star: bool,
    day_of_week_star: bool,
}

/// Why a schedule is not accepted, in words for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError(String);

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScheduleError {}

fn reject(message: impl Into<String>) -> ScheduleError {
    ScheduleError(message.into())
}

/// One cron field: its name in messages, its bounds, and its names if it has any.
struct Bounds {
    name: &'static str,
    min: u64,
    max: u64,
    names: &'static [&'static str],
}

const MINUTE: Bounds = Bounds {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Bounds = Bounds {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: Bounds = Bounds {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
/// Names are matched case-insensitively; month names count from 1, weekday names from 0.
const MONTH: Bounds = Bounds {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: Bounds = Bounds {
    name: "day-of-week",
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl Schedule {
    /// Parses a schedule the way the Kubernetes API server validates `spec.schedule`.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        if text.is_empty() {
            return Err(reject("the schedule is empty"));
        }
        // The API server's own rule, on top of robfig's parser: any "TZ" is refused.
        if text.contains("TZ") {
            return Err(reject(
                "time zone prefixes (TZ=, CRON_TZ=) are not allowed in a schedule; use --tz",
            ));
        }
        let kind = if text.starts_with('@') {
            descriptor(text)?
        } else {
            Kind::Fields(parse_fields(text)?)
        };
        Ok(Self {
            text: text.to_owned(),
            kind,
        })
    }

    /// The schedule as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first run strictly after `after`, in `after`'s time zone; `None` when the
    /// schedule does not fire within five years (robfig gives up there too).
    pub fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        match &self.kind {
            Kind::Every(delay) => {
                let start = after.with_nanosecond(0)?;
                Some(start + every_delay(*delay))
            }
            Kind::Fields(fields) => fields.next_after(after),
        }
    }

    /// The next `count` runs after `now` (fewer when the schedule stops firing).
    pub fn upcoming<Tz: TimeZone>(&self, now: &DateTime<Tz>, count: usize) -> Vec<DateTime<Tz>> {
        let mut runs = Vec::with_capacity(count);
        let mut at = now.clone();
        while runs.len() < count {
            let Some(next) = self.next_after(&at) else {
                break;
            };
            runs.push(next.clone());
            at = next;
        }
        runs
    }

    /// Whether this is an `@every` schedule, whose runs count from the `CronJob`'s creation.
    /// The next three runs in `zone` (UTC when none), or why there are none, in words:
    /// `next runs (Europe/Berlin): 2026-12-03 02:00 CET, ...`. Pure, for tests with a
    /// fixed `now`.
    pub fn next_runs(&self, zone: Option<chrono_tz::Tz>, now: DateTime<Utc>) -> String {
        let zone = zone.unwrap_or(chrono_tz::Tz::UTC);
        let runs = self.upcoming(&now.with_timezone(&zone), 3);
        if runs.is_empty() {
            return format!(
                "next runs ({}): never; the schedule matches no date",
                zone.name()
            );
        }
        let times: Vec<String> = runs
            .iter()
            .map(|t| t.format("%Y-%m-%d %H:%M %Z").to_string())
            .collect();
        let every = if self.is_every() {
            " (counted from now; the cluster counts from the CronJob's creation)"
        } else {
            ""
        };
        format!("next runs ({}): {}{every}", zone.name(), times.join(", "))
    }

    pub fn is_every(&self) -> bool {
        matches!(self.kind, Kind::Every(_))
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// robfig rounds an `@every` delay down to whole seconds, and to at least one second.
fn every_delay(delay: Duration) -> chrono::Duration {
    let seconds = delay.as_secs().max(1);
    chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 1000))
}

fn descriptor(text: &str) -> Result<Kind, ScheduleError> {
    let every = |spec: &str| Ok(Kind::Fields(parse_fields(spec).expect("macros are valid")));
    match text {
        "@yearly" | "@annually" => every("0 0 1 1 *"),
        "@monthly" => every("0 0 1 * *"),
        "@weekly" => every("0 0 * * 0"),
        "@daily" | "@midnight" => every("0 0 * * *"),
        "@hourly" => every("0 * * * *"),
        _ => match text.strip_prefix("@every ") {
            Some(duration) => go_duration(duration).map(Kind::Every).map_err(|why| {
                reject(format!(
                    "@every takes a Go duration such as 90s, 15m or 1h30m; {duration:?} {why}"
                ))
            }),
            None => Err(reject(format!(
                "unknown macro {text:?} (macros are lowercase and stand alone)"
            ))),
        },
    }
}

fn parse_fields(text: &str) -> Result<Fields, ScheduleError> {
    // Go's strings.Fields and Rust's split_whitespace agree on what whitespace is.
    let parts: Vec<&str> = text.split_whitespace().collect();
    if parts.len() != 5 {
        return Err(reject(format!(
            "expected exactly 5 fields (minute hour day-of-month month day-of-week), found {}",
            parts.len()
        )));
    }
    let (minute, _) = field(parts[0], &MINUTE)?;
    let (hour, _) = field(parts[1], &HOUR)?;
    let (day_of_month, day_of_month_star) = field(parts[2], &DAY_OF_MONTH)?;
    let (month, _) = field(parts[3], &MONTH)?;
    let (day_of_week, day_of_week_star) = field(parts[4], &DAY_OF_WEEK)?;
    Ok(Fields {
        minute,
        hour,
        day_of_month,
        month,
        day_of_week,
        day_of_month_star,
        day_of_week_star,
    })
}

/// A comma-separated list of ranges. Empty list items are skipped, as robfig does, so
/// `5,` is `5` and `,` allows nothing (a schedule that never fires).
fn field(text: &str, bounds: &Bounds) -> Result<(u64, bool), ScheduleError> {
    let mut bits = 0;
    let mut star = false;
    for item in text.split(',').filter(|item| !item.is_empty()) {
        let (item_bits, item_star) = range(item, bounds)?;
        bits |= item_bits;
        star |= item_star;
    }
    Ok((bits, star))
}

/// `*`, `?`, `N`, `N-M`, each optionally with `/STEP`. As in robfig, `*` and `?` ignore
/// anything after a `-`, and `N/STEP` means `N-max/STEP`.
fn range(item: &str, bounds: &Bounds) -> Result<(u64, bool), ScheduleError> {
    let name = bounds.name;
    let mut range_and_step = item.split('/');
    let range_part = range_and_step.next().unwrap_or_default();
    let step_part = range_and_step.next();
    if range_and_step.next().is_some() {
        return Err(reject(format!("{name} {item:?} has more than one /")));
    }
    let low_and_high: Vec<&str> = range_part.split('-').collect();
    let (start, mut end, mut star) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        (bounds.min, bounds.max, true)
    } else {
        let start = number_or_name(low_and_high[0], bounds, item)?;
        match low_and_high.len() {
            1 => (start, start, false),
            2 => (start, number_or_name(low_and_high[1], bounds, item)?, false),
            _ => return Err(reject(format!("{name} {item:?} has more than one -"))),
        }
    };
    let step = match step_part {
        None => 1,
        Some(step) => {
            let step = number(step, name, item)?;
            if low_and_high.len() == 1 {
                end = bounds.max;
            }
            if step > 1 {
                star = false;
            }
            step
        }
    };
    if start < bounds.min {
        return Err(reject(format!(
            "{name} {item:?}: {start} is below the minimum {}",
            bounds.min
        )));
    }
    if end > bounds.max {
        let extra = if bounds.max == 6 {
            " (0 is Sunday; 7 is not allowed)"
        } else {
            ""
        };
        return Err(reject(format!(
            "{name} {item:?}: {end} is above the maximum {}{extra}",
            bounds.max
        )));
    }
    if start > end {
        return Err(reject(format!(
            "{name} {item:?}: the range starts at {start}, after its end {end}"
        )));
    }
    if step == 0 {
        return Err(reject(format!(
            "{name} {item:?}: the step must be positive"
        )));
    }
    let mut bits = 0u64;
    let mut value = start;
    while value <= end {
        bits |= 1 << value;
        value = value.saturating_add(step);
    }
    Ok((bits, star))
}

fn number_or_name(text: &str, bounds: &Bounds, item: &str) -> Result<u64, ScheduleError> {
    let lower = text.to_ascii_lowercase();
    if let Some(index) = bounds.names.iter().position(|n| *n == lower) {
        let offset = u64::from(bounds.min == 1);
        return Ok(index as u64 + offset);
    }
    number(text, bounds.name, item)
}

/// A number as Go's `strconv.Atoi` reads it (an optional sign, decimal digits), not negative.
fn number(text: &str, field: &str, item: &str) -> Result<u64, ScheduleError> {
    let names = match field {
        "month" => ", or a month name JAN-DEC",
        "day-of-week" => ", or a day name SUN-SAT",
        _ => "",
    };
    let value: i64 = text.parse().map_err(|_| {
        reject(format!(
            "{field} {item:?}: {text:?} is not a number{names} (L, W and # are not supported)"
        ))
    })?;
    u64::try_from(value).map_err(|_| {
        reject(format!(
            "{field} {item:?}: negative numbers are not allowed"
        ))
    })
}

/// A duration in Go's `time.ParseDuration` syntax: `[-+]?([0-9]*(\.[0-9]*)?unit)+` with
/// units ns, us, µs, μs, ms, s, m, h, or a bare `0`. A negative result is kept as zero,
/// which robfig turns into one second. The error says what is wrong with the text
/// without repeating it (`has an unknown unit "d" ...`), for a caller that shows it.
pub(crate) fn go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || "is not a duration".to_owned();
    let too_long = || "is too long (at most 2562047h, about 292 years)".to_owned();
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let limit: u128 = if negative { 1 << 63 } else { (1 << 63) - 1 };
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let whole = &rest[..digits];
        rest = &rest[digits..];
        let mut fraction = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let count = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            fraction = &after_dot[..count];
            rest = &after_dot[count..];
            if whole.is_empty() && fraction.is_empty() {
                return Err(invalid());
            }
        } else if whole.is_empty() {
            return Err(invalid());
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err("has a number without a unit (ns, us, ms, s, m or h)".to_owned());
        }
        let unit: u128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            other => {
                return Err(format!(
                    "has an unknown unit {other:?} (units are ns, us, ms, s, m and h)"
                ));
            }
        };
        rest = &rest[unit_len..];
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| invalid())?
        };
        let mut nanos = whole.checked_mul(unit).ok_or_else(too_long)?;
        if !fraction.is_empty() {
            // Go drops digits beyond what fits; 18 are more than enough for nanoseconds.
            let kept = &fraction[..fraction.len().min(18)];
            let scale = 10u128.pow(u32::try_from(kept.len()).unwrap_or(18));
            let part: u128 = kept.parse().map_err(|_| invalid())?;
            nanos += part * unit / scale;
        }
        total = total.checked_add(nanos).ok_or_else(too_long)?;
        if total > limit {
            return Err(too_long());
        }
    }
    if negative {
        return Ok(Duration::ZERO);
    }
    let nanos = u64::try_from(total).map_err(|_| too_long())?;
    Ok(Duration::from_nanos(nanos))
}

impl Fields {
    fn month_matches(&self, month: u32) -> bool {
        self.month & (1 << month) != 0
    }

    /// Day of month and day of week combine with AND when either was written as `*`/`?`,
    /// else with OR (classic cron).
    fn day_matches(&self, date: NaiveDate) -> bool {
        let dom = self.day_of_month & (1 << date.day()) != 0;
        let dow = self.day_of_week & (1 << date.weekday().num_days_from_sunday()) != 0;
        if self.day_of_month_star || self.day_of_week_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        let zone = after.timezone();
        let year_limit = after.year() + SEARCH_YEARS;
        // The next whole minute: standard schedules fire at second 0.
        let mut t = truncate_minute(after) + chrono::Duration::minutes(1);
        'wrap: loop {
            if t.year() > year_limit {
                return None;
            }
            while !self.month_matches(t.month()) {
                let local = t.naive_local().date();
                let (year, month) = if local.month() == 12 {
                    (local.year() + 1, 1)
                } else {
                    (local.year(), local.month() + 1)
                };
                t = local_midnight(&zone, NaiveDate::from_ymd_opt(year, month, 1)?)?;
                if t.month() == 1 {
                    continue 'wrap;
                }
            }
            while !self.day_matches(t.naive_local().date()) {
                t = local_midnight(&zone, t.naive_local().date().succ_opt()?)?;
                if t.day() == 1 {
                    continue 'wrap;
                }
            }
            while self.hour & (1 << t.hour()) == 0 {
                t = truncate_hour(&t) + chrono::Duration::hours(1);
                if t.hour() == 0 {
                    continue 'wrap;
                }
            }
            while self.minute & (1 << t.minute()) == 0 {
                t += chrono::Duration::minutes(1);
                if t.minute() == 0 {
                    continue 'wrap;
                }
            }
            return Some(t);
        }
    }
}

fn truncate_minute<Tz: TimeZone>(t: &DateTime<Tz>) -> DateTime<Tz> {
    t.clone()
        - chrono::Duration::seconds(i64::from(t.second()))
        - chrono::Duration::nanoseconds(i64::from(t.nanosecond()))
}

fn truncate_hour<Tz: TimeZone>(t: &DateTime<Tz>) -> DateTime<Tz> {
    truncate_minute(t) - chrono::Duration::minutes(i64::from(t.minute()))
}

/// Local midnight of `date`. Where midnight repeats, the first; where a DST change skips
/// it, the same wall-clock time read with the offset before the change (as Go's
/// `time.Date` does), which lands just after the gap.
fn local_midnight<Tz: TimeZone>(zone: &Tz, date: NaiveDate) -> Option<DateTime<Tz>> {
    let midnight: NaiveDateTime = date.and_hms_opt(0, 0, 0)?;
    match zone.from_local_datetime(&midnight) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
        LocalResult::None => {
            let before = zone
                .from_local_datetime(&(midnight - chrono::Duration::hours(3)))
                .earliest()?;
            let offset = before.offset().fix();
            let utc = midnight - chrono::Duration::seconds(i64::from(offset.local_minus_utc()));
            Some(zone.from_utc_datetime(&utc))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use chrono_tz::Tz;

    /// The table of schedules checked against the real API server by the cluster tests.
    const TABLE: &str = include_str!("../../../tests/fixtures/new/schedules.txt");

    /// `(accepted, schedule)` rows of the fixture: `accept "..."` or `reject "..."`, the
    /// schedule as a JSON string so that whitespace is exact.
    fn table() -> Vec<(bool, String)> {
        TABLE
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .map(|line| {
                let (verdict, quoted) = line.split_once(' ').expect("verdict and schedule");
                let schedule: String = serde_json::from_str(quoted).expect("a JSON string");
                match verdict {
                    "accept" => (true, schedule),
                    "reject" => (false, schedule),
                    other => panic!("unknown verdict {other:?}"),
                }
            })
            .collect()
    }

    #[test]
    fn parser_agrees_with_the_api_server_table() {
        let rows = table();
        assert!(rows.len() > 80, "the table has {} rows", rows.len());
        let wrong: Vec<String> = rows
            .iter()
            .filter(|(accepted, schedule)| Schedule::parse(schedule).is_ok() != *accepted)
            .map(|(accepted, schedule)| format!("{schedule:?} should be accepted={accepted}"))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    fn at(zone: Tz, text: &str) -> DateTime<Tz> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
        zone.from_local_datetime(&naive).earliest().unwrap()
    }

    fn next_three(schedule: &str, zone: Tz, now: &str) -> Vec<String> {
        Schedule::parse(schedule)
            .unwrap()
            .upcoming(&at(zone, now), 3)
            .iter()
            .map(|t| t.format("%Y-%m-%d %H:%M %Z").to_string())
            .collect()
    }

    #[test]
    fn next_runs_of_a_daily_job() {
        assert_eq!(
            next_three("0 2 * * *", Tz::Europe__Berlin, "2025-01-10 01:59:59"),
            [
                "2025-01-10 02:00 CET",
                "2025-01-11 02:00 CET",
                "2025-01-12 02:00 CET"
            ]
        );
        // Exactly at a run time, the next run is the following one.
        assert_eq!(
            next_three("0 2 * * *", Tz::UTC, "2025-01-10 02:00:00")[0],
            "2025-01-11 02:00 UTC"
        );
    }

    #[test]
    fn next_runs_with_names_steps_and_lists() {
        assert_eq!(
            next_three("*/20 9-10 * * MON-FRI", Tz::UTC, "2025-01-10 10:30:00"),
            // 2025-01-10 is a Friday; the weekend is skipped.
            [
                "2025-01-10 10:40 UTC",
                "2025-01-13 09:00 UTC",
                "2025-01-13 09:20 UTC"
            ]
        );
        assert_eq!(
            next_three("@monthly", Tz::Asia__Kolkata, "2025-12-15 00:00:00"),
            [
                "2026-01-01 00:00 IST",
                "2026-02-01 00:00 IST",
                "2026-03-01 00:00 IST"
            ]
        );
    }

    #[test]
    fn restricted_day_fields_combine_with_or() {
        // The 13th, or any Friday.
        assert_eq!(
            next_three("0 0 13 * 5", Tz::UTC, "2025-06-01 00:00:00"),
            [
                "2025-06-06 00:00 UTC",
                "2025-06-13 00:00 UTC",
                "2025-06-20 00:00 UTC"
            ]
        );
        // With a star in day-of-month they combine with AND: Fridays only.
        assert_eq!(
            next_three("0 0 * * 5", Tz::UTC, "2025-06-01 00:00:00")[1],
            "2025-06-13 00:00 UTC"
        );
    }

    #[test]
    fn spring_forward_skips_the_missing_hour_and_autumn_repeats_it() {
        // Europe/Berlin: 2025-03-30 02:00 CET jumps to 03:00 CEST.
        assert_eq!(
            next_three("30 2 * * *", Tz::Europe__Berlin, "2025-03-29 12:00:00"),
            [
                "2025-03-31 02:30 CEST",
                "2025-04-01 02:30 CEST",
                "2025-04-02 02:30 CEST"
            ]
        );
        // 2025-10-26 03:00 CEST falls back to 02:00 CET: 02:30 happens twice.
        assert_eq!(
            next_three("30 2 * * *", Tz::Europe__Berlin, "2025-10-26 00:00:00"),
            [
                "2025-10-26 02:30 CEST",
                "2025-10-26 02:30 CET",
                "2025-10-27 02:30 CET"
            ]
        );
    }

    #[test]
    fn impossible_dates_never_fire() {
        for schedule in ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", ", * * * *"] {
            let parsed = Schedule::parse(schedule).unwrap();
            assert_eq!(parsed.next_after(&Utc::now()), None, "{schedule}");
        }
        // February 29th fires, in leap years.
        assert_eq!(
            next_three("0 0 29 2 *", Tz::UTC, "2025-01-01 00:00:00"),
            [
                "2028-02-29 00:00 UTC",
                "2032-02-29 00:00 UTC",
                "2036-02-29 00:00 UTC"
            ]
        );
    }

    #[test]
    fn every_counts_whole_seconds_from_now() {
        assert_eq!(
            next_three("@every 1h30m", Tz::UTC, "2025-01-01 00:00:10"),
            [
                "2025-01-01 01:30 UTC",
                "2025-01-01 03:00 UTC",
                "2025-01-01 04:30 UTC"
            ]
        );
        let tiny = Schedule::parse("@every 1ms").unwrap();
        let now = at(Tz::UTC, "2025-01-01 00:00:00");
        assert_eq!(
            tiny.next_after(&now).unwrap(),
            now + chrono::Duration::seconds(1)
        );
        assert!(tiny.is_every());
    }

    #[test]
    fn go_durations() {
        let ok = |text: &str, nanos: u64| {
            assert_eq!(go_duration(text), Ok(Duration::from_nanos(nanos)), "{text}");
        };
        ok("0", 0);
        ok("1h", 3_600_000_000_000);
        ok("1.5h", 5_400_000_000_000);
        ok(".5s", 500_000_000);
        ok("1.s", 1_000_000_000);
        ok("1h30m", 5_400_000_000_000);
        ok("+2µs", 2_000);
        ok("-1h", 0);
        for bad in ["", "1", "1H", ".", "1h ", "h", "1x", "3000000h"] {
            assert!(go_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn errors_name_the_field_and_the_rule() {
        let error = |s: &str| Schedule::parse(s).unwrap_err().to_string();
        assert_eq!(
            error("0 0 * * 7"),
            r#"day-of-week "7": 7 is above the maximum 6 (0 is Sunday; 7 is not allowed)"#
        );
        assert_eq!(
            error("0 0 L * *"),
            r#"day-of-month "L": "L" is not a number (L, W and # are not supported)"#
        );
        assert_eq!(
            error("30-10 * * * *"),
            r#"minute "30-10": the range starts at 30, after its end 10"#
        );
        assert!(error("CRON_TZ=UTC 0 0 * * *").contains("use --tz"));
        assert!(error("0 0 0 * * *").contains("found 6"));
        assert!(error("@reboot").contains("unknown macro"));
    }
}
