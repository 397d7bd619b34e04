//! RFC 5322 `Date:` values (§3.3, and the obsolete forms of §4.3: day names without their
//! comma, two- and three-digit years, zone names, comments): the calendar day SEARCH's SENT*
//! keys compare (RFC 3501 §6.4.4: time and zone ignored) and the instant SORT's DATE and THREAD
//! order by (RFC 5256 §2.2).
//!
//! ```text
//! date-time = [ day-of-week "," ] date time [CFWS]
//! date      = day month year
//! time      = hour ":" minute [ ":" second ] FWS zone
//! ```

use imap_proto::types::datetime::{Date, DateTime};

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

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

/// `[day-name] day month year` from `words`: the calendar date.
fn date<'a>(words: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>) -> Option<Date> {
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
    Date::new(year, u8::try_from(month + 1).ok()?, day).ok()
}

/// The calendar day of a `Date:` value, as written (its zone not applied).
pub(super) fn sent_day(value: &[u8]) -> Option<Date> {
    let text = clean(&String::from_utf8_lossy(value));
    date(&mut text.split_ascii_whitespace().peekable())
}

/// The offset east of UTC, in minutes, of a `zone` (RFC 5322 §3.3, with the obsolete names of
/// §4.3; unknown names, military ones included, count as UTC as §4.3 says).
fn zone_minutes(zone: &str) -> Option<i16> {
    let b = zone.as_bytes();
    if let [sign @ (b'+' | b'-'), digits @ ..] = b {
        if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n: i16 = zone[1..].parse().ok()?;
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

/// A whole `date-time` as seconds since the epoch, UTC.
pub(super) fn parse_date(value: &str) -> Option<i64> {
    let text = clean(value);
    let mut words = text.split_ascii_whitespace().peekable();
    let date = date(&mut words)?;
    let mut time = words.next()?.split(':');
    let hour: u8 = time.next()?.parse().ok()?;
    let minute: u8 = time.next()?.parse().ok()?;
    let second: u8 = match time.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    if time.next().is_some() {
        return None;
    }
    let zone = match words.next() {
        Some(z) => zone_minutes(z)?,
        None => 0,
    };
    DateTime::new(date, hour, minute, second, zone)
        .ok()
        .map(DateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_days() {
        let ymd = |d: Option<Date>| d.map(|d| (d.year(), d.month(), d.day()));
        assert_eq!(
            ymd(sent_day(b"Tue, 1 Jul 2003 10:52:37 +0200")),
            Some((2003, 7, 1))
        );
        assert_eq!(
            ymd(sent_day(b"21 Nov 97 09:55:06 GMT")),
            Some((1997, 11, 21))
        );
        assert_eq!(sent_day(b"garbage"), None);
    }

    #[test]
    fn dates_parse_to_utc() {
        let t = parse_date("Tue, 1 Jul 2003 10:52:37 +0200").unwrap();
        assert_eq!(t, parse_date("1 Jul 2003 08:52:37 +0000").unwrap());
        assert_eq!(t, 1_057_049_557);
        assert_eq!(parse_date("Thu, 1 Jan 1970 00:00:00 GMT"), Some(0));
        // Obsolete forms: two-digit year, zone name, comment, no seconds, spaced colons.
        assert_eq!(
            parse_date("21 Nov 97 09:55 EST (Eastern)"),
            parse_date("21 Nov 1997 14:55:00 +0000")
        );
        assert_eq!(
            parse_date("Fri, 21 Nov 1997 09 : 55 : 06 -0600"),
            parse_date("21 Nov 1997 15:55:06 +0000")
        );
        assert_eq!(parse_date("garbage"), None);
        assert_eq!(parse_date("1 Jul 2003"), None);
        assert_eq!(parse_date("1 Jul 2003 25:00:00 +0000"), None);
        assert_eq!(parse_date("1 Jul 2003 10:00:00 +02"), None);
    }
}
