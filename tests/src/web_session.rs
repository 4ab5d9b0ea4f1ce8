//! A browser's side of a web session, for end-to-end tests: sign in
//! through a one-time link, then call the API with the session cookie and
//! its CSRF token, as the stage view's script does.

use serde_json::Value;

use crate::pipeline_env::{API_TOKEN, Env};

/// A signed-in person.
pub struct Session {
    /// `slipway_session=…`, as the browser sends it back.
    pub cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
    base: String,
}

/// An HTTP agent that does not follow redirects (to see `303` and its
/// `Set-Cookie`).
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).build()
}

/// Status, headers we look at, and body of a response or error.
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body as JSON (a string when it is not JSON).
    pub body: Value,
    /// `Set-Cookie`, `Location`, `ETag`, `Content-Type`, `Content-Security-Policy`.
    pub headers: std::collections::BTreeMap<String, String>,
}

/// Turns a ureq result into an [`Answer`].
pub fn answer(result: Result<ureq::Response, ureq::Error>) -> Answer {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let mut headers = std::collections::BTreeMap::new();
    for name in [
        "set-cookie",
        "location",
        "etag",
        "content-type",
        "content-security-policy",
        "referrer-policy",
    ] {
        if let Some(v) = response.header(name) {
            headers.insert(name.to_owned(), v.to_owned());
        }
    }
    let status = response.status();
    let text = response.into_string().unwrap_or_default();
    Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers,
    }
}

/// A sign-in link for `person`, asked for with the operator's token.
pub fn login_link(env: &Env, person: &str) -> String {
    let reply = answer(
        agent()
            .post(&env.host.url("/api/login-links"))
            .set("authorization", &format!("Bearer {API_TOKEN}"))
            .send_string(&serde_json::json!({ "person": person }).to_string()),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["url"].as_str().expect("url").to_owned()
}

/// `POST /login` with the code of `link`, as the sign-in page's form does.
pub fn redeem(env: &Env, link: &str) -> Answer {
    let code = link.split_once("code=").expect("a code in the link").1;
    answer(
        agent()
            .post(&env.host.url("/login"))
            .set("content-type", "application/x-www-form-urlencoded")
            .send_string(&format!("code={code}")),
    )
}

impl Session {
    /// Signs `person` in through a fresh link.
    pub fn sign_in(env: &Env, person: &str) -> Session {
        let signed_in = redeem(env, &login_link(env, person));
        assert_eq!(signed_in.status, 303, "{}", signed_in.body);
        let set = signed_in
            .headers
            .get("set-cookie")
            .expect("a session cookie");
        let cookie = set.split(';').next().expect("name=value").to_owned();
        let base = env.host.url("");
        let session = answer(
            agent()
                .get(&format!("{base}/api/session"))
                .set("cookie", &cookie)
                .call(),
        );
        assert_eq!(session.status, 200, "{}", session.body);
        assert_eq!(session.body["person"], person);
        Session {
            cookie,
            csrf: session.body["csrf"].as_str().expect("csrf").to_owned(),
            base,
        }
    }

    /// `GET path` with the cookie and CSRF token.
    pub fn get(&self, path: &str) -> Answer {
        answer(
            agent()
                .get(&format!("{}{path}", self.base))
                .set("cookie", &self.cookie)
                .set("x-csrf-token", &self.csrf)
                .call(),
        )
    }

    /// `POST path` with a JSON body, the cookie and (if `csrf`) the token.
    pub fn post(&self, path: &str, body: &Value, csrf: bool) -> Answer {
        let mut request = agent()
            .post(&format!("{}{path}", self.base))
            .set("cookie", &self.cookie)
            .set("content-type", "application/json");
        if csrf {
            request = request.set("x-csrf-token", &self.csrf);
        }
        answer(request.send_string(&body.to_string()))
    }
}
