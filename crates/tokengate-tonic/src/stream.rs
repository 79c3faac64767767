//! Streams that never outlive their token: [`AuthBody`], the response body of the layer.
//!
//! A server-streaming or bidirectional call can run for hours on a token that lives
//! minutes. The layer wraps every response body; once a stream is under way (the handler's
//! body waits for its next message, or has sent a second message) a timer is armed:
//!
//! - at the token's `exp` plus the leeway, the stream ends with a **trailers frame**
//!   carrying `grpc-status: 16` (`UNAUTHENTICATED`, "the access token expired");
//! - with a revocation store, the token is checked again every interval (default 1 s); a
//!   revoked token ends the stream the same way ("the access token has been revoked"), a
//!   store that cannot answer ends it with `UNAVAILABLE`.
//!
//! The handler's stream is dropped at that point, so the handler sees its sender closed.
//! The status goes out as trailers on purpose: an error from the body would reset the
//! HTTP/2 stream, and the client would see a protocol error instead of a status.
//! A unary response (one message, then trailers, all ready) never arms the timer.

use std::fmt;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use tokengate_core::{AuthError, Clock, ErrorKind, RevocationCheck, Verified};
use tokengate_tower::BearerChallenge;
use tokio::time::{Instant, Sleep};

use crate::status::to_status;

/// How often a stream's token is checked against the revocation store by default.
pub const DEFAULT_RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What a stream needs to watch its token; shared by all calls of a layer.
#[derive(Clone)]
pub(crate) struct WatchConfig {
    pub(crate) leeway: Duration,
    pub(crate) interval: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) revocation: Option<Arc<dyn RevocationCheck>>,
    pub(crate) challenge: BearerChallenge,
}

impl fmt::Debug for WatchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchConfig")
            .field("leeway", &self.leeway)
            .field("interval", &self.interval)
            .field("revocation", &self.revocation.is_some())
            .finish_non_exhaustive()
    }
}

/// The watch over one call's token.
pub(crate) struct Watch {
    config: WatchConfig,
    verified: Arc<Verified>,
    timer: Option<Pin<Box<Sleep>>>,
    data_frames: u32,
}

impl Watch {
    pub(crate) fn new(config: WatchConfig, verified: Arc<Verified>) -> Self {
        Watch { config, verified, timer: None, data_frames: 0 }
    }

    /// Seconds since the epoch at which the token ends, if it has an `exp`.
    fn end(&self) -> Option<i64> {
        let leeway = i64::try_from(self.config.leeway.as_secs()).unwrap_or(i64::MAX);
        self.verified.expires_at().map(|exp| exp.saturating_add(leeway))
    }

    /// Whether the token is still good now; the error that ends the stream otherwise.
    fn judge(&self) -> Result<(), AuthError> {
        if let Some(end) = self.end()
            && self.config.clock.now() >= end
        {
            return Err(AuthError::new(ErrorKind::Expired));
        }
        if let Some(store) = &self.config.revocation {
            store.check(&self.verified)?;
        }
        Ok(())
    }

