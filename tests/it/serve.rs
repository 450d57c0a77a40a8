//! `perfguide serve`: safe static serving (in process, over raw TCP so that no client library
//! normalizes the paths), 50 concurrent clients, and the real binary: live reload after an
//! edit, build errors shown while the server keeps running, measurements never taken.
//!
//! Every request loop here is bounded in count and time and talks to 127.0.0.1 only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use perfguide::serve::{Live, SiteServer};

use crate::book_test::BookTest;

/* ------------------------------------------------------------------------------------- */
/* A raw HTTP client                                                                       */
/* ------------------------------------------------------------------------------------- */

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `method target` exactly as given (no normalization) and reads the whole reply.
fn request(addr: SocketAddr, method: &str, target: &str) -> Reply {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connecting");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("reading the reply");
    parse_reply(&raw)
}

fn get(addr: SocketAddr, target: &str) -> Reply {
    request(addr, "GET", target)
}

/// The status of `GET target`.
pub(crate) fn get_status(addr: SocketAddr, target: &str) -> u16 {
    get(addr, target).status
}

fn parse_reply(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}

/// An open event stream.
struct Events {
    reader: BufReader<TcpStream>,
}

impl Events {
    fn connect(addr: SocketAddr) -> Events {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        write!(
            s,
            "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n",
            perfguide::serve::EVENTS_PATH
        )
        .unwrap();
        let mut reader = BufReader::new(s);
        let mut status = String::new();
        reader
            .get_mut()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        reader.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let mut line = String::new();
        let mut content_type = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if line.to_ascii_lowercase().starts_with("content-type:") {
                content_type = line.clone();
            }
        }
        assert!(content_type.contains("text/event-stream"), "{content_type}");
        Events { reader }
    }

    /// The next event (name, data), skipping comments and `retry:`; `None` on timeout.
    fn next(&mut self, timeout: Duration) -> Option<(String, String)> {
        let deadline = Instant::now() + timeout;
        let (mut event, mut data) = (String::new(), String::new());
        let mut line = String::new();
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.reader
                .get_mut()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let l = line.trim_end_matches(['\r', '\n']);
            if l.is_empty() {
                if !event.is_empty() {
                    return Some((event, data));
                }
                continue;
            }
            if let Some(v) = l.strip_prefix("event: ") {
                event = v.to_string();
            } else if let Some(v) = l.strip_prefix("data: ") {
                data = v.to_string();
            }
        }
    }

    /// Waits for an event named `name`, returning its data.
    #[track_caller]
    fn expect(&mut self, name: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.next(left) {
                Some((e, d)) if e == name => return d,
                Some(_) => {}
                None => break,
            }
        }
        panic!("no `{name}` event within {timeout:?}");
    }
}

/* ------------------------------------------------------------------------------------- */
/* Static serving, in process                                                              */
/* ------------------------------------------------------------------------------------- */

const SECRET: &str = "SECRET-OUTSIDE-THE-ROOT";

/// A site in `tmp/site` with a secret beside it, and symbolic links out of it.
fn site_with_secret() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("site");
    let w = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w("index.html", "<html><body><p>home</p></body></html>");
    w(
        "404.html",
        "<html><body><h1>Page not found</h1></body></html>",
    );
    w("dir/index.html", "<html><body>dir</body></html>");
    w("css/site.css", "body{}");
    w("js/site.js", "1;");
    w("favicon.svg", "<svg/>");
    w("img/a.png", "png");
    w(".perfguide-stamp.json", "{}");
    std::fs::write(tmp.path().join("secret.txt"), SECRET).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(tmp.path().join("secret.txt"), root.join("out.txt")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), root.join("up")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
    }
    (tmp, root)
}

fn start(root: &Path) -> SiteServer {
    SiteServer::start(root, "127.0.0.1:0", Arc::new(Live::default())).expect("starting")
}

