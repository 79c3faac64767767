//! [`BearerInterceptor`]: a static token on every call of a generated client, through
//! `FooClient::with_interceptor`.

use std::fmt;
use std::sync::Arc;

use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use super::provider::{AccessToken, ProviderError};

/// Sets `authorization: Bearer <token>` on every request.
///
/// ```
/// use tokengate_tonic::client::BearerInterceptor;
/// use tonic::service::Interceptor;
///
/// let mut interceptor = BearerInterceptor::new("eyJhbGciOi.eyJzdWIiOi.c2ln")?;
/// let request = interceptor.call(tonic::Request::new(())).unwrap();
/// assert_eq!(request.metadata().get("authorization").unwrap(), "Bearer eyJhbGciOi.eyJzdWIiOi.c2ln");
/// # Ok::<(), tokengate_tonic::client::ProviderError>(())
/// ```
#[derive(Clone)]
pub struct BearerInterceptor {
    value: AsciiMetadataValue,
}

impl fmt::Debug for BearerInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerInterceptor([redacted])")
    }
}

impl BearerInterceptor {
    /// Sends `token` (checked to be a valid bearer token).
    pub fn new(token: impl Into<Arc<str>>) -> Result<Self, ProviderError> {
        let token = AccessToken::new(token)?;
        let mut value = AsciiMetadataValue::try_from(format!("Bearer {}", token.expose()))
            .map_err(|_| ProviderError::InvalidToken)?;
        value.set_sensitive(true);
        Ok(BearerInterceptor { value })
    }
}

impl Interceptor for BearerInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.metadata_mut().insert("authorization", self.value.clone());
        Ok(request)
    }
}
