//! Freeze windows: times during which an environment takes no new
//! deployment unless an admin overrides with a reason. A window either
//! recurs (a five-field cron expression for its start, and a duration) or
//! is one range of dates.
//!
//! ```toml
//! [[access.environments.production.freeze]]
//! name = "weekend"
//! start = "0 18 * * 5"        # minute hour day-of-month month day-of-week
//! duration = "62h"            # Friday 18:00 to Monday 08:00
//! utc_offset = "+08:00"       # the cron fields' time zone (default UTC)
//! reason = "no deploys over the weekend"
//!
//! [[access.environments.production.freeze]]
//! name = "peak"
//! from = "2026-11-27T00:00:00Z"
//! until = "2026-11-30T00:00:00Z"
//! reason = "Black Friday traffic"
//! ```

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Longest recurring window: bounds the search for its last start.
const MAX_RECURRING_MS: u64 = 7 * 24 * 60 * 60 * 1000;
const MINUTE_MS: u64 = 60_000;

/// `[[access.environments.<env>.freeze]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreezeWindow {
    /// Its name, quoted in refusals.
    pub name: String,
    /// Why, quoted in refusals.
    pub reason: String,
    /// Cron expression of each start (recurring windows).
    #[serde(default)]
    pub start: Option<String>,
    /// How long each recurrence lasts.
    #[serde(default)]
    pub duration: Option<String>,
    /// Time zone of `start`, `+HH:MM` or `-HH:MM` (default UTC).
    #[serde(default)]
    pub utc_offset: Option<String>,
    /// Start of a one-off window (RFC 3339).
    #[serde(default)]
    pub from: Option<String>,
    /// End of a one-off window (RFC 3339, exclusive).
    #[serde(default)]
    pub until: Option<String>,
}

/// When a window applies, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Schedule {
    Recurring {
        cron: Cron,
        duration_ms: u64,
        offset: UtcOffset,
    },
    Once {
        from_ms: u64,
        until_ms: u64,
    },
}

impl FreezeWindow {
    /// Checks the window; the error names the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        self.schedule().map(|_| ())
    }

    /// Whether the environment is frozen by this window at `now_ms`; if so,
    /// until when (for a recurring window, the end of this recurrence).
    pub fn active_at(&self, now_ms: u64) -> Option<u64> {
        match self.schedule().ok()? {
            Schedule::Once { from_ms, until_ms } => {
                (from_ms <= now_ms && now_ms < until_ms).then_some(until_ms)
            }
            Schedule::Recurring {
                cron,
                duration_ms,
                offset,
            } => {
                // The latest start within one duration before now.
                let now_minute = now_ms - now_ms % MINUTE_MS;
                let earliest = now_ms.saturating_sub(duration_ms.saturating_sub(1));
                let mut minute = now_minute;
                while minute >= earliest {
                    if cron.matches(minute, offset) {
                        return Some(minute + duration_ms);
                    }
                    minute = minute.checked_sub(MINUTE_MS)?;
                }
                None
            }
        }
    }

    fn schedule(&self) -> Result<Schedule, String> {
        match (&self.start, &self.from) {
            (Some(start), None) if self.until.is_none() => {
                let cron = Cron::parse(start).map_err(|e| format!("start: {e}"))?;
                let duration = self.duration.as_deref().ok_or("start needs a duration")?;
                let duration_ms = crate::pipeline::duration::parse_ms(duration)
                    .map_err(|e| format!("duration: {e}"))?;
                if duration_ms == 0 || duration_ms > MAX_RECURRING_MS {
                    return Err("duration must be between 1m and 7d".into());
                }
                let offset = match &self.utc_offset {
                    Some(text) => parse_offset(text).map_err(|e| format!("utc_offset: {e}"))?,
                    None => UtcOffset::UTC,
                };
                Ok(Schedule::Recurring {
                    cron,
                    duration_ms,
                    offset,
                })
            }
            (None, Some(from)) if self.duration.is_none() && self.utc_offset.is_none() => {
                let until = self.until.as_deref().ok_or("from needs an until")?;
                let from_ms = parse_time(from).map_err(|e| format!("from: {e}"))?;
                let until_ms = parse_time(until).map_err(|e| format!("until: {e}"))?;
                if until_ms <= from_ms {
                    return Err("until must be after from".into());
                }
                Ok(Schedule::Once { from_ms, until_ms })
            }
            _ => Err("give either start and duration (recurring) or from and until (once)".into()),
        }
    }
}

