//! [`ResponseFuture`] of [`FailureRateLimit`](super::FailureRateLimit).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;
use tokengate_core::AuthError;

use super::{Client, Limiter, counts_as_failure};
use crate::response::AfterAuthentication;

pin_project! {
    /// Response future of [`FailureRateLimit`](super::FailureRateLimit).
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F, client: Option<(Client, Arc<Limiter>)> },
        Limited { response: Option<Response<B>> },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F, client: Option<(Client, Arc<Limiter>)>) -> Self {
        ResponseFuture { kind: Kind::Inner { future, client } }
    }

    pub(crate) fn limited(response: Response<B>) -> Self {
        ResponseFuture { kind: Kind::Limited { response: Some(response) } }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future, client } => {
                let result = ready!(future.poll(cx));
                if let (Ok(response), Some((client, limiter))) = (&result, client.take())
                    && response.extensions().get::<AuthError>().is_some_and(counts_as_failure)
                    && response.extensions().get::<AfterAuthentication>().is_none()
                {
                    limiter.record_failure(client);
                }
                Poll::Ready(result)
            }
            KindProj::Limited { response } => {
                #[allow(clippy::expect_used)] // polling a completed future is a caller bug
                let response = response.take().expect("ResponseFuture polled after completion");
                Poll::Ready(Ok(response))
            }
        }
    }
}
