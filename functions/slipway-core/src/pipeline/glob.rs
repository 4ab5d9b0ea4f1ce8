//! Glob patterns for branches, tags and paths: `*` matches within one path
//! segment, `**` across segments, `?` one character.

/// Whether `text` matches `pattern`.
pub fn matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    match_from(&p, &t)
}

fn match_from(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => {
            // `**/` may also match nothing at all ("a/**/b" matches "a/b").
            let rest = &p[2..];
            if let Some(after_slash) = rest.strip_prefix(&['/'])
                && match_from(after_slash, t)
            {
                return true;
            }
            (0..=t.len()).any(|i| match_from(rest, &t[i..]))
        }
        Some('*') => {
            let rest = &p[1..];
            for i in 0..=t.len() {
                if match_from(rest, &t[i..]) {
                    return true;
                }
                if t.get(i) == Some(&'/') {
                    break;
                }
            }
            false
        }
        Some('?') => t.first().is_some_and(|c| *c != '/') && match_from(&p[1..], &t[1..]),
        Some(c) => t.first() == Some(c) && match_from(&p[1..], &t[1..]),
    }
}

/// Whether `text` matches any of `patterns`.
pub fn any_matches(patterns: &[String], text: &str) -> bool {
    patterns.iter().any(|p| matches(p, text))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn single_star_stays_in_a_segment() {
        assert!(matches("release/*", "release/1.2"));
        assert!(!matches("release/*", "release/1.2/hotfix"));
        assert!(matches("v*", "v1.2.0"));
        assert!(!matches("v*", "1.2.0"));
        assert!(matches("*", "main"));
        assert!(!matches("*", "feature/x"));
    }

    #[test]
    fn double_star_crosses_segments() {
        assert!(matches("**", "feature/a/b"));
        assert!(matches("src/**", "src/a/b.rs"));
        assert!(matches("src/**/*.rs", "src/main.rs"));
        assert!(matches("src/**/*.rs", "src/a/b/c.rs"));
        assert!(!matches("src/**/*.rs", "docs/a.rs"));
        assert!(matches("**/Dockerfile", "Dockerfile"));
    }

    #[test]
    fn question_mark_and_literals() {
        assert!(matches("v?.x", "v1.x"));
        assert!(!matches("v?.x", "v10.x"));
        assert!(matches("main", "main"));
        assert!(!matches("main", "mainline"));
    }
}
