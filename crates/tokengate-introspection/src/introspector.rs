//! [`Introspector`]: asks the authorization server about a token, caches its answer,
//! and hands back the same [`Verified`] shape as a JWT verification.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use tokengate_core::{AuthError, ErrorKind, RemoteVerifier, Verified, Verifier, VerifyFuture};
use tokio::sync::Semaphore;

use crate::builder::IntrospectorBuilder;
use crate::cache::{AnswerCache, Entry};
use crate::client_auth::ClientAuth;
use crate::response::{self, Answer, Rules};
use crate::transport::{self, shown};

/// An RFC 7662 introspection client. Cheap to clone (clones share the cache and limits).
///
/// It implements [`RemoteVerifier`], the hook the authentication step uses for opaque
/// tokens and for zero-trust re-checks of JWTs. Build it with [`Introspector::builder`].
///
/// What it guarantees, per call of [`Introspector::introspect`]:
///
/// - `active: false` is [`ErrorKind::Inactive`] (HTTP 401 `invalid_token`);
/// - an active token must name our audience in `aud` ([`ErrorKind::InvalidAudience`]),
///   its `iss`, when present, must be the configured issuer ([`ErrorKind::InvalidIssuer`]),
///   and `exp` / `nbf` / `iat` are checked with the leeway ([`ErrorKind::Expired`],
///   [`ErrorKind::NotYetValid`], [`ErrorKind::IssuedInFuture`]); a refresh token
///   (`token_type: refresh_token`) is refused ([`ErrorKind::InvalidType`]);
/// - the server unreachable, slow past the timeout, answering other than 200, with a
///   body over the limit or that is not a strict JSON object with a boolean `active`:
///   [`ErrorKind::IntrospectionUnavailable`] (HTTP 503), never a 401;
/// - answers are cached by HMAC of the token (never the token), concurrent misses for
///   one token share one request, and at most `max_concurrent` requests run at once.
#[derive(Clone)]
pub struct Introspector {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) endpoint: Url,
    pub(crate) client: reqwest::Client,
    pub(crate) auth: ClientAuth,
    pub(crate) assertion_audience: String,
    pub(crate) rules: Rules,
    pub(crate) cache: AnswerCache,
    pub(crate) ttl: Duration,
    pub(crate) negative_ttl: Duration,
    pub(crate) timeout: Duration,
    pub(crate) permits: Semaphore,
    pub(crate) max_body: usize,
    pub(crate) max_token_size: usize,
    pub(crate) jwt_verifier: Option<Verifier>,
    pub(crate) warned_unsupported: std::sync::atomic::AtomicBool,
}

fn unavailable(detail: impl Into<std::borrow::Cow<'static, str>>) -> AuthError {
    AuthError::with_detail(ErrorKind::IntrospectionUnavailable, detail)
}

impl Introspector {
    /// A builder for the authorization server `issuer` (the `iss` its answers must carry,
    /// and where the endpoint is discovered) and the `audience` this resource server
    /// accepts.
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> IntrospectorBuilder {
        IntrospectorBuilder::new(issuer.into(), audience.into())
    }

    pub(crate) fn from_inner(inner: Inner) -> Introspector {
        Introspector { inner: Arc::new(inner) }
    }

    /// The introspection endpoint (configured or discovered).
    pub fn endpoint(&self) -> &str {
        self.inner.endpoint.as_str()
    }

    /// The number of cached answers (approximate).
    pub async fn cached_entries(&self) -> u64 {
        self.inner.cache.entries.run_pending_tasks().await;
        self.inner.cache.entries.entry_count()
    }

    /// Drops every cached answer.
    pub fn invalidate_all(&self) {
        self.inner.cache.entries.invalidate_all();
    }

    /// Asks the authorization server about `token` (or answers from the cache).
    pub async fn introspect(&self, token: &str) -> Result<Verified, AuthError> {
        let answer = self.answer(token).await?;
        if answer.unsupported {
            return Err(unavailable("the authorization server does not introspect this kind of token"));
        }
        Ok(Verified::from_parts(None, answer.registered.clone(), answer.raw.clone(), None, 0))
    }

    /// This introspector as the zero-trust re-check of JWTs that verified locally
    /// (`Authenticator::remote_after_local` in tokengate-tower): see [`ZeroTrust`]. It shares
    /// this introspector's cache, limits and single-flight.
    pub fn zero_trust(&self) -> ZeroTrust {
        ZeroTrust { introspector: self.clone() }
    }

    async fn answer(&self, token: &str) -> Result<Arc<Answer>, AuthError> {
        let inner = &self.inner;
        if token.len() > inner.max_token_size {
            return Err(AuthError::new(ErrorKind::TokenTooLarge));
        }
        let mac = inner.cache.mac(token);
        let now = || inner.rules.clock.now();
        if let Some(entry) = inner.cache.entries.get(&mac).await {
            if now() < entry.not_after {
                return entry.outcome;
            }
            inner.cache.entries.invalidate(&mac).await;
        }
        let fetch = fetch(Arc::clone(&self.inner), token.to_owned());
        let entry = inner.cache.entries.try_get_with(mac, fetch).await.map_err(|e| AuthError::clone(&e))?;
        entry.outcome
    }
}

