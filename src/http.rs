//! The HTTP/1.1 connection layer under `perfguide serve`: one thread per connection, requests
//! parsed by `httparse`, responses framed by Content-Length, connections kept alive.
//!
//! Why not tiny_http, which served here first: its thread pool (0.12) can lose the wake-up
//! for a new connection when several arrive together, and a connection's task holds its
//! thread for as long as the browser keeps the connection alive. The lost connection then
//! waits until some other connection closes. A browser opening print.html (nine flame graphs)
//! waited 20 s for one SVG in CI; `tests/it/serve.rs` reproduces it with eight simultaneous
//! connections. A thread per connection has no queue to lose work in, and a local preview
//! server has a handful of connections at a time; [`MAX_CONNECTIONS`] bounds the rest.
//!
//! Only what a static preview needs is here: GET and HEAD (the caller answers anything else),
//! no request bodies (a request announcing one is answered and its connection closed, so the
//! body is never mistaken for the next request), no chunked responses. A long-lived response
//! such as an event stream takes the connection over ([`Reply::TakeOver`]).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// How often a waiting connection thread looks at the stop flag.
const POLL: Duration = Duration::from_millis(250);
/// An idle kept-alive connection is closed after this long. Browsers close theirs sooner
/// (Chromium after about 5 minutes unused, but usually when the page goes); 60 s keeps a
/// thread per forgotten connection from living long.
const IDLE: Duration = Duration::from_secs(60);
/// A client that stops reading a response gets this long before its connection is dropped,
/// so a stalled peer cannot hold a thread (or an event broadcast) for ever.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Request heads larger than this are refused (431); browsers send 1–2 KiB.
const MAX_HEAD: usize = 32 * 1024;
/// Headers per request; more is refused (431).
const MAX_HEADERS: usize = 64;
/// Open connections at once; beyond this a connection gets 503 and is closed. A browser uses
/// six per host, and the tests use fifty.
pub const MAX_CONNECTIONS: usize = 512;

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target exactly as sent (no normalization: the caller decides what a
    /// path means).
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first header of that name (names compare without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A connection handed to the caller: it writes the whole response, head included.
pub type TakeOver = Box<dyn FnOnce(TcpStream) + Send>;

/// What a handler answers.
pub enum Reply {
    /// Sent with its Content-Length; the connection then serves the next request.
    Complete(Response),
    /// The handler keeps the connection (an event stream); this server lets go of it.
    TakeOver(TakeOver),
}

/// Answers one request. Called on the connection's thread; it may block.
pub type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A listening server. Dropping it without [`Server::stop`] leaves it running.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: JoinHandle<()>,
}

impl Server {
    /// Binds `addr` ("host:port"; port 0 picks one) and answers each connection on its own
    /// thread.
    pub fn bind(addr: &str, handler: Handler) -> Result<Server> {
        let listener =
            TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener
            .local_addr()
            .context("the server has no local address")?;
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(AtomicUsize::new(0));
        let accept_stop = stop.clone();
        let accept = std::thread::Builder::new()
            .name("http-accept".into())
            .spawn(move || accept_loop(listener, handler, accept_stop, open))
            .context("cannot start the server's accept thread")?;
        Ok(Server {
            addr: bound,
            stop,
            accept,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes the listening socket. Open connections end within [`POLL`] of their next wait
    /// for a request; a connection taken over is its owner's to close.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        // accept() blocks; a connection of our own wakes it to see the flag.
        let wake = if self.addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], self.addr.port()))
        } else {
            self.addr
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        let _ = self.accept.join();
    }
}

