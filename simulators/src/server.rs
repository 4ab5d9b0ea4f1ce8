//! A small threaded HTTP/1.1 server on loopback that every fake is built on.
//!
//! It records every request it receives, and a test can make it misbehave at
//! run time: refuse connections ([`FakeHttpServer::set_down`]), accept and
//! hang up without answering ([`FakeHttpServer::set_hang_up`]), answer the
//! next requests with an error status ([`FakeHttpServer::fail_next`]) or
//! stall every answer ([`FakeHttpServer::delay`]). It stops on drop.
//!
//! Written on `std::net` rather than `tiny_http` so that "down" can really
//! close the listening socket (connection refused) and cut kept-alive
//! connections, which `tiny_http` cannot do without dropping the server.

use std::collections::{HashMap, VecDeque};
use std::io::BufReader;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use super::http::{Request, Response, reason};
use super::http::{read_request, write_response};

/// The function that answers requests.
pub type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

struct Shared {
    addr: SocketAddr,
    handler: Handler,
    extra_headers: Vec<(String, String)>,
    log: Mutex<Vec<Request>>,
    logged: Condvar,
    down: AtomicBool,
    hang_up: AtomicBool,
    stopping: AtomicBool,
    failures: Mutex<VecDeque<Response>>,
    delay_ms: AtomicU64,
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
    next_request: AtomicU64,
}

