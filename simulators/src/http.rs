//! HTTP/1.1 messages for the fakes: [`Request`] and [`Response`], and reading
//! and writing them on a connection (chunked request bodies, `Expect:
//! 100-continue`, keep-alive, `HEAD`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Instant, SystemTime};

/// One request as received: the handler's input and the log's entry.
#[derive(Clone, Debug)]
pub struct Request {
    /// Method as sent (`GET`, `POST`, ...).
    pub method: String,
    /// Path exactly as sent, still percent-encoded (no query).
    pub path: String,
    /// Raw query string without the `?` (empty if none).
    pub query: String,
    /// Headers in arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body bytes (chunked bodies are decoded).
    pub body: Vec<u8>,
    /// Wall-clock arrival time.
    pub received_at: SystemTime,
    /// Monotonic arrival time, for measuring gaps between requests.
    pub arrived: Instant,
    /// Status the server answered with (0 while the answer is pending).
    pub status: u16,
    /// Sequence number of the request on this server (from 0).
    pub seq: u64,
}

impl Request {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Query parameters, form-decoded, in order.
    pub fn query_params(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// Last value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_params()
            .into_iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Body parameters of an `application/x-www-form-urlencoded` body.
    pub fn form_params(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// Whether the `content-type` header's media type is `media`.
    pub fn content_type_is(&self, media: &str) -> bool {
        self.header("content-type").is_some_and(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case(media)
        })
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Path segments, still percent-encoded (`/a/b%2Fc/` → `["a", "b%2Fc", ""]`).
    pub fn raw_segments(&self) -> Vec<&str> {
        self.path
            .strip_prefix('/')
            .unwrap_or(&self.path)
            .split('/')
            .collect()
    }
}

/// What a handler answers.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (`content-length` is added by the server).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// An empty response with `status`.
    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::bytes(status, "application/json; charset=utf-8", value.to_string())
    }

    /// A response with `content_type` and `body`.
    pub fn bytes(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// Reads one request; `Ok(None)` when the peer closed the connection.
pub(crate) fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> Result<Option<(Request, bool)>, String> {
    let mut line = String::new();
    // Skip stray empty lines between requests.
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return Ok(None),
            Ok(_) if line.trim().is_empty() => continue,
            Ok(_) => break,
        }
    }
    let arrived = Instant::now();
    let received_at = SystemTime::now();
    let mut parts = line.trim_end().splitn(3, ' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("malformed request line {line:?}"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("unsupported version {version:?}"));
    }
    let mut headers = Vec::new();
    let mut total = 0usize;
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) => return Ok(None),
            Ok(n) => total += n,
            Err(e) => return Err(e.to_string()),
        }
        if total > 1 << 20 {
            return Err("headers too large".into());
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let Some((name, value)) = h.split_once(':') else {
            return Err(format!("malformed header {h:?}"));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let chunked = get("transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let length: usize = match get("content-length") {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("bad content-length {v:?}"))?,
        None => 0,
    };
    if (chunked || length > 0) && get("expect").is_some_and(|v| v == "100-continue") {
        let _ = writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let body = if chunked {
        read_chunked(reader)?
    } else {
        let mut body = vec![0; length];
        reader.read_exact(&mut body).map_err(|e| e.to_string())?;
        body
    };
    let connection = get("connection").unwrap_or_default();
    let keep_alive = if version == "HTTP/1.0" {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (target.to_owned(), String::new()),
    };
    // Absolute-form targets (`http://host/path`) are reduced to the path.
    let path = match path.strip_prefix("http://") {
        Some(rest) => rest
            .find('/')
            .map(|i| rest[i..].to_owned())
            .unwrap_or("/".into()),
        None => path,
    };
    let request = Request {
        method: method.to_owned(),
        path,
        query,
        headers,
        body,
        received_at,
        arrived,
        status: 0,
        seq: 0,
    };
    Ok(Some((request, keep_alive)))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader
            .read_line(&mut size_line)
            .map_err(|e| e.to_string())?;
        let size_text = size_line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_line:?}"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut trailer = String::new();
                let n = reader.read_line(&mut trailer).map_err(|e| e.to_string())?;
                if n == 0 || trailer.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader
            .read_exact(&mut body[start..])
            .map_err(|e| e.to_string())?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf).map_err(|e| e.to_string())?;
    }
}

pub(crate) fn write_response(
    writer: &mut TcpStream,
    response: &Response,
    extra: &[(String, String)],
    head: bool,
    close: bool,
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    let no_body = response.status == 204 || response.status == 304 || response.status < 200;
    let has = |name: &str| {
        response
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    for (k, v) in extra.iter().chain(response.headers.iter()) {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has("date") {
        out.push_str(&format!(
            "date: {}\r\n",
            super::http_date(SystemTime::now())
        ));
    }
    if !no_body && !has("content-length") {
        out.push_str(&format!("content-length: {}\r\n", response.body.len()));
    }
    if close {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head && !no_body {
        bytes.extend_from_slice(&response.body);
    }
    writer.write_all(&bytes)?;
    writer.flush()
}

/// The standard reason phrase of `status`.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}