fn accept_loop(
    listener: TcpListener,
    handler: Handler,
    stop: Arc<AtomicBool>,
    open: Arc<AtomicUsize>,
) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = conn else {
            // A connection that failed before it was accepted (reset by the peer, or out of
            // file descriptors for a moment); the next one may succeed.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        if open.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            open.fetch_sub(1, Ordering::SeqCst);
            refuse(stream);
            continue;
        }
        let (handler, stop, open2) = (handler.clone(), stop.clone(), open.clone());
        let spawned = std::thread::Builder::new()
            .name("http-conn".into())
            .spawn(move || {
                serve_connection(stream, &handler, &stop);
                open2.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            // No thread for it: the stream was moved into the closure and dropped with it,
            // which closes the connection; the client sees a reset and can retry.
            open.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

fn refuse(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let resp = Response::new(
        503,
        "text/plain; charset=utf-8",
        b"too many connections\n".to_vec(),
    );
    let _ = write_response(&mut stream, &resp, false, true);
}

/// What the bytes read so far hold.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// A whole head, `len` bytes long; `close` when the connection ends after the reply.
    Complete {
        request: Request,
        len: usize,
        close: bool,
    },
    Partial,
    /// Unparseable; answered with `status` and the connection closed.
    Bad {
        status: u16,
        why: String,
    },
}

fn parse(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Parsed::Bad {
                status: 431,
                why: format!("request head over {MAX_HEAD} bytes"),
            };
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Bad {
                status: 431,
                why: format!("more than {MAX_HEADERS} headers"),
            };
        }
        Err(e) => {
            return Parsed::Bad {
                status: 400,
                why: e.to_string(),
            };
        }
    };
    if len > MAX_HEAD {
        return Parsed::Bad {
            status: 431,
            why: format!("request head over {MAX_HEAD} bytes"),
        };
    }
    let request = Request {
        method: req.method.unwrap_or_default().to_string(),
        target: req.path.unwrap_or_default().to_string(),
        headers: req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
    };
    let close = wants_close(&request, req.version.unwrap_or(0));
    Parsed::Complete {
        request,
        len,
        close,
    }
}

