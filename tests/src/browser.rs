//! Headless Chromium driven through WebDriver (Debian's `chromium` and
//! `chromium-driver`), for the stage view's browser tests: open pages,
//! wait for what they render, click, and take screenshots.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// How long a wait for something on a page lasts.
pub const WAIT: Duration = Duration::from_secs(20);

/// A chromedriver process and one browser session in it.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    /// Where screenshots go.
    pub shots: PathBuf,
}

/// The WebDriver element key (W3C).
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Whether Chromium and its driver are installed (the project's set-up
/// installs them; without them the browser tests cannot run).
pub fn available() -> bool {
    ["chromedriver", "chromium"].iter().all(|bin| {
        Command::new(bin)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn call(method: &str, url: &str, body: Option<&Value>) -> Result<Value, String> {
    let request = ureq::request(method, url).timeout(Duration::from_secs(60));
    let result = match body {
        Some(b) => request.send_string(&b.to_string()),
        None => request.call(),
    };
    let text = match result {
        Ok(r) => r.into_string().map_err(|e| e.to_string())?,
        Err(ureq::Error::Status(code, r)) => {
            return Err(format!("{code}: {}", r.into_string().unwrap_or_default()));
        }
        Err(e) => return Err(e.to_string()),
    };
    let parsed: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok(parsed["value"].clone())
}

impl Browser {
    /// Starts chromedriver and a headless Chromium of `width`×`height`;
    /// screenshots go to `shots`.
    pub fn start(width: u32, height: u32, shots: &Path) -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        while call("GET", &format!("{base}/status"), None).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--no-first-run",
                    format!("--window-size={width},{height}"),
                ],
            },
        }}});
        let created = call("POST", &format!("{base}/session"), Some(&capabilities))
            .expect("a browser session");
        let session = created["sessionId"]
            .as_str()
            .expect("session id")
            .to_owned();
        std::fs::create_dir_all(shots).expect("screenshot directory");
        Browser {
            driver,
            base,
            session,
            shots: shots.to_owned(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    /// Sends a WebDriver command.
    pub fn command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        call(method, &self.url(path), body.as_ref())
    }

    /// Opens `url`.
    pub fn open(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })))
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Runs `script` in the page with `args`; its result.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// The elements matching `css` now.
    pub fn all(&self, css: &str) -> Vec<String> {
        let found = self
            .command(
                "POST",
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .unwrap_or(Value::Array(Vec::new()));
        found
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits for an element matching `css`; its id.
    pub fn wait_for(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(first) = self.all(css).into_iter().next() {
                return first;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never appeared on {}\n{}",
                self.current_url(),
                self.diagnosis()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the page's text contains `text`.
    pub fn wait_for_text(&self, css: &str, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let found: Vec<String> = self.all(css).iter().map(|e| self.text(e)).collect();
            if let Some(t) = found.iter().find(|t| t.contains(text)) {
                return t.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {css} with {text:?} on {}: {found:?}\n{}",
                self.current_url(),
                self.diagnosis()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The visible text of element `id`.
    pub fn text(&self, id: &str) -> String {
        self.command("GET", &format!("/element/{id}/text"), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Attribute `name` of element `id`.
    pub fn attribute(&self, id: &str, name: &str) -> Option<String> {
        self.command("GET", &format!("/element/{id}/attribute/{name}"), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    }

    /// Clicks element `id`.
    pub fn click(&self, id: &str) {
        self.command("POST", &format!("/element/{id}/click"), Some(json!({})))
            .unwrap_or_else(|e| panic!("click: {e}"));
    }

    /// Resizes the window (a phone: 390×844).
    pub fn resize(&self, width: u32, height: u32) {
        self.command(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .unwrap_or_else(|e| panic!("resize: {e}"));
    }

    /// Emulates the system's colour scheme (`light` or `dark`).
    pub fn color_scheme(&self, scheme: &str) {
        let params = json!({
            "cmd": "Emulation.setEmulatedMedia",
            "params": { "features": [{ "name": "prefers-color-scheme", "value": scheme }] },
        });
        self.command("POST", "/goog/cdp/execute", Some(params))
            .unwrap_or_else(|e| panic!("emulate {scheme}: {e}"));
    }

    /// Presses `key` (a WebDriver key code, e.g. `\u{E004}` Tab,
    /// `\u{E007}` Enter) on the focused element.
    pub fn press(&self, key: char) {
        let key = key.to_string();
        let actions = json!({ "actions": [{
            "type": "key", "id": "keyboard",
            "actions": [{ "type": "keyDown", "value": key }, { "type": "keyUp", "value": key }],
        }]});
        self.command("POST", "/actions", Some(actions))
            .unwrap_or_else(|e| panic!("press: {e}"));
    }

    /// Presses Tab until the focused element matches `css` (at most
    /// `max` times); whether it got there.
    pub fn tab_to(&self, css: &str, max: usize) -> bool {
        let focused =
            "return !!document.activeElement && document.activeElement.matches(arguments[0])";
        for _ in 0..max {
            if self.script(focused, json!([css])) == json!(true) {
                return true;
            }
            self.press('\u{E004}');
        }
        false
    }

    /// Accepts the open `confirm()` or `prompt()` dialog, if any.
    pub fn accept_dialog(&self) -> bool {
        self.command("POST", "/alert/accept", Some(json!({})))
            .is_ok()
    }

    /// The page's text and the browser's console, for a failure message.
    pub fn diagnosis(&self) -> String {
        let body = self
            .command(
                "POST",
                "/execute/sync",
                Some(json!({ "script": "return document.body ? document.body.innerText : ''", "args": [] })),
            )
            .unwrap_or_default();
        let log = self
            .command("POST", "/se/log", Some(json!({ "type": "browser" })))
            .unwrap_or_default();
        format!("page text: {body}\nconsole: {log}")
    }

    /// The page's URL.
    pub fn current_url(&self) -> String {
        self.command("GET", "/url", None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Saves a PNG of the page as `{name}.png` in the screenshot
    /// directory; its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let data = self
            .command("GET", "/screenshot", None)
            .expect("a screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .expect("base64 PNG");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.command("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
