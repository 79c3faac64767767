//! [`ResponseFuture`] of [`JwtAuth`](super::JwtAuth).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

/// The slow path: refresh keys, verify, then call the inner service (or reject).
pub(crate) type Verifying<F, B> = Pin<Box<dyn Future<Output = Result<F, Response<B>>> + Send>>;

pin_project! {
    /// Response future of [`JwtAuth`](super::JwtAuth).
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<B>> },
        Verifying { future: Verifying<F, B> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture { state: State::Inner { future } }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        ResponseFuture { state: State::Rejected { response: Some(response) } }
    }

    pub(crate) fn verifying(future: Verifying<F, B>) -> Self {
        ResponseFuture { state: State::Verifying { future } }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Inner { future } => return future.poll(cx),
                StateProj::Rejected { response } => {
                    #[allow(clippy::expect_used)] // polling a completed future is a caller bug
                    let response = response.take().expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response));
                }
                StateProj::Verifying { future } => match ready!(future.as_mut().poll(cx)) {
                    Ok(inner) => this.state.set(State::Inner { future: inner }),
                    Err(response) => {
                        this.state.set(State::Rejected { response: None });
                        return Poll::Ready(Ok(response));
                    }
                },
            }
        }
    }
}
