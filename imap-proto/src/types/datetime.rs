//! Dates and times as IMAP writes them.

use std::fmt;

use super::InvalidInput;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The month number (1–12) of a three-letter English month name, case-insensitively.
pub(crate) fn month_number(name: &[u8]) -> Option<u8> {
    MONTHS
        .iter()
        .position(|m| m.as_bytes().eq_ignore_ascii_case(name))
        .and_then(|i| u8::try_from(i + 1).ok())
}

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

/// `date-text = date-day "-" date-month "-" date-year` (SEARCH dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// A valid calendar date.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, InvalidInput> {
        if (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && year <= 9999
        {
            Ok(Self { year, month, day })
        } else {
            Err(InvalidInput::new("date", "a calendar date"))
        }
    }

    /// Year.
    pub fn year(self) -> u16 {
        self.year
    }
    /// Month, 1–12.
    pub fn month(self) -> u8 {
        self.month
    }
    /// Day, 1–31.
    pub fn day(self) -> u8 {
        self.day
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:04}",
            self.day,
            MONTHS[usize::from(self.month - 1)],
            self.year
        )
    }
}

/// `date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    /// Offset from UTC in minutes.
    zone: i16,
}

impl DateTime {
    /// A valid date and time with a zone offset in minutes (−1439..=1439).
    pub fn new(
        date: Date,
        hour: u8,
        minute: u8,
        second: u8,
        zone: i16,
    ) -> Result<Self, InvalidInput> {
        if hour < 24 && minute < 60 && second < 61 && zone.abs() < 24 * 60 {
            Ok(Self {
                date,
                hour,
                minute,
                second,
                zone,
            })
        } else {
            Err(InvalidInput::new("date-time", "a time of day and a zone"))
        }
    }

    /// The date.
    pub fn date(self) -> Date {
        self.date
    }
    /// Hours, minutes, seconds.
    pub fn time(self) -> (u8, u8, u8) {
        (self.hour, self.minute, self.second)
    }
    /// Offset from UTC in minutes.
    pub fn zone_minutes(self) -> i16 {
        self.zone
    }

    /// Seconds since the Unix epoch.
    pub fn unix_timestamp(self) -> i64 {
        let (y, m, d) = (
            i64::from(self.date.year),
            i64::from(self.date.month),
            i64::from(self.date.day),
        );
        days_from_civil(y, m, d) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.zone) * 60
    }

    /// The UTC date and time of a Unix timestamp.
    #[allow(clippy::many_single_char_names)] // the names of the published algorithm
    pub fn from_unix_timestamp(secs: i64) -> Option<Self> {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        let date = Date::new(
            u16::try_from(y).ok()?,
            u8::try_from(m).ok()?,
            u8::try_from(d).ok()?,
        )
        .ok()?;
        let t = |v: i64| u8::try_from(v).ok();
        Self::new(date, t(rem / 3600)?, t(rem / 60 % 60)?, t(rem % 60)?, 0).ok()
    }
}

impl fmt::Display for DateTime {
    /// Without the quotes: `17-Jul-2025 02:44:25 -0700`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.zone < 0 { '-' } else { '+' };
        let z = self.zone.unsigned_abs();
        write!(
            f,
            "{:02}-{}-{:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            self.date.day,
            MONTHS[usize::from(self.date.month - 1)],
            self.date.year,
            self.hour,
            self.minute,
            self.second,
            z / 60,
            z % 60
        )
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Years counted from March, so that February's leap day ends the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_round_trip() {
        let dt = DateTime::new(Date::new(2025, 7, 17).unwrap(), 2, 44, 25, -420).unwrap();
        assert_eq!(dt.unix_timestamp(), 1_752_745_465);
        let utc = DateTime::from_unix_timestamp(1_752_745_465).unwrap();
        assert_eq!(utc.to_string(), "17-Jul-2025 09:44:25 +0000");
        assert!(Date::new(2025, 2, 29).is_err());
        assert!(Date::new(2024, 2, 29).is_ok());
    }
}