    /// When to look next: the end of the token, or the next revocation check if sooner.
    /// `None`: never (no `exp`, no store).
    fn next_wake(&self) -> Option<Instant> {
        let now = Instant::now();
        let until_end = self.end().map(|end| {
            let secs = end.saturating_sub(self.config.clock.now()).max(0);
            // Wake just after the second boundary, so `now >= end` holds when we look.
            Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX)).saturating_add(Duration::from_millis(5))
        });
        let wait = match (until_end, &self.config.revocation) {
            (Some(end), Some(_)) => end.min(self.config.interval),
            (Some(end), None) => end,
            (None, Some(_)) => self.config.interval,
            (None, None) => return None,
        };
        now.checked_add(wait)
    }

    fn arm(&mut self) {
        if self.timer.is_none()
            && let Some(at) = self.next_wake()
        {
            self.timer = Some(Box::pin(tokio::time::sleep_until(at)));
        }
    }

    /// Polls the timer: `Ready(status)` when the stream must end now.
    fn poll_cut(&mut self, cx: &mut Context<'_>) -> Poll<AuthError> {
        loop {
            let Some(timer) = self.timer.as_mut() else { return Poll::Pending };
            ready!(timer.as_mut().poll(cx));
            if let Err(error) = self.judge() {
                return Poll::Ready(error);
            }
            match (self.next_wake(), self.timer.as_mut()) {
                (Some(at), Some(timer)) => timer.as_mut().reset(at),
                _ => {
                    self.timer = None;
                    return Poll::Pending;
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The response body of [`GrpcAuth`](crate::GrpcAuth): the inner body, ended with an
    /// `UNAUTHENTICATED` trailers frame when its token expires or is revoked (see the
    /// [module docs](self)); or nothing (a rejection, whose status is in the headers).
    pub struct AuthBody<B> {
        #[pin]
        state: State<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<B> {
        Empty,
        Plain { #[pin] body: B },
        Watched { body: Option<Pin<Box<B>>>, watch: Box<Watch> },
    }
}

impl<B> fmt::Debug for AuthBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Empty => "empty",
            State::Plain { .. } => "plain",
            State::Watched { body: Some(_), .. } => "watched",
            State::Watched { body: None, .. } => "ended",
        };
        f.debug_struct("AuthBody").field("state", &state).finish()
    }
}

impl<B> AuthBody<B> {
    /// A body with no frames (a rejection's status travels in the response headers).
    pub fn empty() -> Self {
        AuthBody { state: State::Empty }
    }

    /// The inner body, passed through untouched (an exempt call).
    pub(crate) fn plain(body: B) -> Self {
        AuthBody { state: State::Plain { body } }
    }

    /// The inner body, watched.
    pub(crate) fn watched(body: B, watch: Watch) -> Self {
        AuthBody { state: State::Watched { body: Some(Box::pin(body)), watch: Box::new(watch) } }
    }
}

impl<B> Default for AuthBody<B> {
    fn default() -> Self {
        AuthBody::empty()
    }
}

fn trailers(error: &AuthError, challenge: &BearerChallenge) -> HeaderMap {
    let status = to_status(error, challenge);
    let mut headers = HeaderMap::new();
    if status.add_header(&mut headers).is_err() {
        // Unreachable with our own ASCII messages; still end with a status.
        headers.insert("grpc-status", http::HeaderValue::from_static("16"));
    }
    headers
}

impl<B: Body> Body for AuthBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().state.project() {
            StateProj::Empty => Poll::Ready(None),
            StateProj::Plain { body } => body.poll_frame(cx),
            StateProj::Watched { body, watch } => {
                let Some(inner) = body.as_mut() else { return Poll::Ready(None) };
                if let Poll::Ready(error) = watch.poll_cut(cx) {
                    return Poll::Ready(Some(Ok(cut(body, watch, &error))));
                }
                match inner.as_mut().poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        if frame.is_data() {
                            watch.data_frames = watch.data_frames.saturating_add(1);
                            if watch.data_frames >= 2 {
                                watch.arm();
                            }
                        } else {
                            // The handler ended the call itself.
                            watch.timer = None;
                        }
                        Poll::Ready(Some(Ok(frame)))
                    }
                    Poll::Ready(other) => Poll::Ready(other),
                    Poll::Pending => {
                        if watch.timer.is_none() {
                            watch.arm();
                            if let Poll::Ready(error) = watch.poll_cut(cx) {
                                return Poll::Ready(Some(Ok(cut(body, watch, &error))));
                            }
                        }
                        Poll::Pending
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.state {
            State::Empty => true,
            State::Plain { body } => body.is_end_stream(),
            State::Watched { body: Some(body), .. } => body.is_end_stream(),
            State::Watched { body: None, .. } => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.state {
            State::Empty | State::Watched { body: None, .. } => SizeHint::with_exact(0),
            State::Plain { body } => body.size_hint(),
            State::Watched { body: Some(body), .. } => body.size_hint(),
        }
    }
}

/// Drops the handler's body and makes the trailers frame that ends the call.
fn cut<B, D>(body: &mut Option<Pin<Box<B>>>, watch: &mut Watch, error: &AuthError) -> Frame<D> {
    *body = None;
    watch.timer = None;
    tracing::debug!(kind = ?error.kind(), "tokengate: stream ended: its token is no longer valid");
    Frame::trailers(trailers(error, &watch.config.challenge))
}