#[test]
fn traversal_attempts_get_400_or_404_and_never_a_file_from_outside() {
    let (tmp, root) = site_with_secret();
    let server = start(&root);
    let addr = server.addr();
    let secret_abs = tmp.path().join("secret.txt").display().to_string();
    let attempts: Vec<String> = [
        "/../secret.txt",
        "/../../../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/dir/../../secret.txt",
        "/dir/%2e%2e/%2e%2e/secret.txt",
        "/./../secret.txt",
        "//../secret.txt",
        "/..\\secret.txt",
        "/..%5csecret.txt",
        "/%5c..%5csecret.txt",
        "/dir\\..\\..\\secret.txt",
        "/%252e%252e/secret.txt",
        "/%c0%ae%c0%ae/secret.txt",
        "/index.html%00",
        "/%00../secret.txt",
        "/out.txt",
        "/up/secret.txt",
        "/up/",
        "/up",
        "/etc/passwd",
        "/.perfguide-stamp.json",
        "/%zz",
        "secret.txt",
        "../secret.txt",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("/{secret_abs}"),
        format!("/{}", secret_abs.replace('/', "%2f")),
        format!("http://127.0.0.1/{}", "../secret.txt"),
    ])
    .collect();
    for target in &attempts {
        let r = get(addr, target);
        assert!(
            r.status == 400 || r.status == 404,
            "{target}: status {}",
            r.status
        );
        assert!(
            !r.text().contains(SECRET) && !r.text().contains("root:x:0:0"),
            "{target}: a file from outside the root was served"
        );
    }
    // The percent-encoded and backslash forms are refused as bad requests, not looked up.
    for target in ["/%2e%2e/secret.txt", "/..%5csecret.txt", "/index.html%00"] {
        assert_eq!(get(addr, target).status, 400, "{target}");
    }
    server.stop();
}

#[test]
fn files_types_directories_and_404() {
    let (_tmp, root) = site_with_secret();
    let server = start(&root);
    let addr = server.addr();

    let home = get(addr, "/");
    assert_eq!(home.status, 200);
    assert_eq!(
        home.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let text = home.text();
    assert!(text.contains("home"));
    assert!(
        text.contains(perfguide::serve::EVENTS_PATH) && text.ends_with("</script>\n</body></html>"),
        "served HTML gets the live-reload script before </body>: {text}"
    );
    assert!(get(addr, "/index.html?x=1#frag").text().contains("home"));

    let dir = get(addr, "/dir");
    assert_eq!(dir.status, 301);
    assert_eq!(dir.header("Location"), Some("/dir/"));
    assert!(get(addr, "/dir/").text().contains("dir"));

    for (path, ty) in [
        ("/css/site.css", "text/css; charset=utf-8"),
        ("/js/site.js", "text/javascript; charset=utf-8"),
        ("/favicon.svg", "image/svg+xml"),
        ("/img/a.png", "image/png"),
    ] {
        let r = get(addr, path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("Content-Type"), Some(ty), "{path}");
        assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
        assert!(
            !r.text().contains("EventSource"),
            "{path}: only HTML is injected"
        );
    }

    let missing = get(addr, "/no/such/page.html");
    assert_eq!(missing.status, 404);
    assert!(
        missing.text().contains("Page not found"),
        "the site's 404.html"
    );

    let head = request(addr, "HEAD", "/index.html");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD has no body");

    let post = request(addr, "POST", "/index.html");
    assert_eq!(post.status, 405);
    assert_eq!(post.header("Allow"), Some("GET, HEAD"));
    server.stop();
}

#[test]
fn fifty_concurrent_clients_are_served() {
    let (_tmp, root) = site_with_secret();
    let big: String = "<p>perfguide</p>\n".repeat(8_000);
    std::fs::write(
        root.join("big.html"),
        format!("<html><body>{big}</body></html>"),
    )
    .unwrap();
    let server = start(&root);
    let addr = server.addr();
    // Event streams open at the same time must not take request handlers away.
    let streams: Vec<Events> = (0..5).map(|_| Events::connect(addr)).collect();
    const CLIENTS: usize = 50;
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let started = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                // Every client is connected before any of them sends its request.
                let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                barrier.wait();
                let target = if i % 2 == 0 {
                    "/big.html"
                } else {
                    "/css/site.css"
                };
                write!(
                    s,
                    "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                let mut raw = Vec::new();
                s.read_to_end(&mut raw).unwrap();
                let r = parse_reply(&raw);
                (r.status, r.body.len(), i)
            })
        })
        .collect();
    for t in threads {
        let (status, len, i) = t.join().expect("a client thread failed");
        assert_eq!(status, 200, "client {i}");
        assert!(
            len >= if i % 2 == 0 { 8_000 * 17 } else { 6 },
            "client {i}: {len} bytes"
        );
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "50 clients took {took:?}");
    drop(streams);
    server.stop();
}