/// One call to the server, within the timeout and the concurrency cap, judged and made
/// into a cache entry.
async fn fetch(inner: Arc<Inner>, token: String) -> Result<Entry, AuthError> {
    let outcome = match tokio::time::timeout(inner.timeout, call(&inner, &token)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(unavailable(format!("no answer within {:?}", inner.timeout))),
    };
    let result = Entry::new(outcome, inner.rules.clock.now(), inner.ttl, inner.negative_ttl);
    if let Err(e) = &result {
        tracing::warn!(
            endpoint = %shown(&inner.endpoint),
            reason = e.detail().unwrap_or_default(),
            "tokengate: introspection unavailable"
        );
    }
    result
}

async fn call(inner: &Inner, token: &str) -> Result<Answer, AuthError> {
    let _permit = inner.permits.acquire().await.map_err(|_| unavailable("the introspector is closed"))?;
    let credentials = inner.auth.credentials(&inner.assertion_audience, inner.rules.clock.now()).await?;
    let form = form(token, &credentials.params);
    let ask_jwt = inner.jwt_verifier.is_some();
    let reply = transport::post(
        &inner.client,
        &inner.endpoint,
        credentials.authorization.as_deref(),
        form,
        ask_jwt,
        inner.max_body,
    )
    .await?;
    match reply.status {
        200 => {}
        400 if response::is_unsupported_token_type(&reply.body) => {
            if !inner.warned_unsupported.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!(
                    endpoint = %shown(&inner.endpoint),
                    "tokengate: the authorization server does not introspect some tokens (unsupported_token_type); \
                     zero-trust re-checks of them rely on local verification alone"
                );
            }
            return Ok(Answer::unsupported());
        }
        401 | 403 => {
            tracing::error!(
                endpoint = %shown(&inner.endpoint),
                status = reply.status,
                client_id = inner.auth.client_id(),
                "tokengate: the authorization server refused our client credentials"
            );
            return Err(unavailable(format!("the introspection endpoint answered {}", reply.status)));
        }
        status => return Err(unavailable(format!("the introspection endpoint answered {status}"))),
    }
    match (&inner.jwt_verifier, reply.jwt) {
        (None, false) => response::judge(&reply.body, &inner.rules),
        (Some(verifier), true) => {
            let text = std::str::from_utf8(&reply.body).map_err(|_| unavailable("the JWT response is not UTF-8"))?;
            let verified = verifier
                .verify(text.trim())
                .map_err(|e| unavailable(format!("the JWT introspection response does not verify: {:?}", e.kind())))?;
            let member = response::jwt_member(verified.raw_claims())?;
            response::judge(member.as_bytes(), &inner.rules)
        }
        (Some(_), false) => Err(unavailable("a signed (JWT) introspection response was required, JSON came")),
        (None, true) => Err(unavailable("a JWT introspection response came, but no verifier is configured for it")),
    }
}

/// The request body: the token, a hint, and the client credentials' parameters.
fn form(token: &str, params: &[(&'static str, String)]) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("token", token).append_pair("token_type_hint", "access_token");
    for (name, value) in params {
        form.append_pair(name, value);
    }
    form.finish()
}

impl RemoteVerifier for Introspector {
    fn verify_remote(&self, token: &str) -> VerifyFuture {
        let this = self.clone();
        let token = token.to_owned();
        Box::pin(async move { this.introspect(&token).await })
    }
}

/// The zero-trust re-check of a JWT that already verified locally: an [`Introspector`]
/// as the [`RemoteVerifier`] of `Authenticator::remote_after_local` (tokengate-tower).
///
/// Answers as [`Introspector::introspect`] does (`active: false`, another audience or
/// issuer, and expiry refuse the token; an unreachable server is
/// [`ErrorKind::IntrospectionUnavailable`]), with one difference: an authorization server
/// that answers `400 unsupported_token_type` does not introspect self-contained tokens at
/// all (oidc-provider, for one, neither introspects nor revokes its JWT access tokens), so
/// there is no revocation there to see and the local verification stands. The first such
/// answer is logged at `warn`. An opaque token is never accepted that way: the plain
/// introspector, used for opaque tokens, refuses the same answer with a 503.
///
/// The authenticator returns the locally verified claims; the `Verified` this returns is
/// only a pass or a refusal.
#[derive(Clone, Debug)]
pub struct ZeroTrust {
    introspector: Introspector,
}

impl RemoteVerifier for ZeroTrust {
    fn verify_remote(&self, token: &str) -> VerifyFuture {
        let this = self.introspector.clone();
        let token = token.to_owned();
        Box::pin(async move {
            let answer = this.answer(&token).await?;
            Ok(Verified::from_parts(None, answer.registered.clone(), answer.raw.clone(), None, 0))
        })
    }
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Introspector")
            .field("endpoint", &shown(&inner.endpoint))
            .field("issuer", &inner.rules.issuer)
            .field("audiences", &inner.rules.audiences)
            .field("auth", &inner.auth)
            .field("ttl", &inner.ttl)
            .field("negative_ttl", &inner.negative_ttl)
            .field("timeout", &inner.timeout)
            .field("jwt_responses", &inner.jwt_verifier.is_some())
            .finish_non_exhaustive()
    }
}
