//! [`UrlSource`]: a JWKS document over HTTP(S).

use reqwest::Url;

use super::{FetchFuture, Fetched, KeySource, parse_jwks};
use crate::{HttpClient, JwksError};

/// A JWKS document fetched from a URL, honouring `Cache-Control: max-age`.
///
/// The URL must be `https` (plain `http` only to loopback, or with
/// [`HttpClient::allow_insecure_http`]).
///
/// ```no_run
/// use tokengate_jwks::{HttpClient, JwksCache, UrlSource};
/// # async fn run() -> Result<(), tokengate_jwks::JwksError> {
/// let client = HttpClient::new()?;
/// let source = UrlSource::new("https://idp.example/.well-known/jwks.json", client)?;
/// let cache = JwksCache::builder(source).bind_issuer("https://idp.example").build().await?;
/// # let _ = cache; Ok(()) }
/// ```
#[derive(Debug, Clone)]
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

    /// The URL.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }
}

impl KeySource for UrlSource {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(fetch_jwks(&self.client, &self.url))
    }

    fn describe(&self) -> String {
        format!("JWKS {}", self.url)
    }
}

/// Fetches and parses a JWKS document (shared with discovery).
pub(crate) async fn fetch_jwks(client: &HttpClient, url: &Url) -> Result<Fetched, JwksError> {
    let doc = client.get(url).await?;
    Ok(parse_jwks(&doc.body)?.refresh_in(doc.max_age))
}