/// A browser keeps its connections open after each reply and opens several new ones at once
/// for a page's images and objects. Every new connection must be answered while the others
/// stay open: tiny_http 0.12's thread pool could lose the wake-up for one of them and leave it
/// waiting until another connection closed (print.html's flame graphs waited 20 s in CI).
#[test]
fn new_connections_are_answered_while_kept_alive_ones_stay_open() {
    let (_tmp, root) = site_with_secret();
    let server = start(&root);
    let addr = server.addr();
    const ROUNDS: usize = 40;
    const PER_ROUND: usize = 8;
    let mut kept = Vec::new();
    for round in 0..ROUNDS {
        let barrier = Arc::new(Barrier::new(PER_ROUND));
        let threads: Vec<_> = (0..PER_ROUND)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    let started = Instant::now();
                    write!(s, "GET /css/site.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
                    let reply = read_one_reply(&mut s);
                    (s, reply.map(|r| r.status), started.elapsed())
                })
            })
            .collect();
        for t in threads {
            let (s, status, took) = t.join().expect("a client thread failed");
            assert_eq!(
                status.as_ref().ok(),
                Some(&200),
                "round {round}: no reply after {took:?} ({status:?}) with {} connections kept open",
                kept.len()
            );
            // Kept open, idle, as a browser keeps them.
            kept.push(s);
        }
        if kept.len() > 48 {
            kept.clear();
        }
    }
    // A kept-alive connection serves a second request.
    let mut s = kept.pop().expect("a kept connection");
    write!(s, "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    assert_eq!(read_one_reply(&mut s).map(|r| r.status).ok(), Some(200));
    drop(kept);
    server.stop();
}

/// Reads one reply framed by its Content-Length from a connection that stays open.
fn read_one_reply(s: &mut TcpStream) -> Result<Reply, String> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = parse_reply(&raw[..end + 4]);
            let len: usize = head
                .header("Content-Length")
                .and_then(|v| v.parse().ok())
                .ok_or("no Content-Length")?;
            if raw.len() >= end + 4 + len {
                return Ok(Reply {
                    body: raw[end + 4..end + 4 + len].to_vec(),
                    ..head
                });
            }
        }
        match s.read(&mut buf) {
            Ok(0) => return Err("closed before the reply was complete".into()),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("{e}")),
        }
    }
}

/* ------------------------------------------------------------------------------------- */
/* The binary: live reload, errors, measurements                                           */
/* ------------------------------------------------------------------------------------- */

/// A running `perfguide serve`, stopped (by its process id) when dropped.
pub(crate) struct Served {
    child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) url: String,
    log: mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Starts `perfguide serve -p 0 -d out` in the book and waits for its address.
    pub(crate) fn start(t: &BookTest, env: &[(&str, &str)]) -> Served {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_perfguide"));
        cmd.args(["serve", "-p", "0", "-d", "out"])
            .current_dir(t.root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("starting perfguide serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // From here on, dropping `served` (also by a panic) stops the process.
        let mut served = Served {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            url: String::new(),
            log: rx,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = served.log.recv_timeout(left) else {
                break;
            };
            if let Some(at) = line.find("http://") {
                let url = line[at..].split_whitespace().next().unwrap().to_string();
                served.addr = url
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .parse()
                    .unwrap_or_else(|e| panic!("{url}: {e}"));
                served.url = url;
                return served;
            }
            seen.push(line);
        }
        panic!("perfguide serve did not start:\n{}", seen.join("\n"));
    }

    /// What the server printed since the last call.
    pub(crate) fn log(&self) -> String {
        self.log.try_iter().collect::<Vec<_>>().join("\n")
    }
}

const RELOAD_WITHIN: Duration = Duration::from_secs(30);

#[test]
fn an_edit_reloads_the_open_pages() {
    let t = BookTest::from_fixture("conformance");
    let served = Served::start(&t, &[]);
    assert!(
        served.url.starts_with("http://127.0.0.1:"),
        "binds to localhost by default: {}",
        served.url
    );
    let mut events = Events::connect(served.addr);
    let hello = events.expect("hello", Duration::from_secs(10));
    assert!(hello.contains("\"error\":null"), "{hello}");
    let page = get(served.addr, "/index.html");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("EventSource"));

    let readme = t.read("src/README.md");
    t.write(
        "src/README.md",
        format!("{readme}\nA freshly written sentence.\n"),
    );
    events.expect("reload", RELOAD_WITHIN);
    assert!(
        get(served.addr, "/index.html")
            .text()
            .contains("A freshly written sentence.")
    );
    // The search index follows the edit too.
    assert!(
        get(served.addr, "/search-index.js")
            .text()
            .contains("freshly written")
    );
    // Nothing is written into the book besides the output.
    assert!(!t.path("book").exists());
}

