//! The static files and the headers they go out with.

use spin_sdk::http::{HeaderMap, HeaderValue, StatusCode};

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_CSS: &str = include_str!("../assets/app.css");

/// One script's path and content, both from its file name.
macro_rules! script {
    ($name:literal) => {
        (
            concat!("/assets/js/", $name),
            include_str!(concat!("../assets/js/", $name)),
        )
    };
}

/// The browser's scripts by path: classic scripts sharing one global scope,
/// loaded by `index.html` in this order (each needs only those before it).
const SCRIPTS: [(&str, &str); 10] = [
    script!("format.js"),
    script!("dom.js"),
    script!("api.js"),
    script!("graph.js"),
    script!("page-overview.js"),
    script!("page-app.js"),
    script!("page-run.js"),
    script!("page-environment.js"),
    script!("page-login.js"),
    script!("main.js"),
];

/// The pages' policy: nothing but this origin's own files, no inline
/// script, no framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

type Response = (StatusCode, HeaderMap, String);

fn static_response(content_type: &'static str, body: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    headers.insert("content-security-policy", HeaderValue::from_static(CSP));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // The sign-in page's URL carries its one-time code: never send it on.
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    (StatusCode::OK, headers, body.to_owned())
}

/// Whether `path` is one of the pages the shell renders.
fn is_page(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(
        segments.as_slice(),
        [""] | ["waiting"] | ["login"] | ["apps", _] | ["apps", _, "environments", _] | ["runs", _]
    )
}

/// The static response for a `GET` of `path`, if it is a page or a file.
pub fn page(path: &str) -> Option<Response> {
    if let Some((_, script)) = SCRIPTS.iter().find(|(p, _)| *p == path) {
        return Some(static_response("text/javascript; charset=utf-8", script));
    }
    match path {
        "/assets/app.css" => Some(static_response("text/css; charset=utf-8", APP_CSS)),
        _ if is_page(path) => Some(static_response("text/html; charset=utf-8", INDEX_HTML)),
        _ => None,
    }
}
