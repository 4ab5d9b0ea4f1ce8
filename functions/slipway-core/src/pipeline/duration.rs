//! Durations written in pipeline files: `90s`, `20m`, `1h`, `1h30m`.

/// Parses a duration into milliseconds.
pub fn parse_ms(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit_ms: u64 = match c {
            'h' => 3_600_000,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            'm' => 60_000,
            's' => 1_000,
            _ => return Err(format!("{text:?}: unknown unit {c:?} (use h, m, s or ms)")),
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("{text:?}: a number must come before each unit"))?;
        total = total.saturating_add(n.saturating_mul(unit_ms));
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!(
            "{text:?}: missing unit after {number} (e.g. {number}m)"
        ));
    }
    Ok(total)
}

/// Writes milliseconds the way [`parse_ms`] reads them: `1h30m`, `90s`,
/// `250ms`; `0s` for zero.
pub fn format_ms(ms: u64) -> String {
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        let n = rest / size;
        rest %= size;
        if n > 0 {
            out += &format!("{n}{unit}");
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{format_ms, parse_ms};

    #[test]
    fn formatting_reads_back() {
        for ms in [0, 250, 90_000, 1_200_000, 5_400_000, 3_601_001] {
            assert_eq!(parse_ms(&format_ms(ms)), Ok(ms), "{}", format_ms(ms));
        }
        assert_eq!(format_ms(5_400_000), "1h30m");
    }

    #[test]
    fn units() {
        assert_eq!(parse_ms("90s"), Ok(90_000));
        assert_eq!(parse_ms("20m"), Ok(1_200_000));
        assert_eq!(parse_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_ms("250ms"), Ok(250));
        assert!(parse_ms("20").is_err());
        assert!(parse_ms("2d").is_err());
        assert!(parse_ms("").is_err());
    }
}