#[test]
fn a_build_error_is_shown_in_the_page_and_the_server_keeps_running() {
    let t = BookTest::from_fixture("conformance");
    let served = Served::start(&t, &[]);
    let mut events = Events::connect(served.addr);
    events.expect("hello", Duration::from_secs(10));
    let readme = t.read("src/README.md");
    t.write(
        "src/README.md",
        format!("{readme}\n{{{{#include no-such-file.rs}}}}\n<script>alert(1)</script>\n"),
    );
    let failed = events.expect("failed", RELOAD_WITHIN);
    assert!(failed.contains("README.md"), "names the file: {failed}");
    assert!(failed.contains("no-such-file.rs"), "{failed}");
    // The previous build is still served, and a page opened now learns of the error at once.
    let page = get(served.addr, "/index.html");
    assert_eq!(page.status, 200);
    let mut late = Events::connect(served.addr);
    let hello = late.expect("hello", Duration::from_secs(10));
    assert!(hello.contains("no-such-file.rs"), "{hello}");
    // Fixing the error reloads the page.
    t.write("src/README.md", &readme);
    events.expect("reload", RELOAD_WITHIN);
    let _ = served.log();
}

#[test]
fn a_book_that_does_not_build_at_the_start_serves_its_error_escaped() {
    let t = BookTest::from_fixture("conformance");
    let readme = t.read("src/README.md");
    t.write(
        "src/README.md",
        format!("{readme}\n{{{{#include <b>missing</b>.rs}}}}\n"),
    );
    let served = Served::start(&t, &[]);
    let r = get(served.addr, "/");
    assert_eq!(r.status, 503);
    let text = r.text();
    assert!(text.contains("did not build"), "{text}");
    assert!(text.contains("&lt;b&gt;missing"), "escaped: {text}");
    assert!(!text.contains("<b>missing"), "escaped: {text}");
    let mut events = Events::connect(served.addr);
    events.expect("hello", Duration::from_secs(10));
    t.write("src/README.md", &readme);
    events.expect("reload", RELOAD_WITHIN);
    assert_eq!(get(served.addr, "/").status, 200);
}

#[test]
fn serve_never_measures_and_marks_missing_and_stale_measurements() {
    let env = [("PERFGUIDE_TEST_KERNELS", "1")];
    let t = BookTest::from_fixture("measure");
    {
        let served = Served::start(&t, &env);
        let page = get(served.addr, "/results.html").text();
        assert!(page.contains("not measured yet"), "{page}");
        assert!(
            !t.path("measurements").exists()
                || std::fs::read_dir(t.path("measurements"))
                    .unwrap()
                    .next()
                    .is_none(),
            "serve measured something"
        );
    }
    // `perfguide build` measures; serve then shows the numbers, and marks them stale once the
    // records no longer match what they measured.
    t.run_env(&["build"], &env).success();
    let mut records = Vec::new();
    for e in walkdir::WalkDir::new(t.path("measurements")) {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "json") {
            records.push(e.path().to_path_buf());
        }
    }
    assert!(!records.is_empty());
    let served = Served::start(&t, &env);
    let page = get(served.addr, "/results.html").text();
    assert!(!page.contains("not measured yet"), "{page}");
    assert!(!page.contains("class=\"stale-block\""), "{page}");
    drop(served);
    for r in &records {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(r).unwrap()).unwrap();
        let mut json = json;
        json["key"] = serde_json::Value::String("measured-for-other-code".into());
        std::fs::write(r, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    }
    let before: Vec<String> = records
        .iter()
        .map(|r| std::fs::read_to_string(r).unwrap())
        .collect();
    let served = Served::start(&t, &env);
    let page = get(served.addr, "/results.html").text();
    assert!(page.contains("class=\"stale-block\""), "{page}");
    assert!(page.contains(">stale</span>"), "{page}");
    let after: Vec<String> = records
        .iter()
        .map(|r| std::fs::read_to_string(r).unwrap())
        .collect();
    assert!(before == after, "serve re-measured stale records");
}

