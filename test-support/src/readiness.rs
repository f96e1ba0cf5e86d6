//! Knowing when a freshly started server can take requests: it prints the port it bound (it
//! binds port 0, so only it knows), then `GET /readyz` must answer 200 (its database answers).
//! Polling the port the server announced means nobody sleeps a guessed time.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ChildStdout;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The line `tether-api serve` prints once it listens.
const LISTENING: &str = "tether-api listening on port ";

/// How often `/readyz` is asked while the server warms up.
const POLL: Duration = Duration::from_millis(20);

/// Reads the server's standard output until it announces its port, or until `deadline`. The
/// reader thread keeps draining the pipe afterwards so the server never blocks writing to it.
pub fn announced_port(stdout: ChildStdout, deadline: Instant) -> Option<u16> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = line.strip_prefix(LISTENING) {
                let _ = tx.send(port.trim().parse::<u16>().ok());
            }
        }
    });
    rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .ok()
        .flatten()
}

/// Asks `/readyz` on `port` until it answers 200 or `deadline` passes.
pub fn wait_until_ready(port: u16, deadline: Instant) -> bool {
    loop {
        if answers_ready(port) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// One `GET /readyz` over a plain socket: the callers are synchronous (and some run inside an
/// async runtime), so an HTTP client with its own runtime would not fit here.
fn answers_ready(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).is_err() {
        return false;
    }
    let mut status_line = [0u8; 12];
    stream.read_exact(&mut status_line).is_ok() && &status_line == b"HTTP/1.1 200"
}
