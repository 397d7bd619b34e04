//! Calendar days and RFC 5322 `Date:` values: the day a message says it was sent (what
//! SEARCH's SENT* keys compare, RFC 9051 §6.4.4: time and zone ignored), the instant it
//! names (what SORT's DATE and THREAD order by, RFC 5256 §2.2), and the day of an internal
//! date in the zone it was given in.
//!
//! The parser takes §3.3's syntax and the obsolete forms of §4.3:
//!
//! ```text
//! date-time   = [ day-of-week "," ] date time [CFWS]
//! day-of-week = ([FWS] day-name) / obs-day-of-week
//! date        = day month year
//! day         = ([FWS] 1*2DIGIT FWS) / obs-day
//! year        = (FWS 4*DIGIT FWS) / obs-year
//! obs-year    = [CFWS] 2*DIGIT [CFWS]
//! time        = time-of-day zone
//! time-of-day = hour ":" minute [ ":" second ]
//! zone        = (FWS ( "+" / "-" ) 4DIGIT) / obs-zone
//! obs-zone    = "UT" / "GMT" / "EST" / "EDT" / "CST" / "CDT" / "MST" / "MDT" / "PST" / "PDT"
//!             / military zone letters
//! ```
//!
//! Beyond the grammar, as real mail needs: a day name without its comma, a month written out
//! (`July`), three-digit years, spaces around `:` and a missing zone (UTC).

use std::fmt;

use crate::{error::StoreError, types::InternalDate};

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

const SECONDS_PER_DAY: i64 = 86_400;

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// A day of the proleptic Gregorian calendar between 0000-01-01 and 9999-12-31, without a
/// zone. Orders chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    // Field order is the chronological order the derived `Ord` follows; `mday` as in C's `tm`.
    year: u16,
    month: u8,
    mday: u8,
}

impl Day {
    /// The day `year`-`month`-`day`, if the calendar has it and the year is 0–9999.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, StoreError> {
        if year <= 9999
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
        {
            Ok(Self {
                year,
                month,
                mday: day,
            })
        } else {
            Err(StoreError::InvalidArgument("not a calendar day"))
        }
    }

    /// The year, 0–9999.
    pub const fn year(self) -> u16 {
        self.year
    }

    /// The month, 1–12.
    pub const fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1–31.
    pub const fn day(self) -> u8 {
        self.mday
    }

    /// Days from 1970-01-01 to this day (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil, with years starting in March.
        let (y, m, d) = (
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.mday),
        );
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The day `days` after 1970-01-01; `None` outside the years 0–9999.
    #[allow(clippy::many_single_char_names)] // the names of the published algorithm
    pub fn from_days_since_epoch(days: i64) -> Option<Self> {
        // Hinnant's civil_from_days.
        let z = days.checked_add(719_468)?;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Self::new(
            u16::try_from(y).ok()?,
            u8::try_from(m).ok()?,
            u8::try_from(d).ok()?,
        )
        .ok()
    }

    /// The day `date` falls on in the zone it was given in (in UTC when its offset is not a
    /// real one, a day or more); `None` outside the years 0–9999.
    pub fn of(date: InternalDate) -> Option<Self> {
        let zone = i64::from(date.offset_minutes);
        let local = date.timestamp.checked_add(zone * 60)?;
        // The local day must exist even when the offset is then ignored, as IMAP's date-time
        // conversion has it.
        let day = Self::from_days_since_epoch(local.div_euclid(SECONDS_PER_DAY))?;
        if zone.abs() < 24 * 60 {
            Some(day)
        } else {
            Self::from_days_since_epoch(date.timestamp.div_euclid(SECONDS_PER_DAY))
        }
    }
}

impl fmt::Display for Day {
    /// ISO 8601: `2003-07-01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.mday)
    }
}

/// The value without comments and with no spaces around `:` ("10 : 52" is obsolete syntax),
/// from after the day name's comma.
fn clean(value: &str) -> String {
    let mut text = String::with_capacity(value.len());
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            ':' => {
                while text.ends_with([' ', '\t']) {
                    text.pop();
                }
                text.push(':');
            }
            ' ' | '\t' | '\r' | '\n' if text.ends_with(':') => {}
            c => text.push(c),
        }
    }
    match text.split_once(',') {
        Some((_, rest)) => rest.to_owned(),
        None => text,
    }
}