fn parse_time(text: &str) -> Result<u64, String> {
    let at = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}"))?;
    let ms = at.unix_timestamp_nanos() / 1_000_000;
    u64::try_from(ms).map_err(|_| format!("{text:?} is before 1970"))
}

fn parse_offset(text: &str) -> Result<UtcOffset, String> {
    let bad = || format!("{text:?} is not +HH:MM or -HH:MM");
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1i8, &text[1..]),
        Some(b'-') => (-1i8, &text[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| bad())
}

/// A five-field cron expression: minute, hour, day of month, month, day
/// of week (0 or 7 = Sunday); each field `*`, a number, `a-b`, a list of
/// these, or any of them with `/step`. As in cron, when both day fields
/// are restricted a day matching either one matches.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cron {
    fields: [Vec<bool>; 5],
    any_day_of_month: bool,
    any_day_of_week: bool,
}

const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
];

impl Cron {
    fn parse(text: &str) -> Result<Cron, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(format!("{text:?} does not have five fields"));
        }
        let mut fields: [Vec<bool>; 5] = Default::default();
        for (i, (part, (name, lo, hi))) in parts.iter().zip(FIELDS).enumerate() {
            fields[i] = parse_field(part, lo, hi).map_err(|e| format!("{name}: {e}"))?;
        }
        // Sunday is both 0 and 7.
        if fields[4][7] {
            fields[4][0] = true;
        }
        Ok(Cron {
            fields,
            any_day_of_month: parts[2] == "*",
            any_day_of_week: parts[4] == "*",
        })
    }

    fn matches(&self, at_ms: u64, offset: UtcOffset) -> bool {
        let Ok(utc) = OffsetDateTime::from_unix_timestamp((at_ms / 1000) as i64) else {
            return false;
        };
        let t = utc.to_offset(offset);
        let on = |field: usize, value: u32| self.fields[field][value as usize];
        let month_day = on(2, u32::from(t.day()));
        let week_day = on(4, u32::from(t.weekday().number_days_from_sunday()));
        let day = match (self.any_day_of_month, self.any_day_of_week) {
            (false, false) => month_day || week_day,
            _ => month_day && week_day,
        };
        on(0, u32::from(t.minute()))
            && on(1, u32::from(t.hour()))
            && on(3, u8::from(t.month()).into())
            && day
    }
}

