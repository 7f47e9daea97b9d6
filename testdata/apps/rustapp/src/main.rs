//! The Rust sample app that nua's tests push. Standard library only.
//!
//!   GET /         hello from rustapp <$GREETING or "world">
//!   GET /env/KEY  the value of the environment variable KEY (404 if unset)
//!
//! It listens on :$PORT, one connection at a time, and exits on SIGTERM
//! (the default action of the signal).
use std::env;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

const DEFAULT_GREETING: &str = "world";

fn main() {
    let port = env::var("PORT").unwrap_or_else(|_| {
        eprintln!("rustapp: PORT is not set");
        std::process::exit(1);
    });
    let listener = TcpListener::bind(format!("0.0.0.0:{port}")).unwrap_or_else(|e| {
        eprintln!("rustapp: listen on :{port}: {e}");
        std::process::exit(1);
    });
    println!("rustapp listening on :{port}");
    for stream in listener.incoming().flatten() {
        if let Err(e) = serve(stream) {
            eprintln!("rustapp: {e}");
        }
    }
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = request.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = match (method, path) {
        ("GET", "/") => {
            let greeting = env::var("GREETING").ok().filter(|g| !g.is_empty());
            (200, format!("hello from rustapp {}\n", greeting.as_deref().unwrap_or(DEFAULT_GREETING)))
        }
        ("GET", p) if p.starts_with("/env/") => match env::var(&p[5..]) {
            Ok(v) => (200, v),
            Err(_) => (404, "not set\n".to_string()),
        },
        ("GET", _) => (404, "not found\n".to_string()),
        _ => (405, "method not allowed\n".to_string()),
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