/// A running fake HTTP server on `127.0.0.1:<random port>`.
pub struct FakeHttpServer {
    shared: Arc<Shared>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl FakeHttpServer {
    /// Starts a server answering with `handler`.
    pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Self {
        Self::start_with_headers(handler, Vec::new())
    }

    /// Starts a server that adds `extra_headers` to every response.
    pub fn start_with_headers(
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
        extra_headers: Vec<(String, String)>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake server");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            addr,
            handler: Arc::new(handler),
            extra_headers,
            log: Mutex::new(Vec::new()),
            logged: Condvar::new(),
            down: AtomicBool::new(false),
            hang_up: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            failures: Mutex::new(VecDeque::new()),
            delay_ms: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
            next_request: AtomicU64::new(0),
        });
        let acceptor = spawn_acceptor(listener, shared.clone());
        FakeHttpServer {
            shared,
            acceptor: Mutex::new(Some(acceptor)),
        }
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// Every request received so far, in arrival order (a request is in the
    /// log from its arrival; `status` is set once it has been answered).
    pub fn requests(&self) -> Vec<Request> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Requests whose raw path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.log.lock().unwrap().clear();
    }

    /// Waits until a recorded request satisfies `predicate` (including ones
    /// already recorded) and returns the first such one, or `None` after
    /// `timeout`. Predicates can test `status != 0` to wait for the answer.
    pub fn wait_for(
        &self,
        predicate: impl Fn(&Request) -> bool,
        timeout: Duration,
    ) -> Option<Request> {
        let deadline = Instant::now() + timeout;
        let mut log = self.shared.log.lock().unwrap();
        loop {
            if let Some(found) = log.iter().find(|r| predicate(r)) {
                return Some(found.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            log = self
                .shared
                .logged
                .wait_timeout(log, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// Waits until at least `count` recorded requests satisfy `predicate`;
    /// returns whether they did before `timeout`.
    pub fn wait_for_count(
        &self,
        predicate: impl Fn(&Request) -> bool,
        count: usize,
        timeout: Duration,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        let mut log = self.shared.log.lock().unwrap();
        loop {
            if log.iter().filter(|r| predicate(r)).count() >= count {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            log = self
                .shared
                .logged
                .wait_timeout(log, deadline - now)
                .unwrap()
                .0;
        }
    }

    /// `true`: close the listening socket (new connections are refused) and
    /// cut open connections. `false`: listen again on the same port.
    pub fn set_down(&self, down: bool) {
        let mut acceptor = self.acceptor.lock().unwrap();
        if down {
            if self.shared.down.swap(true, Ordering::SeqCst) {
                return;
            }
            stop_acceptor(&self.shared, acceptor.take());
            close_connections(&self.shared);
        } else {
            if !self.shared.down.load(Ordering::SeqCst) {
                return;
            }
            let listener = bind_again(self.shared.addr);
            self.shared.down.store(false, Ordering::SeqCst);
            *acceptor = Some(spawn_acceptor(listener, self.shared.clone()));
        }
    }

    /// `true`: accept connections and read requests but close the connection
    /// without any answer (requests are not recorded).
    pub fn set_hang_up(&self, hang_up: bool) {
        self.shared.hang_up.store(hang_up, Ordering::SeqCst);
        if hang_up {
            close_connections(&self.shared);
        }
    }

    /// The next `n` requests get `status` with a generic JSON body
    /// `{"message": "<reason phrase>"}` instead of the fake's answer.
    pub fn fail_next(&self, n: usize, status: u16) {
        let body = serde_json::json!({ "message": reason(status) });
        for _ in 0..n {
            self.fail_next_with(Response::json(status, &body));
        }
    }

    /// The next request gets `response` instead of the fake's answer.
    pub fn fail_next_with(&self, response: Response) {
        self.shared.failures.lock().unwrap().push_back(response);
    }

    /// Waits `ms` milliseconds before writing every answer (0 = no delay).
    pub fn delay(&self, ms: u64) {
        self.shared.delay_ms.store(ms, Ordering::SeqCst);
    }
}

impl Drop for FakeHttpServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        let acceptor = self.acceptor.lock().unwrap().take();
        stop_acceptor(&self.shared, acceptor);
        close_connections(&self.shared);
    }
}

fn bind_again(addr: SocketAddr) -> TcpListener {
    let mut tries = 0;
    loop {
        match TcpListener::bind(addr) {
            Ok(listener) => return listener,
            Err(e) if tries < 100 => {
                tries += 1;
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("fake server cannot listen again on {addr}: {e}"),
        }
    }
}

fn stop_acceptor(shared: &Arc<Shared>, acceptor: Option<JoinHandle<()>>) {
    if let Some(handle) = acceptor {
        // Wake the blocking accept; the loop sees the flag and drops the listener.
        let _ = TcpStream::connect_timeout(&shared.addr, Duration::from_secs(1));
        let _ = handle.join();
    }
}

fn close_connections(shared: &Arc<Shared>) {
    for (_, stream) in shared.connections.lock().unwrap().drain() {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

fn spawn_acceptor(listener: TcpListener, shared: Arc<Shared>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if shared.stopping.load(Ordering::SeqCst) || shared.down.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let shared = shared.clone();
            std::thread::spawn(move || serve_connection(stream, shared));
        }
    })
}

fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
    if let Ok(clone) = stream.try_clone() {
        shared.connections.lock().unwrap().insert(id, clone);
    }
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let _ = stream.set_nodelay(true);
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let parsed = match read_request(&mut reader, &mut writer) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => break,
            Err(message) => {
                let body = format!("bad request: {message}");
                let _ = write_response(
                    &mut writer,
                    &Response::bytes(400, "text/plain", body),
                    &[],
                    false,
                    true,
                );
                break;
            }
        };
        let (mut request, keep_alive) = parsed;
        if shared.stopping.load(Ordering::SeqCst)
            || shared.down.load(Ordering::SeqCst)
            || shared.hang_up.load(Ordering::SeqCst)
        {
            break;
        }
        request.seq = shared.next_request.fetch_add(1, Ordering::SeqCst);
        let seq = request.seq;
        {
            let mut log = shared.log.lock().unwrap();
            log.push(request.clone());
            shared.logged.notify_all();
        }
        let injected = shared.failures.lock().unwrap().pop_front();
        let response = match injected {
            Some(r) => r,
            None => {
                let handler = shared.handler.clone();
                catch_unwind(AssertUnwindSafe(|| handler(&request))).unwrap_or_else(|panic| {
                    let text = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Response::bytes(500, "text/plain", format!("fake handler panicked: {text}"))
                })
            }
        };
        let delay = shared.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        if shared.down.load(Ordering::SeqCst) || shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        // Mark the entry answered before the client can see the answer.
        {
            let mut log = shared.log.lock().unwrap();
            if let Some(entry) = log.iter_mut().rev().find(|r| r.seq == seq) {
                entry.status = response.status;
            }
            shared.logged.notify_all();
        }
        let head = request.method == "HEAD";
        let written = write_response(
            &mut writer,
            &response,
            &shared.extra_headers,
            head,
            !keep_alive,
        );
        if written.is_err() || !keep_alive {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
    shared.connections.lock().unwrap().remove(&id);
}
