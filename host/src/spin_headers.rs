//! The `spin-*` request headers Spin adds before a component sees a request.

use std::net::SocketAddr;

use http::{HeaderMap, HeaderName, HeaderValue, Uri};

use crate::routes::RouteMatch;

/// Adds Spin's headers for `route` to `headers`, and strips the ones Spin
/// strips (`connection`, and `host` for service-chaining requests).
pub fn apply(
    headers: &mut HeaderMap,
    uri: &Uri,
    base: &str,
    route: &RouteMatch,
    client: SocketAddr,
    chained: bool,
) {
    let full_url = full_url(uri, headers);
    headers.remove(http::header::CONNECTION);
    if chained {
        headers.remove(http::header::HOST);
    }
    let mut set = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(n, v);
        }
    };
    set("spin-full-url", &full_url);
    set("spin-path-info", &route.path_info);
    set("spin-matched-route", &route.matched_route);
    set("spin-base-path", base);
    set("spin-raw-component-route", &route.raw_route);
    set("spin-component-route", &route.component_route);
    set("spin-client-addr", &client.to_string());
    for (name, value) in &route.params {
        let header = format!(
            "spin-path-match-{}",
            name.to_ascii_lowercase().replace('_', "-")
        );
        set(&header, value);
    }
}

/// The request's full URL: scheme from the URI (default `http`), host from
/// the `Host` header (default `localhost`).
fn full_url(uri: &Uri, headers: &HeaderMap) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::RouteTable;

    #[test]
    fn reference_example() {
        let (table, _) = RouteTable::new("/", [("/foo/:userid/...", "c")]);
        let uri: Uri = "/foo/42/bar?key1=value1&key2=value2".parse().unwrap();
        let route = table.route(uri.path()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("fermyon.dev"));
        headers.insert("connection", HeaderValue::from_static("keep-alive"));
        apply(
            &mut headers,
            &uri,
            "/",
            &route,
            "127.0.0.1:8777".parse().unwrap(),
            false,
        );
        let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
        assert_eq!(
            h("spin-full-url"),
            "http://fermyon.dev/foo/42/bar?key1=value1&key2=value2"
        );
        assert_eq!(h("spin-path-info"), "/bar");
        assert_eq!(h("spin-matched-route"), "/foo/:userid/...");
        assert_eq!(h("spin-base-path"), "/");
        assert_eq!(h("spin-raw-component-route"), "/foo/:userid/...");
        assert_eq!(h("spin-component-route"), "/foo/:userid");
        assert_eq!(h("spin-client-addr"), "127.0.0.1:8777");
        assert_eq!(h("spin-path-match-userid"), "42");
        assert!(headers.get("connection").is_none());
    }

    #[test]
    fn underscore_params_become_dashes() {
        let (table, _) = RouteTable::new("/", [("/u/:user_id", "c")]);
        let uri: Uri = "/u/7".parse().unwrap();
        let route = table.route(uri.path()).unwrap();
        let mut headers = HeaderMap::new();
        apply(
            &mut headers,
            &uri,
            "/",
            &route,
            "127.0.0.1:1".parse().unwrap(),
            true,
        );
        assert_eq!(headers.get("spin-path-match-user-id").unwrap(), "7");
        assert_eq!(
            headers.get("spin-full-url").unwrap(),
            "http://localhost/u/7"
        );
    }
}