/// `[day-name] day month year` from `words`.
fn date<'a>(words: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>) -> Option<Day> {
    // A day name without its comma.
    if words
        .peek()
        .is_some_and(|w| w.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        words.next();
    }
    let day: u8 = words.next()?.parse().ok()?;
    let month = words.next()?.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| month.starts_with(m))?;
    let year_word = words.next()?;
    let year: u16 = year_word.parse().ok()?;
    // RFC 5322 §4.3: two digits 00-49 are 20xx, other two- and three-digit years add 1900.
    let year = match (year_word.len(), year) {
        (..=2, 0..=49) => year + 2000,
        (..=3, _) => year + 1900,
        _ => year,
    };
    Day::new(year, u8::try_from(month + 1).ok()?, day).ok()
}

/// The offset east of UTC, in minutes, of a `zone` (RFC 5322 §3.3, with the obsolete names of
/// §4.3; unknown names, military ones included, count as UTC as §4.3 says).
fn zone_minutes(zone: &str) -> Option<i64> {
    let b = zone.as_bytes();
    if let [sign @ (b'+' | b'-'), digits @ ..] = b {
        if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n: i64 = zone.get(1..)?.parse().ok()?;
        let minutes = (n / 100) * 60 + n % 100;
        return Some(if *sign == b'-' { -minutes } else { minutes });
    }
    let hours = match zone.to_ascii_uppercase().as_str() {
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        _ => 0,
    };
    Some(hours * 60)
}

/// The calendar day of a `Date:` value as written, its zone not applied (SEARCH's SENT*
/// keys). Only `[day-of-week ","] date` must parse: what follows is not looked at.
pub fn parse_day(value: &str) -> Option<Day> {
    let text = clean(value);
    date(&mut text.split_ascii_whitespace().peekable())
}