/* ------------------------------------------------------------------------------------- */
/* Edit-to-reload latency (a benchmark: run with --ignored --nocapture, in release)       */
/* ------------------------------------------------------------------------------------- */

/// Writes a book of `chapters` chapters of prose and Rust code.
fn synthetic_book(chapters: usize) -> BookTest {
    let t = BookTest::from_fixture("conformance");
    let mut summary = String::from("# Summary\n\n");
    for i in 0..chapters {
        summary.push_str(&format!("- [Chapter {i}](ch{i}.md)\n"));
        let mut text = format!("# Chapter {i}\n\n");
        for s in 0..6 {
            text.push_str(&format!(
                "## Section {s}\n\nMeasuring code before optimising it is the first rule; profiles show where time goes, and a benchmark shows whether a change helped. Chapter {i} section {s}.\n\n```rust\nfn kernel(x: &[f64]) -> f64 {{\n    x.iter().map(|v| v * v).sum()\n}}\n```\n\n"
            ));
        }
        t.write(&format!("src/ch{i}.md"), text);
    }
    t.write("src/SUMMARY.md", summary);
    t
}

/// Times edit -> `reload` event for `rounds` prose edits of one chapter.
fn edit_to_reload(t: &BookTest, chapter: &str, rounds: usize) -> Vec<Duration> {
    let served = Served::start(t, &[]);
    let mut events = Events::connect(served.addr);
    let hello = events.expect("hello", Duration::from_secs(10));
    assert!(
        hello.contains("\"error\":null"),
        "the book does not build: {hello}"
    );
    let original = t.read(chapter);
    let mut times = Vec::with_capacity(rounds);
    for i in 0..rounds {
        std::thread::sleep(Duration::from_millis(300));
        let start = Instant::now();
        t.write(
            chapter,
            format!("{original}\nEdit number {i} of the prose.\n"),
        );
        events.expect("reload", RELOAD_WITHIN);
        times.push(start.elapsed());
    }
    t.write(chapter, original);
    times
}

fn report(name: &str, mut times: Vec<Duration>) -> Duration {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[times.len() / 2];
    eprintln!(
        "{name}: edit-to-reload over {} edits: min {:.0} ms, median {:.0} ms, max {:.0} ms",
        times.len(),
        ms(times[0]),
        ms(median),
        ms(times[times.len() - 1])
    );
    median
}

#[test]
#[ignore = "a benchmark: cargo test --release -- --ignored edit_to_reload --nocapture"]
fn edit_to_reload_latency_synthetic_100_chapters() {
    let t = synthetic_book(100);
    let median = report("100 chapters", edit_to_reload(&t, "src/ch50.md", 20));
    if !cfg!(debug_assertions) {
        assert!(median < Duration::from_millis(300), "{median:?}");
    }
}

#[test]
#[ignore = "a benchmark: cargo test --release -- --ignored edit_to_reload --nocapture"]
fn edit_to_reload_latency_the_guide() {
    // A snapshot of the repository's guide (the work tree, without build outputs).
    let t = crate::browser::snapshot_work_tree();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The Python environment is reused, not created again.
    let venv = repo.join("target/perfguide-venv");
    if venv.exists() {
        std::fs::create_dir_all(t.path("target")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&venv, t.path("target/perfguide-venv")).unwrap();
    }
    let chapter = "guides/timing.md";
    if !t.path(chapter).exists() {
        eprintln!("{chapter} does not exist; skipped");
        return;
    }
    let median = report("the guide", edit_to_reload(&t, chapter, 20));
    if !cfg!(debug_assertions) {
        assert!(median < Duration::from_millis(300), "{median:?}");
    }
}
