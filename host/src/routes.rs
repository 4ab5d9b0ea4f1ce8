//! Spin's HTTP route matching: exact routes, `/...` wildcards and `:name`
//! segments, with the most specific route winning.

use std::collections::BTreeMap;

/// One segment of a route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A parsed route pattern.
#[derive(Debug, Clone)]
pub struct RoutePattern {
    /// The route as written in the manifest, without the base.
    pub raw: String,
    /// The route with the application base applied.
    pub full: String,
    segments: Vec<Segment>,
    wildcard: bool,
}

/// A successful match of a path against a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// Index of the matched entry in the table.
    pub index: usize,
    /// The component that serves it.
    pub component: String,
    /// Route with base (`spin-matched-route`).
    pub matched_route: String,
    /// Route as written (`spin-raw-component-route`).
    pub raw_route: String,
    /// Raw route without a trailing `/...` (`spin-component-route`).
    pub component_route: String,
    /// The part of the path matched by `...` (`spin-path-info`).
    pub path_info: String,
    /// Values of `:name` segments.
    pub params: BTreeMap<String, String>,
}

impl RoutePattern {
    /// Parses `raw` with the application `base` prefixed.
    pub fn parse(base: &str, raw: &str) -> Self {
        let base = base.trim_end_matches('/');
        let full = format!("{base}{raw}");
        let (body, wildcard) = if let Some(prefix) = full.strip_suffix("/...") {
            (prefix.to_owned(), true)
        } else if let Some(prefix) = full.strip_suffix("/*") {
            (prefix.to_owned(), true)
        } else {
            (full.clone(), false)
        };
        let segments = body
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix(':') {
                Some(name) => Segment::Param(name.to_owned()),
                None => Segment::Literal(s.to_owned()),
            })
            .collect();
        RoutePattern {
            raw: raw.to_owned(),
            full,
            segments,
            wildcard,
        }
    }

    /// Matches `path`, returning the path info and parameters.
    fn matches(&self, path: &str) -> Option<(String, BTreeMap<String, String>)> {
        let mut rest = path;
        let mut params = BTreeMap::new();
        for segment in &self.segments {
            let trimmed = rest.strip_prefix('/')?;
            let end = trimmed.find('/').unwrap_or(trimmed.len());
            let (value, tail) = trimmed.split_at(end);
            if value.is_empty() {
                return None;
            }
            match segment {
                Segment::Literal(l) if l == value => {}
                Segment::Literal(_) => return None,
                Segment::Param(name) => {
                    params.insert(name.clone(), value.to_owned());
                }
            }
            rest = tail;
        }
        if self.wildcard {
            Some((rest.to_owned(), params))
        } else if rest.is_empty() || (rest == "/" && self.segments.is_empty()) {
            Some((String::new(), params))
        } else {
            None
        }
    }

    /// Ordering key: literal segments beat parameters, which beat a
    /// wildcard; an exact end beats a wildcard end.
    fn specificity(&self) -> Vec<u8> {
        let mut key: Vec<u8> = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(_) => 3,
                Segment::Param(_) => 2,
            })
            .collect();
        key.push(if self.wildcard { 0 } else { 1 });
        key
    }
}

/// The routes of an application.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    entries: Vec<(RoutePattern, String)>,
}

impl RouteTable {
    /// Builds the table; a later duplicate of a route replaces the earlier
    /// one, as in Spin. Returns the table and warnings about duplicates.
    pub fn new<'a>(
        base: &str,
        routes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (Self, Vec<String>) {
        let mut entries: Vec<(RoutePattern, String)> = Vec::new();
        let mut warnings = Vec::new();
        for (raw, component) in routes {
            let pattern = RoutePattern::parse(base, raw);
            if let Some(existing) = entries.iter_mut().find(|(p, _)| p.full == pattern.full) {
                warnings.push(format!(
                    "route {} is declared twice; component {component:?} replaces {:?}",
                    pattern.full, existing.1
                ));
                *existing = (pattern, component.to_owned());
            } else {
                entries.push((pattern, component.to_owned()));
            }
        }
        (RouteTable { entries }, warnings)
    }

