//! `allowed_outbound_hosts` as Spin enforces it: `scheme://host[:port]`
//! with `*` for the scheme, the port, the whole host or its leading labels.

/// Why an allow-list entry is invalid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("allowed_outbound_hosts entry {entry:?}: {reason}")]
pub struct BadEntry {
    /// The entry as written (after templates were rendered).
    pub entry: String,
    /// What is wrong with it.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.example.com`, stored as `.example.com`: any name ending in it.
    Subdomains(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    /// The scheme's default port (80 for http, 443 for https).
    Default,
    Exact(u16),
    Range(u16, u16),
}

/// One parsed allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

/// A component's parsed allow-list.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    entries: Vec<AllowedHost>,
    allow_self: bool,
}

impl AllowedHosts {
    /// Parses rendered allow-list entries.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, BadEntry> {
        let mut out = AllowedHosts::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry == "self" || entry == "http://self" || entry == "https://self" {
                out.allow_self = true;
                continue;
            }
            out.entries.push(parse_entry(entry)?);
        }
        Ok(out)
    }

    /// Whether requests without a host (to this app itself) are allowed.
    pub fn allows_self(&self) -> bool {
        self.allow_self
    }

    /// Whether a request to `scheme://host:port` is allowed.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = port.or_else(|| default_port(scheme));
        self.entries.iter().any(|e| {
            let scheme_ok = e.scheme.as_deref().is_none_or(|s| s == scheme);
            let host_ok = match &e.host {
                HostPattern::Any => true,
                HostPattern::Exact(h) => *h == host,
                HostPattern::Subdomains(suffix) => host
                    .strip_suffix(suffix.as_str())
                    .is_some_and(|prefix| !prefix.is_empty()),
            };
            let port_ok = match (&e.port, port) {
                (PortPattern::Any, _) => true,
                (PortPattern::Default, Some(p)) => Some(p) == default_port(scheme),
                (PortPattern::Exact(want), Some(p)) => *want == p,
                (PortPattern::Range(lo, hi), Some(p)) => (*lo..=*hi).contains(&p),
                (_, None) => false,
            };
            scheme_ok && host_ok && port_ok
        })
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn parse_entry(entry: &str) -> Result<AllowedHost, BadEntry> {
    let bad = |reason: &str| BadEntry {
        entry: entry.to_owned(),
        reason: reason.to_owned(),
    };
    let (scheme, rest) = entry
        .split_once("://")
        .ok_or_else(|| bad("must be scheme://host[:port]"))?;
    if scheme.is_empty() {
        return Err(bad("missing scheme"));
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') {
        return Err(bad("paths are not allowed, only scheme://host[:port]"));
    }
    let (host, port) = split_host_port(rest).ok_or_else(|| bad("malformed host or port"))?;
    let host = match host {
        "" => return Err(bad("missing host")),
        "*" => HostPattern::Any,
        h if h.starts_with("*.") => HostPattern::Subdomains(h[1..].to_ascii_lowercase()),
        h if h.contains('*') => {
            return Err(bad(
                "`*` may only stand for the whole host or leading labels",
            ));
        }
        h => HostPattern::Exact(
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase(),
        ),
    };
    let port = match port {
        None if scheme == "*" || default_port(scheme).is_none() => {
            return Err(bad("a port is required unless the scheme is http or https"));
        }
        None => PortPattern::Default,
        Some("*") => PortPattern::Any,
        Some(p) => match p.split_once("..") {
            Some((lo, hi)) => {
                let lo = lo.parse().map_err(|_| bad("bad port range"))?;
                let hi = hi.parse().map_err(|_| bad("bad port range"))?;
                PortPattern::Range(lo, hi)
            }
            None => PortPattern::Exact(p.parse().map_err(|_| bad("bad port"))?),
        },
    };
    Ok(AllowedHost {
        scheme: (scheme != "*").then(|| scheme.to_ascii_lowercase()),
        host,
        port,
    })
}

fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &s[..end + 2];
        let after = &rest[end + 1..];
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h, Some(p))),
        None => Some((s, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(entries).unwrap()
    }

    #[test]
    fn exact_host_uses_default_port() {
        let a = allowed(&["https://api.github.com"]);
        assert!(a.allows("https", "api.github.com", None));
        assert!(a.allows("https", "api.github.com", Some(443)));
        assert!(!a.allows("https", "api.github.com", Some(8443)));
        assert!(!a.allows("http", "api.github.com", None));
        assert!(!a.allows("https", "evil.com", None));
    }

    #[test]
    fn wildcards() {
        let a = allowed(&["*://*.example.com:*", "http://127.0.0.1:8000..8010"]);
        assert!(a.allows("https", "a.example.com", Some(1)));
        assert!(a.allows("http", "a.b.example.com", None));
        assert!(!a.allows("http", "example.com", None));
        assert!(!a.allows("http", "badexample.com", None));
        assert!(a.allows("http", "127.0.0.1", Some(8005)));
        assert!(!a.allows("http", "127.0.0.1", Some(8011)));
    }

    #[test]
    fn rejects_malformed_entries() {
        assert!(AllowedHosts::parse(&["api.github.com"]).is_err());
        assert!(AllowedHosts::parse(&["https://a.com/path"]).is_err());
        assert!(AllowedHosts::parse(&["*://a.com"]).is_err());
        assert!(AllowedHosts::parse(&["https://a*.com"]).is_err());
    }

    #[test]
    fn service_chaining_entries() {
        let a = allowed(&["http://*.spin.internal", "self"]);
        assert!(a.allows("http", "health.spin.internal", None));
        assert!(a.allows_self());
    }
}