fn parse_field(text: &str, lo: u32, hi: u32) -> Result<Vec<bool>, String> {
    let mut set = vec![false; hi as usize + 1];
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .map_err(|_| format!("bad step in {item:?}"))?,
            ),
            None => (item, 1),
        };
        if step == 0 {
            return Err(format!("zero step in {item:?}"));
        }
        let number = |s: &str| {
            s.parse::<u32>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .ok_or_else(|| format!("{s:?} is not a number from {lo} to {hi}"))
        };
        let (start, end) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (number(a)?, number(b)?),
                None if step > 1 => (number(r)?, hi),
                None => (number(r)?, number(r)?),
            },
        };
        if start > end {
            return Err(format!("{item:?} runs backwards"));
        }
        for v in (start..=end).step_by(step as usize) {
            set[v as usize] = true;
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Friday 2026-11-27 18:00 UTC.
    const FRI_1800: u64 = 1_795_802_400_000;
    const HOUR: u64 = 3_600_000;

    fn weekend() -> FreezeWindow {
        FreezeWindow {
            name: "weekend".into(),
            reason: "rest".into(),
            start: Some("0 18 * * 5".into()),
            duration: Some("62h".into()),
            utc_offset: None,
            from: None,
            until: None,
        }
    }

    #[test]
    fn a_recurring_window_runs_from_each_start_for_its_duration() {
        let w = weekend();
        assert_eq!(parse_time("2026-11-27T18:00:00Z"), Ok(FRI_1800));
        assert_eq!(w.active_at(FRI_1800 - 1), None);
        assert_eq!(w.active_at(FRI_1800), Some(FRI_1800 + 62 * HOUR));
        assert_eq!(
            w.active_at(FRI_1800 + 40 * HOUR),
            Some(FRI_1800 + 62 * HOUR)
        );
        assert_eq!(w.active_at(FRI_1800 + 62 * HOUR), None);
        assert_eq!(
            w.active_at(FRI_1800 + 7 * 24 * HOUR),
            Some(FRI_1800 + (7 * 24 + 62) * HOUR)
        );
    }

    #[test]
    fn offsets_move_the_cron_fields_to_local_time() {
        let mut w = weekend();
        w.utc_offset = Some("+08:00".into());
        // 18:00 at +08:00 is 10:00 UTC.
        assert!(w.active_at(FRI_1800 - 8 * HOUR).is_some());
        assert!(w.active_at(FRI_1800 - 8 * HOUR - 1).is_none());
    }

    #[test]
    fn a_one_off_window_is_a_half_open_range() {
        let w = FreezeWindow {
            start: None,
            duration: None,
            from: Some("2026-11-27T18:00:00Z".into()),
            until: Some("2026-11-28T00:00:00+02:00".into()),
            ..weekend()
        };
        assert!(w.validate().is_ok());
        assert_eq!(w.active_at(FRI_1800), Some(FRI_1800 + 4 * HOUR));
        assert_eq!(w.active_at(FRI_1800 + 4 * HOUR), None);
        assert_eq!(w.active_at(FRI_1800 - 1), None);
    }

    #[test]
    fn cron_fields_take_lists_ranges_and_steps() {
        let c = Cron::parse("*/15 9-17 * * 1-5").unwrap();
        assert!(c.matches(FRI_1800 - 9 * HOUR + 15 * MINUTE_MS, UtcOffset::UTC));
        assert!(!c.matches(FRI_1800 - 9 * HOUR + 16 * MINUTE_MS, UtcOffset::UTC));
        assert!(!c.matches(FRI_1800, UtcOffset::UTC));
        let sunday = Cron::parse("0 0 * * 7").unwrap();
        assert!(sunday.matches(FRI_1800 + 30 * HOUR, UtcOffset::UTC));
        // Either day field matches when both are restricted: the 1st, or a Friday.
        let either = Cron::parse("0 18 1 * 5").unwrap();
        assert!(either.matches(FRI_1800, UtcOffset::UTC));
    }

    #[test]
    fn bad_windows_say_what_is_wrong() {
        let mut w = weekend();
        w.start = Some("0 25 * * *".into());
        assert!(w.validate().unwrap_err().contains("hour"));
        w.start = Some("0 18 * *".into());
        assert!(w.validate().unwrap_err().contains("five fields"));
        w.start = Some("0 18 * * 5".into());
        w.duration = None;
        assert!(w.validate().unwrap_err().contains("duration"));
        w.duration = Some("30d".into());
        assert!(w.validate().is_err());
        w.duration = Some("1h".into());
        w.from = Some("2026-01-01T00:00:00Z".into());
        assert!(w.validate().unwrap_err().contains("either"));
        let once = FreezeWindow {
            start: None,
            duration: None,
            from: Some("2026-11-28T00:00:00Z".into()),
            until: Some("2026-11-27T00:00:00Z".into()),
            ..weekend()
        };
        assert!(once.validate().unwrap_err().contains("after"));
        w.utc_offset = Some("8".into());
        w.from = None;
        assert!(w.validate().unwrap_err().contains("utc_offset"));
    }
}
