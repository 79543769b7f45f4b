//! Civil dates and the duration conventions of decision rules §0.1.
//!
//! Days are calendar-day differences; months are *completed* calendar months (the largest n with
//! `from + n months ≤ to`, a day past a month's end clamped: 31 Jan + 1 month = 28/29 Feb).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A calendar date, `YYYY-MM-DD` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(jiff::civil::Date);

impl Date {
    /// A date from its parts; `None` when the parts do not name a real day.
    pub fn new(year: i16, month: i8, day: i8) -> Option<Date> {
        jiff::civil::Date::new(year, month, day).ok().map(Date)
    }

    /// Parses `YYYY-MM-DD` exactly.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i16>().ok();
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        Date::new(y, i8::try_from(m).ok()?, i8::try_from(d).ok()?)
    }

    pub fn year(self) -> i16 {
        self.0.year()
    }

    pub fn month(self) -> i8 {
        self.0.month()
    }

    pub fn day(self) -> i8 {
        self.0.day()
    }

    /// Calendar days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        day_number(later) - day_number(self)
    }

    /// `self` plus `days` (may be negative); saturates at the ends of the supported range.
    pub fn add_days(self, days: i64) -> Date {
        let span = jiff::Span::new().days(days.clamp(-3_000_000, 3_000_000));
        Date(self.0.saturating_add(span))
    }

    /// `self` plus `n` calendar months, the day clamped to the month's end (rule 0.1).
    pub fn add_months(self, n: i32) -> Date {
        let total = i32::from(self.year()) * 12 + i32::from(self.month()) - 1 + n;
        let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
        let (Ok(y), Ok(m)) = (i16::try_from(y), i8::try_from(m)) else {
            return self;
        };
        let Ok(first) = jiff::civil::Date::new(y, m, 1) else {
            return self;
        };
        let day = self.day().min(first.days_in_month());
        jiff::civil::Date::new(y, m, day).map_or(self, Date)
    }

    /// Completed calendar months from `self` to `later` (0 when `later` is earlier), rule 0.1.
    pub fn months_until(self, later: Date) -> i32 {
        if later <= self {
            return 0;
        }
        let mut n = (i32::from(later.year()) - i32::from(self.year())) * 12
            + i32::from(later.month())
            - i32::from(self.month());
        while n > 0 && self.add_months(n) > later {
            n -= 1;
        }
        n
    }
}

/// Days since 1970-01-01 (proleptic Gregorian), H. Hinnant's `days_from_civil`.
fn day_number(d: Date) -> i64 {
    let (mut y, m, d) = (
        i64::from(d.year()),
        i64::from(d.month()),
        i64::from(d.day()),
    );
    if m <= 2 {
        y -= 1;
    }
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year(),
            self.month(),
            self.day()
        )
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        Date::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{s:?} is not a date: expected YYYY-MM-DD (a real calendar day)"
            ))
        })
    }
}

impl JsonSchema for Date {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "description": "Calendar date, YYYY-MM-DD"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap_or_else(|| panic!("bad test date {s}"))
    }

    #[test]
    fn parses_only_real_days() {
        assert!(Date::parse("2026-02-29").is_none());
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2026-13-01").is_none());
        assert!(Date::parse("2026-1-01").is_none());
        assert_eq!(d("2026-11-24").to_string(), "2026-11-24");
    }

    #[test]
    fn month_end_is_clamped() {
        assert_eq!(d("2026-01-31").add_months(1), d("2026-02-28"));
        assert_eq!(d("2024-01-31").add_months(1), d("2024-02-29"));
        assert_eq!(d("2026-07-10").add_months(6), d("2027-01-10"));
        assert_eq!(d("2026-03-31").add_months(-1), d("2026-02-28"));
    }

    #[test]
    fn completed_months() {
        assert_eq!(d("2024-10-20").months_until(d("2026-11-24")), 25);
        assert_eq!(d("2026-01-31").months_until(d("2026-02-28")), 1);
        assert_eq!(d("2026-01-31").months_until(d("2026-02-27")), 0);
        assert_eq!(d("2026-05-24").months_until(d("2026-11-23")), 5);
        assert_eq!(d("2026-05-24").months_until(d("2026-11-24")), 6);
        assert_eq!(d("2026-11-24").months_until(d("2026-01-01")), 0);
    }

    #[test]
    fn days() {
        assert_eq!(d("2026-03-20").days_until(d("2026-11-24")), 249);
        assert_eq!(d("2024-02-28").days_until(d("2024-03-01")), 2);
        assert_eq!(d("2026-11-24").add_days(-42), d("2026-10-13"));
    }
}
