//! Time as kuul reads and shows it: Kubernetes timestamps as chrono times, ages and
//! durations as kubectl prints them, and RFC 3339 in `-o json` and `-o yaml`. One
//! module, so that every command writes a time the same way.

use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// A Kubernetes timestamp as a chrono time (they are whole nanoseconds since the epoch).
pub fn utc(time: &Time) -> DateTime<Utc> {
    let nanos = u32::try_from(time.0.subsec_nanosecond()).unwrap_or(0);
    DateTime::from_timestamp(time.0.as_second(), nanos).unwrap_or_default()
}

/// An age as kubectl prints it: `45s`, `3m`, `3m12s`, `25m`, `5h`, `5h10m`, `20h`, `3d`,
/// `3d4h`, `40d`, `2y`, `2y10d`.
pub fn age(since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(since) = since else {
        return "<unknown>".to_owned();
    };
    human(u64::try_from((now - since).num_seconds()).unwrap_or(0))
}

/// Elapsed time as kubectl prints durations and ages: `3s`, `65s`, `3m5s`, `2h3m`.
pub fn elapsed(duration: Duration) -> String {
    human(duration.as_secs())
}

/// kubectl's human duration (apimachinery's `HumanDuration`): the two largest units
/// while the smaller one still says something, a zero part left out (`3m`, not `3m0s`).
fn human(seconds: u64) -> String {
    let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86_400);
    let pair = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit}{small}{small_unit}")
        }
    };
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => pair(minutes, "m", s % 60, "s"),
        s if s < 3 * 3600 => format!("{minutes}m"),
        s if s < 8 * 3600 => pair(hours, "h", minutes % 60, "m"),
        s if s < 48 * 3600 => format!("{hours}h"),
        s if s < 8 * 86_400 => pair(days, "d", hours % 24, "h"),
        s if s < 2 * 365 * 86_400 => format!("{days}d"),
        s if s < 8 * 365 * 86_400 => pair(days / 365, "y", days % 365, "d"),
        _ => format!("{}y", days / 365),
    }
}

/// `0.4s`, `12.5s`, then as [`elapsed`]: a short duration (a test case, a local run) to
/// the tenth of a second.
pub fn elapsed_tenths(duration: Duration) -> String {
    if duration.as_secs() < 60 {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        elapsed(duration)
    }
}

/// `2026-03-02T07:00:00Z`: a time as Kubernetes writes it, in UTC to the second.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Times in `-o json` and `-o yaml` as Kubernetes writes them: RFC 3339 in UTC, or null;
/// read back from the archive's records.
pub(crate) mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    // serde's `with` hands the field by reference.
    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(
        time: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => serializer.serialize_str(&super::stamp(*time)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|time| time.to_utc())
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T07:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn ages_read_like_kubectl() {
        let ago = |seconds| age(Some(now() - TimeDelta::seconds(seconds)), now());
        assert_eq!(ago(45), "45s");
        assert_eq!(ago(192), "3m12s");
        assert_eq!(ago(1500), "25m");
        assert_eq!(ago(5 * 3600 + 600), "5h10m");
        assert_eq!(ago(20 * 3600), "20h");
        assert_eq!(ago(3 * 86_400 + 4 * 3600), "3d4h");
        assert_eq!(ago(40 * 86_400), "40d");
        assert_eq!(ago(740 * 86_400), "2y10d");
        assert_eq!(ago(180), "3m", "a zero part is left out");
        assert_eq!(ago(5 * 3600), "5h");
        assert_eq!(ago(3 * 86_400), "3d");
        assert_eq!(ago(730 * 86_400), "2y");
        assert_eq!(ago(-5), "0s", "a time ahead of now (clock skew)");
        assert_eq!(age(None, now()), "<unknown>");
    }

    #[test]
    fn elapsed_reads_like_kubectl_ages() {
        assert_eq!(elapsed(Duration::from_secs(3)), "3s");
        assert_eq!(elapsed(Duration::from_secs(65)), "65s");
        assert_eq!(elapsed(Duration::from_secs(185)), "3m5s");
        assert_eq!(elapsed(Duration::from_secs(7380)), "123m");
        assert_eq!(elapsed(Duration::from_secs(4 * 3600 + 180)), "4h3m");
    }

    #[test]
    fn short_durations_to_the_tenth() {
        assert_eq!(elapsed_tenths(Duration::from_millis(420)), "0.4s");
        assert_eq!(elapsed_tenths(Duration::from_millis(59_960)), "60.0s");
        assert_eq!(elapsed_tenths(Duration::from_secs(125)), "2m5s");
    }
}
