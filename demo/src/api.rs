//! The app's HTTP API as the demo calls it, with the operator's token.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// A client of the app's API.
pub struct Api {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Api {
    /// A client of the app at `base` (`http://127.0.0.1:<port>`) calling
    /// with the API token `token`.
    pub fn new(base: &str, token: &str) -> Api {
        Api {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(60))
                .build(),
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The operator's token (for the printed `curl` commands).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Calls `method path` with the token and `body` (JSON when given);
    /// the status and the answer, whatever the status.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let request = self
            .agent
            .request(method, &self.url(path))
            .set("authorization", &format!("Bearer {}", self.token));
        let response = match body {
            Some(body) => request
                .set("content-type", "application/json")
                .send_string(&body.to_string()),
            None if method == "GET" => request.call(),
            None => request.send_bytes(b""),
        };
        let (status, text) = match response {
            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
            Err(e) => return Err(e).with_context(|| format!("{method} {path}")),
        };
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// Calls and insists on a 2xx answer.
    fn expect(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let (status, value) = self.call(method, path, body)?;
        if !(200..300).contains(&status) {
            bail!("{method} {path}: {status} {value}");
        }
        Ok(value)
    }

    /// `POST /api/tick`: the engine reconciles every unfinished run and
    /// deployment, as a scheduler's call every minute would.
    pub fn tick(&self) -> Result<Value> {
        self.expect("POST", "/api/tick", None)
    }

    /// `GET /api/runs/{run}`.
    pub fn run(&self, run: &str) -> Result<Value> {
        self.expect("GET", &format!("/api/runs/{run}"), None)
    }

    /// `POST /api/runs/{run}/stages/{stage}/approve`.
    pub fn approve(&self, run: &str, stage: &str, reason: &str) -> Result<Value> {
        let path = format!("/api/runs/{run}/stages/{stage}/approve");
        self.expect("POST", &path, Some(&json!({ "reason": reason })))
    }

    /// A one-time link that signs the operator in to the stage view.
    pub fn login_link(&self) -> Result<String> {
        let answer = self.expect("POST", "/api/login-links", Some(&json!({})))?;
        answer["url"]
            .as_str()
            .map(str::to_owned)
            .context("no url in the login link answer")
    }

    /// The newest release of `app` in `environment`, if any.
    pub fn newest_release(&self, app: &str, environment: &str) -> Result<Option<Value>> {
        let path = format!("/api/apps/{app}/environments/{environment}/releases");
        let answer = self.expect("GET", &path, None)?;
        Ok(answer["releases"]
            .as_array()
            .and_then(|r| r.first())
            .cloned())
    }
}
