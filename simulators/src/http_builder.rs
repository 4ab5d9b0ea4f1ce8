//! [`FakeHttpBuilder`]: a generic build service reached by one HTTP call.
//!
//! - `POST /build` with a JSON object body (and `Authorization: Bearer <t>`
//!   when started with a token) → `202 {"id": "b-<n>", "url": "{url}/builds/b-<n>"}`.
//!   Wrong or missing token → 401 `{"error": "unauthorized"}`; a body that is
//!   not a JSON object → 400 `{"error": "..."}`; other methods → 405.
//! - `GET /builds/{id}` → `{"id", "status", "request"}`, status settable by the test.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::server::{FakeHttpServer, Request, Response};

struct Build {
    id: String,
    request: Value,
    status: String,
}

struct State {
    token: Option<String>,
    base: String,
    builds: Vec<Build>,
}

/// The generic build-service fake. Dereferences to its [`FakeHttpServer`].
pub struct FakeHttpBuilder {
    server: FakeHttpServer,
    state: Arc<Mutex<State>>,
}

impl Deref for FakeHttpBuilder {
    type Target = FakeHttpServer;
    fn deref(&self) -> &FakeHttpServer {
        &self.server
    }
}

fn error(status: u16, text: &str) -> Response {
    Response::json(status, &json!({ "error": text }))
}

impl FakeHttpBuilder {
    /// Starts the fake; with `Some(token)` requests need `Authorization: Bearer <token>`.
    pub fn start(token: Option<&str>) -> FakeHttpBuilder {
        let state = Arc::new(Mutex::new(State {
            token: token.map(str::to_owned),
            base: String::new(),
            builds: Vec::new(),
        }));
        let shared = state.clone();
        let server = FakeHttpServer::start(move |req| handle(&mut shared.lock().unwrap(), req));
        state.lock().unwrap().base = server.url();
        FakeHttpBuilder { server, state }
    }

    /// The server this fake runs on.
    pub fn server(&self) -> &FakeHttpServer {
        &self.server
    }

    /// The JSON bodies of the accepted `POST /build` requests, in order.
    pub fn builds(&self) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state.builds.iter().map(|b| b.request.clone()).collect()
    }

    /// The ids handed out, in order (`b-1`, `b-2`, ...).
    pub fn build_ids(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state.builds.iter().map(|b| b.id.clone()).collect()
    }

    /// Sets what `GET /builds/{id}` reports as `status` (`queued` at first).
    pub fn set_status(&self, id: &str, status: &str) {
        let mut state = self.state.lock().unwrap();
        let build = state
            .builds
            .iter_mut()
            .find(|b| b.id == id)
            .expect("no such build");
        build.status = status.to_owned();
    }
}

fn handle(state: &mut State, req: &Request) -> Response {
    if let Some(token) = &state.token {
        let ok = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| t.trim() == token);
        if !ok {
            return error(401, "unauthorized").with_header("www-authenticate", "Bearer");
        }
    }
    let seg = req.raw_segments();
    match seg.as_slice() {
        ["build"] if req.method == "POST" => {
            let request = match req.json() {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => return error(400, "body must be a JSON object"),
                Err(e) => return error(400, &format!("invalid JSON: {e}")),
            };
            let id = format!("b-{}", state.builds.len() + 1);
            let url = format!("{}/builds/{id}", state.base);
            state.builds.push(Build {
                id: id.clone(),
                request,
                status: "queued".into(),
            });
            Response::json(202, &json!({ "id": id, "url": url }))
        }
        ["build"] => error(405, "method not allowed").with_header("allow", "POST"),
        ["builds", id] if req.method == "GET" => match state.builds.iter().find(|b| b.id == *id) {
            Some(b) => Response::json(
                200,
                &json!({ "id": b.id, "status": b.status, "request": b.request }),
            ),
            None => error(404, "not found"),
        },
        ["builds", _] => error(405, "method not allowed").with_header("allow", "GET"),
        _ => error(404, "not found"),
    }
}
