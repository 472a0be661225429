//! Business hours: when the team answers, in the team's time zone. Rules test them ("outside
//! business hours") and the away message says when the team is back.

use super::model::{parse_time, Weekday};
use crate::domain::{Invalid, Millis};
use jiff::{civil::Date, tz::TimeZone, Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BusinessHours {
    /// Off: the team counts as always in (and scheduled rules still use the time zone).
    pub enabled: bool,
    /// An IANA name such as `Europe/Berlin`.
    pub timezone: String,
    /// Opening intervals; a day may have several, a day with none is closed.
    pub hours: Vec<Opening>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    pub day: Weekday,
    /// `HH:MM`, before `close`.
    pub open: String,
    pub close: String,
}

impl Default for BusinessHours {
    fn default() -> Self {
        let weekday = |day| Opening { day, open: "09:00".into(), close: "17:00".into() };
        BusinessHours {
            enabled: false,
            timezone: "UTC".into(),
            hours: Weekday::ALL[..5].iter().map(|d| weekday(*d)).collect(),
        }
    }
}

fn invalid(message: String) -> Invalid {
    Invalid::new("invalid_business_hours", message)
}

/// The time zone of a name, UTC when the name is unknown (validation refuses those).
pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

pub fn zoned(at: Millis, tz: &TimeZone) -> ZonedDateTime {
    Timestamp::from_millisecond(at).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned_datetime(tz.clone())
}

fn weekday(date: Date) -> Weekday {
    Weekday::ALL[date.weekday().to_monday_zero_offset() as usize]
}

/// The instant a local date and `HH:MM` name in a time zone.
pub fn instant(date: Date, minutes: u32, tz: &TimeZone) -> Option<Millis> {
    let z = date.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0).to_zoned_datetime(tz.clone()).ok()?;
    Some(z.timestamp().as_millisecond())
}

impl BusinessHours {
    pub fn validate(&self) -> Result<(), Invalid> {
        if TimeZone::get(&self.timezone).is_err() {
            return Err(invalid(format!("unknown time zone {:?}; use a name like Europe/Berlin", self.timezone)));
        }
        if self.hours.len() > 50 {
            return Err(invalid("at most 50 intervals".into()));
        }
        for (i, o) in self.hours.iter().enumerate() {
            match (parse_time(&o.open), parse_time(&o.close)) {
                (Some(open), Some(close)) if open < close => {}
                (Some(_), Some(_)) => {
                    return Err(invalid(format!("hours[{i}]: opens at {} but closes before", o.open)))
                }
                _ => return Err(invalid(format!("hours[{i}]: times look like 09:00"))),
            }
        }
        Ok(())
    }

    /// (open, close) minutes of a day's intervals, earliest first.
    fn intervals(&self, day: Weekday) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = self
            .hours
            .iter()
            .filter(|o| o.day == day)
            .filter_map(|o| Some((parse_time(&o.open)?, parse_time(&o.close)?)))
            .collect();
        out.sort_unstable();
        out
    }

    pub fn inside(&self, at: Millis) -> bool {
        if !self.enabled {
            return true;
        }
        let now = zoned(at, &zone(&self.timezone));
        let minutes = now.hour() as u32 * 60 + now.minute() as u32;
        self.intervals(weekday(now.date())).iter().any(|(open, close)| (*open..*close).contains(&minutes))
    }

    /// When the team is next in, in words ("tomorrow at 09:00 (Europe/Berlin)"), from outside
    /// business hours; `None` when no day has hours.
    pub fn back_at(&self, at: Millis) -> Option<String> {
        let now = zoned(at, &zone(&self.timezone));
        let minutes = now.hour() as u32 * 60 + now.minute() as u32;
        for ahead in 0..8i64 {
            let date = now.date().checked_add(jiff::Span::new().days(ahead)).ok()?;
            let next = self.intervals(weekday(date)).into_iter().find(|(open, _)| ahead > 0 || *open > minutes);
            if let Some((open, _)) = next {
                let when = match ahead {
                    0 => "today".to_owned(),
                    1 => "tomorrow".to_owned(),
                    _ => format!("on {}", date.strftime("%A")),
                };
                return Some(format!("{when} at {:02}:{:02} ({})", open / 60, open % 60, self.timezone));
            }
        }
        None
    }
}

/// The latest time at or before `at` when a schedule of `days` at `minutes` came round.
pub fn last_slot(days: &[Weekday], minutes: u32, tz: &TimeZone, at: Millis) -> Option<Millis> {
    let today = zoned(at, tz).date();
    (0..8i64).find_map(|back| {
        let date = today.checked_sub(jiff::Span::new().days(back)).ok()?;
        let slot = instant(date, minutes, tz)?;
        (days.contains(&weekday(date)) && slot <= at).then_some(slot)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23 is a Monday.
    fn at(date: &str, time: &str, tz: &str) -> Millis {
        let date: Date = date.parse().unwrap();
        instant(date, parse_time(time).unwrap(), &zone(tz)).unwrap()
    }

    fn berlin() -> BusinessHours {
        BusinessHours { enabled: true, timezone: "Europe/Berlin".into(), ..BusinessHours::default() }
    }

    #[test]
    fn inside_and_outside_follow_the_team_time_zone() {
        let hours = berlin();
        assert!(hours.inside(at("2026-11-23", "09:00", "Europe/Berlin")));
        assert!(!hours.inside(at("2026-11-23", "17:00", "Europe/Berlin")));
        // 08:30 UTC is 09:30 in Berlin in November.
        assert!(hours.inside(at("2026-11-23", "08:30", "UTC")));
        assert!(!hours.inside(at("2026-11-28", "12:00", "Europe/Berlin")), "Saturday");
        assert!(BusinessHours::default().inside(at("2026-11-28", "03:00", "UTC")), "off means always in");
    }

    #[test]
    fn the_away_message_says_when_the_team_is_back() {
        let hours = berlin();
        let back = |d, t| hours.back_at(at(d, t, "Europe/Berlin")).unwrap();
        assert_eq!(back("2026-11-23", "07:00"), "today at 09:00 (Europe/Berlin)");
        assert_eq!(back("2026-11-23", "18:00"), "tomorrow at 09:00 (Europe/Berlin)");
        assert_eq!(back("2026-11-27", "18:00"), "on Monday at 09:00 (Europe/Berlin)");
        let closed = BusinessHours { hours: Vec::new(), ..berlin() };
        assert_eq!(closed.back_at(0), None);
    }

    #[test]
    fn schedules_come_round_on_their_days() {
        let tz = zone("Europe/Berlin");
        let mon = [Weekday::Mon];
        let slot = last_slot(&mon, 9 * 60, &tz, at("2026-11-25", "12:00", "Europe/Berlin"));
        assert_eq!(slot, Some(at("2026-11-23", "09:00", "Europe/Berlin")));
        let slot = last_slot(&mon, 9 * 60, &tz, at("2026-11-23", "08:59", "Europe/Berlin"));
        assert_eq!(slot, Some(at("2026-11-16", "09:00", "Europe/Berlin")));
    }

    #[test]
    fn invalid_hours_are_refused() {
        let bad_zone = BusinessHours { timezone: "Mars/Olympus".into(), ..berlin() };
        assert!(bad_zone.validate().unwrap_err().message.contains("unknown time zone"));
        let backwards = BusinessHours {
            hours: vec![Opening { day: Weekday::Mon, open: "17:00".into(), close: "09:00".into() }],
            ..berlin()
        };
        assert!(backwards.validate().is_err());
        assert!(berlin().validate().is_ok());
    }
}