    /// The routes with their components, in declaration order.
    pub fn entries(&self) -> impl Iterator<Item = (&RoutePattern, &str)> {
        self.entries.iter().map(|(p, c)| (p, c.as_str()))
    }

    /// Finds the most specific route for `path`.
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        self.best(path, |_| true)
    }

    /// Finds the most specific route of `component` for `path`, falling back
    /// to its first route (used for service chaining).
    pub fn route_for_component(&self, component: &str, path: &str) -> Option<RouteMatch> {
        self.best(path, |c| c == component).or_else(|| {
            let (index, (pattern, c)) = self
                .entries
                .iter()
                .enumerate()
                .find(|(_, (_, c))| c == component)?;
            Some(make_match(
                index,
                pattern,
                c,
                path.to_owned(),
                BTreeMap::new(),
            ))
        })
    }

    fn best(&self, path: &str, wanted: impl Fn(&str) -> bool) -> Option<RouteMatch> {
        let mut best: Option<(Vec<u8>, RouteMatch)> = None;
        for (index, (pattern, component)) in self.entries.iter().enumerate() {
            if !wanted(component) {
                continue;
            }
            let Some((info, params)) = pattern.matches(path) else {
                continue;
            };
            let key = pattern.specificity();
            if best.as_ref().is_none_or(|(k, _)| key > *k) {
                best = Some((key, make_match(index, pattern, component, info, params)));
            }
        }
        best.map(|(_, m)| m)
    }
}

fn make_match(
    index: usize,
    pattern: &RoutePattern,
    component: &str,
    path_info: String,
    params: BTreeMap<String, String>,
) -> RouteMatch {
    let component_route = pattern
        .raw
        .strip_suffix("/...")
        .or_else(|| pattern.raw.strip_suffix("/*"))
        .unwrap_or(&pattern.raw)
        .to_owned();
    RouteMatch {
        index,
        component: component.to_owned(),
        matched_route: pattern.full.clone(),
        raw_route: pattern.raw.clone(),
        component_route,
        path_info,
        params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::new(
            "/",
            [
                ("/...", "catchall"),
                ("/api/...", "api"),
                ("/api/health", "health"),
                ("/api/users/:id", "user"),
                ("/api/users/:id/...", "user-sub"),
                ("/api/users/me", "me"),
            ],
        )
        .0
    }

    fn component(path: &str) -> String {
        table().route(path).unwrap().component
    }

    #[test]
    fn exact_beats_wildcard_and_params() {
        assert_eq!(component("/api/health"), "health");
        assert_eq!(component("/api/users/me"), "me");
        assert_eq!(component("/api/users/42"), "user");
        assert_eq!(component("/api/users/42/keys"), "user-sub");
        assert_eq!(component("/api/other/x"), "api");
        assert_eq!(component("/api"), "api");
        assert_eq!(component("/elsewhere"), "catchall");
        assert_eq!(component("/"), "catchall");
    }

    #[test]
    fn prefix_must_end_at_a_segment() {
        let (t, _) = RouteTable::new("/", [("/api/...", "api")]);
        assert!(t.route("/apix").is_none());
        assert_eq!(t.route("/api/").unwrap().path_info, "/");
    }

    #[test]
    fn match_carries_spin_header_values() {
        let (t, _) = RouteTable::new("/base", [("/foo/:userid/...", "c")]);
        let m = t.route("/base/foo/42/bar").unwrap();
        assert_eq!(m.matched_route, "/base/foo/:userid/...");
        assert_eq!(m.raw_route, "/foo/:userid/...");
        assert_eq!(m.component_route, "/foo/:userid");
        assert_eq!(m.path_info, "/bar");
        assert_eq!(m.params["userid"], "42");
        assert!(t.route("/foo/42/bar").is_none());
    }

    #[test]
    fn duplicate_route_last_wins() {
        let (t, warnings) = RouteTable::new("/", [("/a", "first"), ("/a", "second")]);
        assert_eq!(t.route("/a").unwrap().component, "second");
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn earlier_literal_beats_earlier_param() {
        let (t, _) = RouteTable::new("/", [("/:a/b", "param-first"), ("/a/:b", "literal-first")]);
        assert_eq!(t.route("/a/b").unwrap().component, "literal-first");
    }
}
