//! [`UrlSource`]: a JWKS document over HTTP(S).

use std::fmt;

use reqwest::Url;

use super::{FetchFuture, Fetched, KeySource, parse_public_jwks};
use crate::fetch::redact;
use crate::{HttpClient, JwksError};

/// A JWKS document fetched from a URL, honouring `Cache-Control: max-age`.
///
/// The URL must be `https` (plain `http` only to loopback, or with
/// [`HttpClient::allow_insecure_http`]). A user name, password or query in it (an API
/// key) is sent, but never shown: [`KeySource::describe`], `Debug`, errors and logs
/// print the URL without them.
///
/// Symmetric keys (`kty: "oct"`, HS256/384/512) in the document are skipped: whoever
/// can read a published key set could sign tokens with them. Configure HMAC secrets with
/// [`crate::EnvSource`] or a static [`tokengate_core::KeySet`].
///
/// ```no_run
/// use tokengate_jwks::{HttpClient, JwksCache, UrlSource};
/// # async fn run() -> Result<(), tokengate_jwks::JwksError> {
/// let client = HttpClient::new()?;
/// let source = UrlSource::new("https://idp.example/.well-known/jwks.json", client)?;
/// let cache = JwksCache::builder(source).bind_issuer("https://idp.example").build().await?;
/// # let _ = cache; Ok(()) }
/// ```
#[derive(Clone)]
pub struct UrlSource {
    url: Url,
    client: HttpClient,
}

impl UrlSource {
    /// A source for this JWKS URL, fetched with `client`.
    pub fn new(url: &str, client: HttpClient) -> Result<UrlSource, JwksError> {
        let url = client.check_url(url)?;
        Ok(UrlSource { url, client })
    }

    /// The URL, in full (credentials and query included: do not log it).
    pub fn url(&self) -> &str {
        self.url.as_str()
    }
}

impl fmt::Debug for UrlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlSource").field("url", &redact(&self.url)).field("client", &self.client).finish()
    }
}

impl KeySource for UrlSource {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(fetch_jwks(&self.client, &self.url))
    }

    fn describe(&self) -> String {
        format!("JWKS {}", redact(&self.url))
    }
}

/// Fetches and parses a published JWKS document, without its symmetric keys (shared
/// with discovery).
pub(crate) async fn fetch_jwks(client: &HttpClient, url: &Url) -> Result<Fetched, JwksError> {
    let doc = client.get(url).await?;
    Ok(parse_public_jwks(&doc.body)?.refresh_in(doc.max_age))
}
