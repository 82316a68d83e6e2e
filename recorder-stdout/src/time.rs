//! Timestamps: epoch microseconds and RFC 3339 (UTC, microseconds, `Z`), computed by hand with
//! the proleptic Gregorian calendar, so the crate needs no date library.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch, rounded towards negative infinity (so a time just before
/// the epoch is `-1`, not `0`), saturating at the ends of `i64`.
pub(crate) fn epoch_micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            let partial = u128::from(d.subsec_nanos() % 1_000 != 0);
            i64::try_from(d.as_micros() + partial).map_or(i64::MIN, |us| -us)
        }
    }
}

/// Whole microseconds of a duration (truncated), saturating at `u64::MAX`.
pub(crate) fn duration_micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The civil date (year, month 1..=12, day 1..=31) of a day count since 1970-01-01.
///
/// The algorithm shifts the year to start on March 1st, so the leap day is the last day of a
/// shifted year, then splits days into 400-year eras of 146 097 days.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Day 0 of the shifted calendar is 0000-03-01, 719 468 days before 1970-01-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // 0..=146_096
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // 0 = March .. 11 = February
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // day is 1..=31 and month 1..=12 by construction.
    (year, month as u32, day as u32)
}

/// Appends `micros` (since the epoch) as RFC 3339 in UTC with six fractional digits, such as
/// `2024-02-29T12:00:00.000250Z`. Years outside 0000..=9999, which RFC 3339 cannot express,
/// are written with as many digits as they need and a sign when negative.
pub(crate) fn push_rfc3339(out: &mut String, micros: i64) {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sec_of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (sec_of_day / 3_600, sec_of_day / 60 % 60, sec_of_day % 60);
    if (0..=9_999).contains(&year) {
        push_digits(out, year, 4);
    } else {
        let _ = write!(out, "{year}");
    }
    for (sep, value, width) in [
        ('-', i64::from(month), 2),
        ('-', i64::from(day), 2),
        ('T', h, 2),
        (':', m, 2),
        (':', s, 2),
        ('.', frac, 6),
    ] {
        out.push(sep);
        push_digits(out, value, width);
    }
    out.push('Z');
}

/// Appends the last `width` decimal digits of a non-negative `value`, zero-padded.
fn push_digits(out: &mut String, value: i64, width: u32) {
    let mut div = 10i64.pow(width.saturating_sub(1));
    while div > 0 {
        out.push(char::from(b'0' + (value / div % 10) as u8));
        div /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(micros: i64) -> String {
        let mut s = String::new();
        push_rfc3339(&mut s, micros);
        s
    }

    #[test]
    fn known_dates() {
        let cases: &[(i64, &str)] = &[
            (0, "1970-01-01T00:00:00.000000Z"),
            (946_684_799, "1999-12-31T23:59:59.000000Z"),
            (951_782_400, "2000-02-29T00:00:00.000000Z"), // divisible by 400: leap
            (1_078_012_800, "2004-02-29T00:00:00.000000Z"),
            (1_234_567_890, "2009-02-13T23:31:30.000000Z"),
            (1_709_164_800, "2024-02-29T00:00:00.000000Z"),
            (1_709_208_000, "2024-02-29T12:00:00.000000Z"),
            (4_102_444_800, "2100-01-01T00:00:00.000000Z"),
            (4_107_456_000, "2100-02-28T00:00:00.000000Z"), // 2100: not leap
            (4_107_542_400, "2100-03-01T00:00:00.000000Z"),
            (253_402_300_799, "9999-12-31T23:59:59.000000Z"),
            (-2_203_891_200, "1900-03-01T00:00:00.000000Z"), // 1900: not leap
            (-62_135_596_800, "0001-01-01T00:00:00.000000Z"),
        ];
        for &(secs, want) in cases {
            assert_eq!(fmt(secs * 1_000_000), want, "{secs}");
        }
    }

    #[test]
    fn fractions_and_before_the_epoch() {
        assert_eq!(fmt(1_709_208_000_000_250), "2024-02-29T12:00:00.000250Z");
        assert_eq!(fmt(999_999), "1970-01-01T00:00:00.999999Z");
        assert_eq!(fmt(-1), "1969-12-31T23:59:59.999999Z");
        assert_eq!(fmt(-1_000_000), "1969-12-31T23:59:59.000000Z");
    }

    #[test]
    fn extremes_do_not_panic() {
        assert!(fmt(i64::MAX).ends_with('Z'));
        assert!(fmt(i64::MIN).starts_with('-'));
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        // Walk day by day through 1900..2300 and check the calendar advances by exactly one day.
        let mut prev = civil_from_days(-25_567); // 1900-01-01
        assert_eq!(prev, (1900, 1, 1));
        for days in -25_566..120_000 {
            let (y, m, d) = civil_from_days(days);
            let (py, pm, pd) = prev;
            let leap = (py % 4 == 0 && py % 100 != 0) || py % 400 == 0;
            let month_len = match pm {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let want = if pd < month_len {
                (py, pm, pd + 1)
            } else if pm < 12 {
                (py, pm + 1, 1)
            } else {
                (py + 1, 1, 1)
            };
            assert_eq!((y, m, d), want, "day {days}");
            prev = (y, m, d);
        }
    }

    #[test]
    fn system_times() {
        let t = UNIX_EPOCH + Duration::new(1_709_208_000, 123_456_789);
        assert_eq!(epoch_micros(t), 1_709_208_000_123_456);
        assert_eq!(fmt(epoch_micros(t)), "2024-02-29T12:00:00.123456Z");
        let before = UNIX_EPOCH - Duration::from_nanos(1);
        assert_eq!(epoch_micros(before), -1);
        assert_eq!(duration_micros(Duration::from_nanos(1_999)), 1);
    }
}
