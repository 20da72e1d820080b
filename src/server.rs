//! Our own accept loop, in place of `axum::serve`, which never times a connection out: a
//! security audit (issue 14) kept 500 idle and 300 slow-header connections open for minutes.
//! Here every connection has a clock (headers due within `header_timeout`, idle for at most
//! `idle_timeout`), and at most `max_connections` are open at once: beyond that, accepting
//! waits, so one client cannot take all of the process's file descriptors. HTTP/1.1 only.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// How long a connection may dawdle, and how many may be open.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` until `shutdown` resolves, then stops accepting and waits for the open
/// connections: requests in flight finish, idle connections close at once.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(
        limits.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let graceful = GracefulShutdown::new();
    // No hyper timer, so hyper's own header timeout is off: it starts its clock as soon as a
    // connection is idle, which would make every idle timeout the header timeout.
    let builder = http1::Builder::new();
    let mut shutdown = pin!(shutdown);
    'accept: loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => break accepted,
                    Err(e) => accept_failed(e).await,
                },
                () = &mut shutdown => break 'accept,
            }
        };
        let clock = Arc::new(Clock::new(limits));
        let io = TokioIo::new(Watched {
            stream,
            clock: clock.clone(),
        });
        let service = Tracked {
            router: TowerToHyperService::new(router.clone()),
            clock: clock.clone(),
            peer,
        };
        let conn = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            match clock.enforce(conn).await {
                Ok(()) => {}
                Err(Ended::TimedOut(why)) => tracing::debug!(why, "connection closed"),
                Err(Ended::Failed(e)) => tracing::debug!(error = %e, "connection failed"),
            }
            drop(permit);
        });
    }
    // New connections are refused from here on rather than left waiting.
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Accepting fails when the process is out of file descriptors (or the client gave up
/// already); as hyper 0.14 and axum do, wait a moment rather than spin.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Why a connection was closed before its client was done with it.
enum Ended {
    TimedOut(&'static str),
    Failed(hyper::Error),
}

/// Where one connection is: waiting for a request (since when, and since when its first byte
/// arrived) or serving some.
enum Phase {
    Waiting {
        since: Instant,
        head_from: Option<Instant>,
    },
    Serving(usize),
}

/// One connection's clock. Reads on the socket, requests and the end of their responses all
/// happen while the connection future is polled, so `enforce` looks at the deadline after
/// every poll and never sleeps past it.
struct Clock {
    limits: Limits,
    phase: Mutex<Phase>,
}

impl Clock {
    /// A new connection's first request is due within the header timeout, as if its first
    /// byte had come with the connection: a client that connects and sends nothing is
    /// treated as a slow one.
    fn new(limits: Limits) -> Clock {
        let now = Instant::now();
        Clock {
            limits,
            phase: Mutex::new(Phase::Waiting {
                since: now,
                head_from: Some(now),
            }),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        // Nothing panics while holding the lock; if something did, the phase is still whole.
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes arrived: if the connection was idle, a request has started.
    fn read(&self) {
        if let Phase::Waiting {
            head_from: head_from @ None,
            ..
        } = &mut *self.phase()
        {
            *head_from = Some(Instant::now());
        }
    }

    /// A request's headers are in; the connection is busy until its response is sent.
    fn serving(self: &Arc<Self>) -> Serving {
        let mut phase = self.phase();
        *phase = match *phase {
            Phase::Waiting { .. } => Phase::Serving(1),
            Phase::Serving(n) => Phase::Serving(n + 1),
        };
        Serving(self.clone())
    }

    /// When the connection is closed unless something happens first, and why.
    fn deadline(&self) -> Option<(Instant, &'static str)> {
        match *self.phase() {
            // (A timeout too long to add to the clock is no timeout.)
            Phase::Waiting {
                head_from: Some(at),
                ..
            } => Some((
                at.checked_add(self.limits.header_timeout)?,
                "request headers too slow",
            )),
            Phase::Waiting {
                since,
                head_from: None,
            } => Some((since.checked_add(self.limits.idle_timeout)?, "idle")),
            // A handler takes as long as it takes.
            Phase::Serving(_) => None,
        }
    }

    /// Drives `conn` to its end, or drops it (closing the socket) when its deadline passes.
    async fn enforce(
        &self,
        conn: impl Future<Output = Result<(), hyper::Error>>,
    ) -> Result<(), Ended> {
        let mut conn = pin!(conn);
        // Reset to the deadline on the first poll.
        let mut timer = Box::pin(tokio::time::sleep(Duration::ZERO));
        poll_fn(|cx| {
            if let Poll::Ready(result) = conn.as_mut().poll(cx) {
                return Poll::Ready(result.map_err(Ended::Failed));
            }
            if let Some((deadline, why)) = self.deadline() {
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(Ended::TimedOut(why)));
                }
            }
            Poll::Pending
        })
        .await
    }
}

/// Held from a request's headers until its response body is done (or dropped).
struct Serving(Arc<Clock>);

impl Drop for Serving {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        *phase = match *phase {
            Phase::Serving(n) if n > 1 => Phase::Serving(n - 1),
            _ => Phase::Waiting {
                since: Instant::now(),
                head_from: None,
            },
        };
    }
}

/// The socket, telling the clock when bytes arrive.
struct Watched {
    stream: TcpStream,
    clock: Arc<Clock>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.clock.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The router, marking each request busy on the clock until its response is sent, and
/// telling it the client's address (the API's rate limits count by it).
struct Tracked {
    router: TowerToHyperService<Router>,
    clock: Arc<Clock>,
    peer: std::net::SocketAddr,
}

type TrackedFuture =
    Pin<Box<dyn Future<Output = Result<Response<TrackedBody>, Infallible>> + Send>>;

impl Service<Request<Incoming>> for Tracked {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = TrackedFuture;

    fn call(&self, mut request: Request<Incoming>) -> TrackedFuture {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        let serving = self.clock.serving();
        let response = self.router.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| TrackedBody {
                body,
                _serving: serving,
            }))
        })
    }
}

/// A response body that keeps its connection marked busy until it is sent.
struct TrackedBody {
    body: Body,
    _serving: Serving,
}

impl hyper::body::Body for TrackedBody {
    type Data = <Body as hyper::body::Body>::Data;
    type Error = <Body as hyper::body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