/// A whole `date-time` as seconds since 1970-01-01T00:00:00Z; `None` without a time of day,
/// with one out of range, or with a numeric zone of a day or more. What follows the zone is
/// not looked at.
pub fn parse_timestamp(value: &str) -> Option<i64> {
    let text = clean(value);
    let mut words = text.split_ascii_whitespace().peekable();
    let day = date(&mut words)?;
    let mut time = words.next()?.split(':');
    let hour: u8 = time.next()?.parse().ok()?;
    let minute: u8 = time.next()?.parse().ok()?;
    let second: u8 = match time.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    if time.next().is_some() || hour >= 24 || minute >= 60 || second > 60 {
        return None;
    }
    let zone = match words.next() {
        Some(z) => zone_minutes(z)?,
        None => 0,
    };
    if zone.abs() >= 24 * 60 {
        return None;
    }
    Some(
        day.days_since_epoch() * SECONDS_PER_DAY
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second)
            - zone * 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(d: Option<Day>) -> Option<(u16, u8, u8)> {
        d.map(|d| (d.year(), d.month(), d.day()))
    }

    #[test]
    fn days_validate_and_order() {
        assert!(Day::new(2025, 2, 29).is_err());
        assert!(Day::new(2024, 2, 29).is_ok());
        assert!(Day::new(1900, 2, 29).is_err());
        assert!(Day::new(2000, 2, 29).is_ok());
        assert!(Day::new(2024, 13, 1).is_err());
        assert!(Day::new(2024, 4, 31).is_err());
        assert!(Day::new(2024, 1, 0).is_err());
        assert!(Day::new(10_000, 1, 1).is_err());
        let a = Day::new(2024, 12, 31).unwrap();
        let b = Day::new(2025, 1, 1).unwrap();
        assert!(a < b);
        assert!(Day::new(2025, 1, 2).unwrap() > Day::new(2025, 1, 1).unwrap());
        assert_eq!(a.to_string(), "2024-12-31");
    }

    #[test]
    fn days_since_epoch_round_trip() {
        assert_eq!(Day::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(Day::new(2025, 7, 17).unwrap().days_since_epoch(), 20_286);
        assert_eq!(Day::new(1969, 12, 31).unwrap().days_since_epoch(), -1);
        for days in (-719_528..=2_932_896).step_by(997) {
            let d = Day::from_days_since_epoch(days).unwrap();
            assert_eq!(d.days_since_epoch(), days);
        }
        assert_eq!(ymd(Day::from_days_since_epoch(-719_528)), Some((0, 1, 1)));
        assert_eq!(Day::from_days_since_epoch(-719_529), None);
        assert_eq!(
            ymd(Day::from_days_since_epoch(2_932_896)),
            Some((9999, 12, 31))
        );
        assert_eq!(Day::from_days_since_epoch(2_932_897), None);
        assert_eq!(Day::from_days_since_epoch(i64::MAX), None);
    }

    #[test]
    fn internal_dates_fall_on_their_zones_day() {
        // 2003-07-01T23:30:00Z
        let t = 1_057_102_200;
        let at = |offset_minutes| {
            ymd(Day::of(InternalDate {
                timestamp: t,
                offset_minutes,
            }))
        };
        assert_eq!(at(0), Some((2003, 7, 1)));
        assert_eq!(at(60), Some((2003, 7, 2)));
        assert_eq!(at(-1439), Some((2003, 6, 30)));
        // Not a real offset: the UTC day.
        assert_eq!(at(1440), Some((2003, 7, 1)));
        assert_eq!(at(-1440), Some((2003, 7, 1)));
        assert_eq!(
            ymd(Day::of(InternalDate::from_timestamp(-1))),
            Some((1969, 12, 31))
        );
        assert_eq!(Day::of(InternalDate::from_timestamp(i64::MAX)), None);
        assert_eq!(
            Day::of(InternalDate {
                timestamp: i64::MAX,
                offset_minutes: 60
            }),
            None
        );
    }

    #[test]
    fn sent_days() {
        assert_eq!(
            ymd(parse_day("Tue, 1 Jul 2003 10:52:37 +0200")),
            Some((2003, 7, 1))
        );
        assert_eq!(
            ymd(parse_day("21 Nov 97 09:55:06 GMT")),
            Some((1997, 11, 21))
        );
        assert_eq!(
            ymd(parse_day("Mon, 7 Feb 1994 21:52:25 -0800")),
            Some((1994, 2, 7))
        );
        // As written: the zone does not move the day.
        assert_eq!(
            ymd(parse_day("1 Jul 2003 23:59:59 -1200")),
            Some((2003, 7, 1))
        );
        // Only the date must parse.
        assert_eq!(ymd(parse_day("1 July 2003")), Some((2003, 7, 1)));
        assert_eq!(ymd(parse_day("Tue 1 Jul 03 garbage")), Some((2003, 7, 1)));
        assert_eq!(ymd(parse_day("(c) Wed, 2 Jul 103")), Some((2003, 7, 2)));
        assert_eq!(parse_day("garbage"), None);
        assert_eq!(parse_day("31 Feb 2003"), None);
        assert_eq!(parse_day(""), None);
    }

    #[test]
    fn dates_parse_to_utc() {
        let t = parse_timestamp("Tue, 1 Jul 2003 10:52:37 +0200").unwrap();
        assert_eq!(t, parse_timestamp("1 Jul 2003 08:52:37 +0000").unwrap());
        assert_eq!(t, 1_057_049_557);
        assert_eq!(parse_timestamp("Thu, 1 Jan 1970 00:00:00 GMT"), Some(0));
        // Obsolete forms: two-digit year, zone name, comment, no seconds, spaced colons.
        assert_eq!(
            parse_timestamp("21 Nov 97 09:55 EST (Eastern)"),
            parse_timestamp("21 Nov 1997 14:55:00 +0000")
        );
        assert_eq!(
            parse_timestamp("Fri, 21 Nov 1997 09 : 55 : 06 -0600"),
            parse_timestamp("21 Nov 1997 15:55:06 +0000")
        );
        // Military zones and unknown names are UTC; no zone is UTC.
        assert_eq!(parse_timestamp("1 Jan 1970 00:00:00 Z"), Some(0));
        assert_eq!(parse_timestamp("1 Jan 1970 00:00:00"), Some(0));
        // A leap second counts.
        assert_eq!(parse_timestamp("1 Jan 1970 00:00:60 +0000"), Some(60));
        assert_eq!(parse_timestamp("garbage"), None);
        assert_eq!(parse_timestamp("1 Jul 2003"), None);
        assert_eq!(parse_timestamp("1 Jul 2003 25:00:00 +0000"), None);
        assert_eq!(parse_timestamp("1 Jul 2003 10:60:00 +0000"), None);
        assert_eq!(parse_timestamp("1 Jul 2003 10:00:00:00 +0000"), None);
        assert_eq!(parse_timestamp("1 Jul 2003 10:00:00 +02"), None);
        assert_eq!(parse_timestamp("1 Jul 2003 10:00:00 +2400"), None);
        assert_eq!(parse_timestamp("1 Jul 2003 10:00:00 -2399"), None);
        assert!(parse_timestamp("1 Jul 2003 10:00:00 +2359").is_some());
    }
}