/// Whether the connection ends after this request (RFC 9112 §9.3): HTTP/1.0 closes unless it
/// asked for keep-alive, HTTP/1.1 stays open unless it asked to close. A request that carries
/// a body also closes it, because bodies are never read here.
fn wants_close(req: &Request, minor_version: u8) -> bool {
    let connection = req.header("Connection").unwrap_or("").to_ascii_lowercase();
    let has_token = |t: &str| connection.split(',').any(|x| x.trim() == t);
    let has_body = req.header("Transfer-Encoding").is_some()
        || req
            .header("Content-Length")
            .is_some_and(|v| v.trim() != "0");
    has_body || has_token("close") || (minor_version == 0 && !has_token("keep-alive"))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Writes status line, headers, Content-Length and (unless `head_only`) the body.
fn write_response(
    w: &mut impl Write,
    resp: &Response,
    head_only: bool,
    close: bool,
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        // A header value with a line break would split the response; such a header is a
        // bug of ours, and leaving it out is safer than sending it.
        if !k.contains(['\r', '\n', ':']) && !v.contains(['\r', '\n']) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    if close {
        out.push_str("Connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&resp.body);
    }
    w.write_all(&bytes)?;
    w.flush()
}

/// Serves requests on one connection until either side closes it, it idles for [`IDLE`], the
/// server stops, or the handler takes it over.
fn serve_connection(mut stream: TcpStream, handler: &Handler, stop: &AtomicBool) {
    let _ = stream.set_nodelay(true);
    if stream.set_read_timeout(Some(POLL)).is_err()
        || stream.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let mut last_activity = Instant::now();
    loop {
        match parse(&buf) {
            Parsed::Complete {
                request,
                len,
                close,
            } => {
                buf.drain(..len);
                let reply =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&request)));
                let (resp, close) = match reply {
                    Ok(Reply::Complete(resp)) => (resp, close),
                    Ok(Reply::TakeOver(take)) => {
                        let _ = stream.set_read_timeout(None);
                        take(stream);
                        return;
                    }
                    // A bug must not take the server down; the client learns of it.
                    Err(_) => (
                        Response::new(
                            500,
                            "text/plain; charset=utf-8",
                            b"internal error\n".to_vec(),
                        ),
                        true,
                    ),
                };
                let head_only = request.method == "HEAD";
                if write_response(&mut stream, &resp, head_only, close).is_err() || close {
                    return;
                }
                last_activity = Instant::now();
                continue;
            }
            Parsed::Bad { status, why } => {
                let resp = Response::new(
                    status,
                    "text/plain; charset=utf-8",
                    format!("bad request: {why}\n").into_bytes(),
                );
                let _ = write_response(&mut stream, &resp, false, true);
                return;
            }
            Parsed::Partial => {}
        }
        if stop.load(Ordering::SeqCst) || last_activity.elapsed() > IDLE {
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                last_activity = Instant::now();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(raw: &str) -> (Request, usize, bool) {
        match parse(raw.as_bytes()) {
            Parsed::Complete {
                request,
                len,
                close,
            } => (request, len, close),
            other => panic!("{raw:?}: {other:?}"),
        }
    }

    #[test]
    fn parses_a_head_and_keeps_what_follows() {
        let raw = "GET /a%20b.html?x=1 HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\nGET /next";
        let (req, len, close) = complete(raw);
        assert_eq!(req.method, "GET");
        assert_eq!(req.target, "/a%20b.html?x=1");
        assert_eq!(req.header("host"), Some("h"));
        assert_eq!(&raw[len..], "GET /next");
        assert!(!close, "HTTP/1.1 stays open");
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost:"), Parsed::Partial);
    }

    #[test]
    fn targets_are_not_normalized() {
        for target in ["/../x", "/..\\x", "//etc/passwd", "http://h/../x", "x"] {
            let (req, _, _) = complete(&format!("GET {target} HTTP/1.1\r\n\r\n"));
            assert_eq!(req.target, target);
        }
    }

    #[test]
    fn connection_close_rules() {
        let close = |raw: &str| complete(raw).2;
        assert!(close("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
        assert!(close(
            "GET / HTTP/1.1\r\nConnection: Upgrade, Close\r\n\r\n"
        ));
        assert!(close("GET / HTTP/1.0\r\n\r\n"));
        assert!(!close("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        assert!(!close("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"));
        // A body is never read, so the connection cannot go on after it.
        assert!(close("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"));
        assert!(close(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        assert!(!close("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
    }

    #[test]
    fn bad_and_oversized_heads() {
        assert!(matches!(
            parse(b"GET / HTTP/9.9\r\n\r\n"),
            Parsed::Bad { status: 400, .. }
        ));
        assert!(matches!(
            parse(b"G\x01T / HTTP/1.1\r\n\r\n"),
            Parsed::Bad { status: 400, .. }
        ));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        assert!(matches!(
            parse(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Parsed::Bad { status: 431, .. }
        ));
        let long = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD + 1));
        assert!(matches!(
            parse(long.as_bytes()),
            Parsed::Bad { status: 431, .. }
        ));
    }

    #[test]
    fn responses_are_framed_by_length() {
        let resp = Response::new(200, "text/plain", b"hello".to_vec()).with_header("X-A", "1");
        let mut out = Vec::new();
        write_response(&mut out, &resp, false, false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: 1\r\nContent-Length: 5\r\n\r\nhello"
        );
        let mut out = Vec::new();
        write_response(&mut out, &resp, true, true).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with("Content-Length: 5\r\nConnection: close\r\n\r\n"),
            "{text}"
        );
        // A header that would split the response is left out.
        let bad = Response::new(200, "text/plain", vec![]).with_header("X-B", "a\r\nSet-Cookie: x");
        let mut out = Vec::new();
        write_response(&mut out, &bad, false, false).unwrap();
        assert!(!String::from_utf8(out).unwrap().contains("Set-Cookie"));
    }

    fn roundtrip(addr: SocketAddr, raw: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(raw.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn pipelined_requests_panics_and_stop() {
        let handler: Handler = Arc::new(|req: &Request| {
            if req.target == "/panic" {
                panic!("a handler bug");
            }
            Reply::Complete(Response::new(
                200,
                "text/plain",
                req.target.clone().into_bytes(),
            ))
        });
        let server = Server::bind("127.0.0.1:0", handler).unwrap();
        let addr = server.addr();
        // Two requests in one write: both answered in order, then closed as asked.
        let out = roundtrip(
            addr,
            "GET /one HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\nConnection: close\r\n\r\n",
        );
        let one = out.find("/one").expect(&out);
        let two = out.find("/two").expect(&out);
        assert!(
            one < two && out.matches("HTTP/1.1 200 OK").count() == 2,
            "{out}"
        );
        // A panicking handler gets a 500 and the server goes on.
        assert!(roundtrip(addr, "GET /panic HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 500"));
        assert!(
            roundtrip(addr, "GET /after HTTP/1.1\r\nConnection: close\r\n\r\n").ends_with("/after")
        );
        // HEAD: the length of the body that GET would send, and no body.
        let head = roundtrip(addr, "HEAD /abc HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(
            head.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n"),
            "{head}"
        );
        server.stop();
        assert!(
            TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_err(),
            "the listening socket is closed after stop"
        );
    }

    #[test]
    fn a_taken_over_connection_belongs_to_the_handler() {
        let handler: Handler = Arc::new(|_req: &Request| {
            Reply::TakeOver(Box::new(|mut s: TcpStream| {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\nstreamed");
            }))
        });
        let server = Server::bind("127.0.0.1:0", handler).unwrap();
        let out = roundtrip(server.addr(), "GET /events HTTP/1.1\r\n\r\n");
        assert_eq!(out, "HTTP/1.1 200 OK\r\n\r\nstreamed");
        server.stop();
    }
}
