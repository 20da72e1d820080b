//! The server's own accept loop on a real port: slow and idle connections are closed, the
//! number of open connections is capped, and shutdown lets requests in flight finish. Every
//! wait is bounded, so a regression fails instead of hanging.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use brightspots::config::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use crate::helpers::TestApp;

/// Longer than any of these tests' timeouts take to fire.
const PATIENCE: Duration = Duration::from_secs(10);

/// A hub served on `127.0.0.1:0` until `stop`.
struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    _app: TestApp,
}

impl Server {
    async fn start(f: impl FnOnce(&mut Settings)) -> Server {
        let app = TestApp::configured(f).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(brightspots::serve(listener, app.state.clone(), async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop,
            task,
            _app: app,
        }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.unwrap()
    }

    /// Asks the server to stop and waits (boundedly) until it has.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        timeout(PATIENCE, self.task)
            .await
            .expect("the server did not shut down")
            .unwrap()
            .unwrap();
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// Reads one response (headers and a `Content-Length` body) off a kept-alive connection.
async fn response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let read = async {
        loop {
            let mut chunk = [0; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "closed mid-response: {}",
                String::from_utf8_lossy(&bytes)
            );
            bytes.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&bytes);
            if let Some(end) = text.find("\r\n\r\n") {
                let length: usize = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if bytes.len() >= end + 4 + length {
                    return;
                }
            }
        }
    };
    timeout(PATIENCE, read).await.expect("no response");
    String::from_utf8(bytes).unwrap()
}

/// Waits (boundedly) for the server to close `stream`; returns how long that took.
async fn closed(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut rest = Vec::new();
    match timeout(PATIENCE, stream.read_to_end(&mut rest)).await {
        Ok(Ok(_)) => assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest)),
        Ok(Err(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        Err(_) => panic!("the server kept the connection open for {PATIENCE:?}"),
    }
    started.elapsed()
}

#[tokio::test]
async fn clients_that_do_not_finish_their_headers_are_disconnected() {
    let server = Server::start(|s| {
        s.header_timeout_secs = 1;
        s.idle_timeout_secs = 60;
    })
    .await;
    let mut slow = server.connect().await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();
    let mut silent = server.connect().await;
    let took = closed(&mut slow).await;
    assert!(took >= Duration::from_millis(500), "closed after {took:?}");
    closed(&mut silent).await;

    // A request sent in good time is answered as ever.
    let mut prompt = server.connect().await;
    prompt.write_all(HEALTHZ).await.unwrap();
    assert!(response(&mut prompt).await.starts_with("HTTP/1.1 200"));
    server.stop().await;
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let server = Server::start(|s| {
        s.header_timeout_secs = 60;
        s.idle_timeout_secs = 1;
    })
    .await;
    let mut stream = server.connect().await;
    // Twice on one connection: it is kept alive between requests…
    for _ in 0..2 {
        stream.write_all(HEALTHZ).await.unwrap();
        assert!(response(&mut stream).await.starts_with("HTTP/1.1 200"));
    }
    // …until it has been idle for the idle timeout (not the longer header timeout).
    let took = closed(&mut stream).await;
    assert!(took >= Duration::from_millis(500), "closed after {took:?}");
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let server = Server::start(|s| s.max_connections = 2).await;
    let mut first = server.connect().await;
    let mut second = server.connect().await;
    for stream in [&mut first, &mut second] {
        stream.write_all(HEALTHZ).await.unwrap();
        assert!(response(stream).await.starts_with("HTTP/1.1 200"));
    }
    let mut third = server.connect().await;
    third.write_all(HEALTHZ).await.unwrap();
    let mut byte = [0];
    assert!(
        timeout(Duration::from_millis(700), third.read(&mut byte))
            .await
            .is_err(),
        "a third connection was served while two were open"
    );
    drop(first);
    assert!(response(&mut third).await.starts_with("HTTP/1.1 200"));
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_finishes_requests_in_flight() {
    let server = Server::start(|_| {}).await;
    let mut idle = server.connect().await;
    idle.write_all(HEALTHZ).await.unwrap();
    assert!(response(&mut idle).await.starts_with("HTTP/1.1 200"));

    // A form whose body is half sent: the request is in flight, its handler reading.
    let mut busy = server.connect().await;
    busy.write_all(
        b"POST /signout HTTP/1.1\r\nHost: localhost\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\ncsrf=",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let Server { stop, mut task, .. } = server;
    stop.send(()).unwrap();
    closed(&mut idle).await;
    assert!(
        timeout(Duration::from_millis(300), &mut task)
            .await
            .is_err(),
        "the server stopped with a request in flight"
    );
    busy.write_all(b"xxxxx").await.unwrap();
    let answer = response(&mut busy).await;
    assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    timeout(PATIENCE, task)
        .await
        .expect("the server did not shut down")
        .unwrap()
        .unwrap();
}
