//! [`Verifier`] and its builder.
//!
//! The builder cannot be finished without choosing the issuer(s), the audience(s) and
//! the allowed algorithms, or opting out of each explicitly.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::Algorithm;
use crate::alg::{self, ALL_ALGORITHMS};
use crate::claims::{self, RegisteredClaims};
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, ConfigError, ErrorKind};
use crate::jws::{self, Header};
use crate::key::Key;
use crate::key_set::{KeyQuery, KeyResolver, RefreshFuture};
use crate::verified::Verified;

/// The default maximum token size: 8 KiB.
pub const DEFAULT_MAX_TOKEN_SIZE: usize = 8 * 1024;
/// The default clock-skew leeway: 30 seconds.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

fn bit(alg: Algorithm) -> u16 {
    // An algorithm outside the table gets a bit that no allowlist holds.
    1 << alg::index(alg).min(15)
}

#[derive(Clone, Debug)]
enum Expect {
    Any,
    OneOf(Vec<String>),
}

/// Verifies compact JWS tokens. Cheap to clone (one `Arc`).
///
/// ```
/// use tokengate_core::{Algorithm, ErrorKind, Key, KeySet, Verifier};
/// let key = Key::hmac(Algorithm::HS256, b"0123456789abcdef0123456789abcdef").unwrap();
/// let verifier = Verifier::builder(KeySet::new([key]).unwrap())
///     .issuer("https://issuer.example")
///     .audience("orders-api")
///     .algorithms([Algorithm::HS256])
///     .build()
///     .unwrap();
/// let err = verifier.verify("not.a.jwt").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidEncoding);
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    resolver: Arc<dyn KeyResolver>,
    issuers: Expect,
    audiences: Expect,
    algorithms: u16,
    leeway: i64,
    required: Vec<String>,
    require_exp: bool,
    typ: Option<String>,
    max_age: Option<i64>,
    max_lifetime: Option<i64>,
    max_size: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Verifier")
            .field("issuers", &i.issuers)
            .field("audiences", &i.audiences)
            .field("algorithms", &self.algorithms())
            .field("leeway", &i.leeway)
            .field("required", &i.required)
            .field("require_exp", &i.require_exp)
            .field("typ", &i.typ)
            .field("max_age", &i.max_age)
            .field("max_lifetime", &i.max_lifetime)
            .field("max_size", &i.max_size)
            .finish_non_exhaustive()
    }
}

/// First step: choose the issuer(s).
#[must_use]
pub struct IssuerStep {
    resolver: Arc<dyn KeyResolver>,
}

/// Second step: choose the audience(s).
#[must_use]
pub struct AudienceStep {
    resolver: Arc<dyn KeyResolver>,
    issuers: Expect,
}

/// Third step: choose the allowed algorithms.
#[must_use]
pub struct AlgorithmStep {
    resolver: Arc<dyn KeyResolver>,
    issuers: Expect,
    audiences: Expect,
}

/// The last step: optional settings, then [`VerifierBuilder::build`].
#[must_use]
pub struct VerifierBuilder {
    resolver: Arc<dyn KeyResolver>,
    issuers: Expect,
    audiences: Expect,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    required: Vec<String>,
    require_exp: bool,
    typ: Option<String>,
    max_age: Option<Duration>,
    max_lifetime: Option<Duration>,
    max_size: usize,
    clock: Arc<dyn Clock>,
}

impl Verifier {
    /// Starts a verifier that finds keys with `keys` (a [`crate::KeySet`], a [`Key`],
    /// a JWKS cache, or any [`KeyResolver`]).
    pub fn builder(keys: impl KeyResolver) -> IssuerStep {
        IssuerStep { resolver: Arc::new(keys) }
    }
}

impl IssuerStep {
    /// Accept tokens whose `iss` equals `issuer` exactly (no trailing-slash tolerance).
    pub fn issuer(self, issuer: impl Into<String>) -> AudienceStep {
        AudienceStep { resolver: self.resolver, issuers: Expect::OneOf(vec![issuer.into()]) }
    }

    /// Accept tokens whose `iss` equals one of these exactly.
    pub fn issuers<I: IntoIterator<Item = S>, S: Into<String>>(self, issuers: I) -> AudienceStep {
        AudienceStep { resolver: self.resolver, issuers: Expect::OneOf(issuers.into_iter().map(Into::into).collect()) }
    }

    /// Opt out of the issuer check. Only safe when the keys themselves are bound to
    /// issuers (as a multi-issuer JWKS cache does) or belong to a single issuer.
    pub fn any_issuer(self) -> AudienceStep {
        AudienceStep { resolver: self.resolver, issuers: Expect::Any }
    }
}

impl AudienceStep {
    /// Accept tokens whose `aud` contains `audience`.
    pub fn audience(self, audience: impl Into<String>) -> AlgorithmStep {
        self.audiences([audience.into()])
    }

    /// Accept tokens whose `aud` contains one of these.
    pub fn audiences<I: IntoIterator<Item = S>, S: Into<String>>(self, audiences: I) -> AlgorithmStep {
        AlgorithmStep {
            resolver: self.resolver,
            issuers: self.issuers,
            audiences: Expect::OneOf(audiences.into_iter().map(Into::into).collect()),
        }
    }

    /// Opt out of the audience check. Dangerous: a token minted for any other service of
    /// the same issuer is then accepted here.
    pub fn any_audience(self) -> AlgorithmStep {
        AlgorithmStep { resolver: self.resolver, issuers: self.issuers, audiences: Expect::Any }
    }
}

impl AlgorithmStep {
    /// Accept only these algorithms. Each key is also pinned to its own algorithm.
    pub fn algorithms(self, algorithms: impl IntoIterator<Item = Algorithm>) -> VerifierBuilder {
        self.finish(algorithms.into_iter().collect())
    }

    /// Accept whatever algorithm the selected key is pinned to. Safe because keys are
    /// pinned, but an explicit list documents intent and rejects earlier.
    pub fn algorithms_of_keys(self) -> VerifierBuilder {
        self.finish(ALL_ALGORITHMS.to_vec())
    }

    fn finish(self, algorithms: Vec<Algorithm>) -> VerifierBuilder {
        VerifierBuilder {
            resolver: self.resolver,
            issuers: self.issuers,
            audiences: self.audiences,
            algorithms,
            leeway: DEFAULT_LEEWAY,
            required: Vec::new(),
            require_exp: true,
            typ: None,
            max_age: None,
            max_lifetime: None,
            max_size: DEFAULT_MAX_TOKEN_SIZE,
            clock: Arc::new(SystemClock),
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl VerifierBuilder {
    /// Clock-skew tolerance for `exp`, `nbf` and `iat` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Claims that must be present (registered or custom names).
    pub fn require<I: IntoIterator<Item = S>, S: Into<String>>(mut self, claims: I) -> Self {
        self.required.extend(claims.into_iter().map(Into::into));
        self
    }

    /// Require the header's `typ` to equal this (compared case-insensitively, with an
    /// optional `application/` prefix, RFC 7515 4.1.9), e.g. `at+jwt` (RFC 9068).
    ///
    /// Without this setting, `typ` is optional, but a token whose `typ` names another
    /// kind of JWT (any `*+jwt` other than `at+jwt`: `secevent+jwt`, `logout+jwt`,
    /// `dpop+jwt`, ...) is refused with [`ErrorKind::InvalidType`].
    pub fn typ(mut self, typ: impl Into<String>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// Refuse tokens issued (`iat`) longer ago than this; `iat` becomes required.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Refuse tokens whose `exp - iat` exceeds this; `iat` becomes required.
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = Some(lifetime);
        self
    }

    /// Refuse tokens larger than this many bytes (default 8 KiB).
    pub fn max_token_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// The clock (default: the system clock). Tests use [`crate::FixedClock`].
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Dangerous: accept tokens without `exp` (they never expire). A present `exp` is
    /// still checked.
    pub fn allow_missing_exp(mut self) -> Self {
        self.require_exp = false;
        self
    }

    /// Finishes the verifier.
    ///
    /// Errors when the algorithm list is empty, or an issuer or audience list is empty.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if self.algorithms.is_empty() {
            return Err(ConfigError::Invalid("the algorithm allowlist is empty".into()));
        }
        if matches!(&self.issuers, Expect::OneOf(v) if v.is_empty() || v.iter().any(String::is_empty)) {
            return Err(ConfigError::Invalid("the issuer list is empty or has an empty issuer".into()));
        }
        if matches!(&self.audiences, Expect::OneOf(v) if v.is_empty() || v.iter().any(String::is_empty)) {
            return Err(ConfigError::Invalid("the audience list is empty or has an empty audience".into()));
        }
        if self.max_size < 16 {
            return Err(ConfigError::Invalid("max token size below 16 bytes".into()));
        }
        let typ = self.typ.map(|t| normalize_typ(&t).to_ascii_lowercase());
        Ok(Verifier {
            inner: Arc::new(Inner {
                resolver: self.resolver,
                issuers: self.issuers,
                audiences: self.audiences,
                algorithms: self.algorithms.iter().fold(0, |m, a| m | bit(*a)),
                leeway: secs(self.leeway),
                required: self.required,
                require_exp: self.require_exp,
                typ,
                max_age: self.max_age.map(secs),
                max_lifetime: self.max_lifetime.map(secs),
                max_size: self.max_size,
                clock: self.clock,
            }),
        })
    }
}

fn normalize_typ(typ: &str) -> &str {
    match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => typ.get(12..).unwrap_or_default(),
        _ => typ,
    }
}

/// Whether a (normalized) `typ` names a kind of JWT other than an access token: any
/// `*+jwt` media type but `at+jwt` (RFC 8417 `secevent+jwt`, `logout+jwt`, RFC 9449
/// `dpop+jwt`, ...). Refused by default so that such a token never passes as an access token.
fn is_other_kind_of_jwt(typ: &str) -> bool {
    let len = typ.len();
    let suffixed = len >= 4 && typ.get(len - 4..).is_some_and(|s| s.eq_ignore_ascii_case("+jwt"));
    suffixed && !typ.eq_ignore_ascii_case("at+jwt")
}

/// A token that passed the key-independent checks: header and claims parsed once, owned
/// (so that a verification waiting for a key refresh resumes from here).
struct Prepared {
    header: jws::Header,
    claims_text: String,
    registered: RegisteredClaims,
    present_aud: bool,
    /// The first required claim that is absent (reported last, after the signature).
    missing: Option<String>,
}

impl Prepared {
    fn query(&self) -> KeyQuery<'_> {
        KeyQuery { kid: self.header.kid(), alg: self.header.alg(), issuer: self.registered.iss.as_deref() }
    }
}

thread_local! {
    static PREPARED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many tokens this thread has parsed (header and claims) so far. Lets tests prove that
/// a path parses a token once; not a stable API.
#[doc(hidden)]
pub fn parses_on_this_thread() -> u64 {
    PREPARED.with(std::cell::Cell::get)
}

/// Why [`Verifier::verify_resumable`] did not verify a token: the error, and, when the key
/// was unknown, what was already parsed, so that a key refresh can resume the verification
/// instead of starting over.
pub struct Refusal {
    error: AuthError,
    retry: Option<Box<Retry>>,
}

struct Retry {
    verifier: Verifier,
    signing_input: Box<str>,
    signature: Box<str>,
    prepared: Prepared,
}

impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refusal").field("error", &self.error).field("resumable", &self.retry.is_some()).finish()
    }
}

impl From<AuthError> for Refusal {
    fn from(error: AuthError) -> Self {
        Refusal { error, retry: None }
    }
}

impl Refusal {
    /// The error (so far: [`ErrorKind::UnknownKey`] may still be cured by a refresh).
    pub fn error(&self) -> &AuthError {
        &self.error
    }

    /// The error, dropping what was parsed.
    pub fn into_error(self) -> AuthError {
        self.error
    }

    /// Whether the key was unknown, so that [`Refusal::refresh`] may help.
    pub fn is_resumable(&self) -> bool {
        self.retry.is_some()
    }

    /// Asks the key resolver to refresh (coalesced and rate limited by the resolver). `Ok`
    /// with the [`Resume`] to await when it will; otherwise the error is final.
    pub fn refresh(self) -> Result<Resume, AuthError> {
        let Some(retry) = self.retry else { return Err(self.error) };
        match retry.verifier.inner.resolver.refresh_unknown(&retry.prepared.query()) {
            Some(refresh) => Ok(Resume { retry, refresh }),
            None => Err(self.error),
        }
    }
}

/// A verification waiting for a key refresh: [`Resume::finish`] awaits the refresh, then
/// resolves the key again and checks the token already parsed (it is not parsed again).
#[must_use = "a Resume does nothing until finished"]
pub struct Resume {
    retry: Box<Retry>,
    refresh: RefreshFuture,
}

impl fmt::Debug for Resume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resume").finish_non_exhaustive()
    }
}

impl Resume {
    /// The token's header, as parsed before the refresh (for logs: not yet verified).
    pub fn header(&self) -> &Header {
        &self.retry.prepared.header
    }

    /// Awaits the refresh and finishes the verification.
    pub async fn finish(self) -> Result<Verified, AuthError> {
        self.finish_as().await
    }

    async fn finish_as<C>(self) -> Result<Verified<C>, AuthError> {
        let Resume { retry, refresh } = self;
        refresh.await;
        let Retry { verifier, signing_input, signature, prepared } = *retry;
        let key = verifier.inner.resolver.resolve(&prepared.query())?;
        verifier.check(&signing_input, &signature, &prepared, &key)?;
        Ok(assemble(prepared, &key))
    }
}

impl Verifier {
    /// The algorithms this verifier accepts.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        ALL_ALGORITHMS.iter().copied().filter(|a| self.inner.algorithms & bit(*a) != 0).collect()
    }

    /// Now, by this verifier's clock (seconds since the Unix epoch): what `exp` is judged
    /// against (a cache of verified tokens expires its entries by the same clock).
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// The key this verifier's resolver gives for `query` now (a cache of verified tokens
    /// checks that the key which verified a token is still the one served).
    pub fn resolve_key(&self, query: &KeyQuery<'_>) -> Result<Key, AuthError> {
        self.inner.resolver.resolve(query)
    }

    /// The maximum token size in bytes.
    pub fn max_token_size(&self) -> usize {
        self.inner.max_size
    }

    /// The maximum age set with [`VerifierBuilder::max_age`]: tokens whose `iat` is
    /// older than this (plus the leeway) are refused. `None` when not set.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tokengate_core::{Algorithm, Key, KeySet, Verifier};
    /// let keys = KeySet::new([Key::hmac(Algorithm::HS256, &[7; 32]).unwrap()]).unwrap();
    /// let verifier = Verifier::builder(keys).issuer("i").audience("a").algorithms([Algorithm::HS256]);
    /// let verifier = verifier.max_age(Duration::from_secs(600)).build().unwrap();
    /// assert_eq!(verifier.max_age(), Some(Duration::from_secs(600)));
    /// ```
    pub fn max_age(&self) -> Option<Duration> {
        self.inner.max_age.and_then(|secs| u64::try_from(secs).ok()).map(Duration::from_secs)
    }

    /// Whether `self` and `other` are the same verifier: clones of one built verifier
    /// (they share their configuration), not merely two verifiers configured alike.
    /// Lets a cache remember *which* verifier accepted a token.
    ///
    /// ```
    /// use tokengate_core::{Algorithm, Key, KeySet, Verifier};
    /// let build = || {
    ///     let keys = KeySet::new([Key::hmac(Algorithm::HS256, &[7; 32]).unwrap()]).unwrap();
    ///     Verifier::builder(keys).issuer("i").audience("a").algorithms([Algorithm::HS256]).build().unwrap()
    /// };
    /// let a = build();
    /// assert!(a.ptr_eq(&a.clone()));
    /// assert!(!a.ptr_eq(&build()));
    /// ```
    pub fn ptr_eq(&self, other: &Verifier) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Verifies a compact JWS, with custom claims as [`serde_json::Value`].
    pub fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        self.verify_as(token)
    }

    /// Verifies a compact JWS: size and shape, header, key, algorithm pinning, signature,
    /// then registered claims. Custom claims `C` are deserialized lazily.
    pub fn verify_as<C: DeserializeOwned>(&self, token: &str) -> Result<Verified<C>, AuthError> {
        let (segments, prepared) = self.prepare(token)?;
        let key = self.inner.resolver.resolve(&prepared.query())?;
        self.check(segments.signing_input, segments.signature, &prepared, &key)?;
        Ok(assemble(prepared, &key))
    }

    /// Like [`Verifier::verify`], but when no key is known for the token, the [`Refusal`]
    /// keeps what was parsed: [`Refusal::refresh`] then asks the resolver for new keys and
    /// [`Resume::finish`] completes the verification without parsing the token again.
    ///
    /// ```
    /// use tokengate_core::{Algorithm, ErrorKind, Key, KeySet, Verifier};
    /// let keys = KeySet::new([Key::hmac(Algorithm::HS256, &[7; 32]).unwrap().with_kid("a")]).unwrap();
    /// let verifier = Verifier::builder(keys).issuer("i").audience("x").algorithms([Algorithm::HS256]).build().unwrap();
    /// // {"alg":"HS256","kid":"b"}.{"iss":"i"}.sig
    /// let refusal = verifier.verify_resumable("eyJhbGciOiJIUzI1NiIsImtpZCI6ImIifQ.eyJpc3MiOiJpIn0.c2ln").unwrap_err();
    /// assert_eq!(refusal.error().kind(), ErrorKind::UnknownKey);
    /// assert!(refusal.is_resumable());
    /// // A static key set cannot refresh: the error is final.
    /// assert_eq!(refusal.refresh().unwrap_err().kind(), ErrorKind::UnknownKey);
    /// ```
    pub fn verify_resumable(&self, token: &str) -> Result<Verified, Refusal> {
        self.attempt(token)
    }

    /// Like [`Verifier::verify_as`], but when the key is unknown asks the resolver to
    /// refresh (coalesced and rate limited by the resolver) and tries once more, resuming
    /// from the parsed token.
    pub async fn verify_async<C: DeserializeOwned>(&self, token: &str) -> Result<Verified<C>, AuthError> {
        match self.attempt(token) {
            Ok(verified) => Ok(verified),
            Err(refusal) => refusal.refresh()?.finish_as().await,
        }
    }

    fn attempt<C>(&self, token: &str) -> Result<Verified<C>, Refusal> {
        let (segments, prepared) = self.prepare(token)?;
        match self.inner.resolver.resolve(&prepared.query()) {
            Ok(key) => {
                self.check(segments.signing_input, segments.signature, &prepared, &key)?;
                Ok(assemble(prepared, &key))
            }
            Err(error) if error.kind() == ErrorKind::UnknownKey => Err(Refusal {
                error,
                retry: Some(Box::new(Retry {
                    verifier: self.clone(),
                    signing_input: segments.signing_input.into(),
                    signature: segments.signature.into(),
                    prepared,
                })),
            }),
            Err(error) => Err(error.into()),
        }
    }

    fn prepare<'t>(&self, token: &'t str) -> Result<(jws::Segments<'t>, Prepared), AuthError> {
        PREPARED.with(|n| n.set(n.get().wrapping_add(1)));
        let inner = &*self.inner;
        if token.len() > inner.max_size {
            return Err(AuthError::new(ErrorKind::TokenTooLarge));
        }
        let segments = jws::split(token)?;
        let header = jws::with_b64(segments.header, "header", jws::parse_header)?;
        if inner.algorithms & bit(header.alg()) == 0 {
            return Err(AuthError::with_detail(ErrorKind::AlgorithmNotAllowed, "alg not in the allowlist"));
        }
        let claims_bytes = jws::b64(segments.payload, "payload")?;
        let claims_text = String::from_utf8(claims_bytes)
            .map_err(|_| AuthError::with_detail(ErrorKind::InvalidEncoding, "claims are not UTF-8"))?;
        let (registered, present_aud, missing) = {
            let parsed = claims::parse_claims(&claims_text)?;
            let missing = inner.required.iter().find(|name| !parsed.has(name)).cloned();
            (parsed.registered, parsed.present_aud, missing)
        };
        Ok((segments, Prepared { header, claims_text, registered, present_aud, missing }))
    }

    /// Algorithm pinning, signature, registered claims.
    fn check(&self, signing_input: &str, signature: &str, prepared: &Prepared, key: &Key) -> Result<(), AuthError> {
        if key.algorithm() != prepared.header.alg() {
            return Err(AuthError::with_detail(ErrorKind::AlgorithmMismatch, "alg is not the key's algorithm"));
        }
        jws::with_b64(signature, "signature", |signature| key.verify(signing_input.as_bytes(), signature))?;
        self.check_claims(prepared, key)
    }

    fn check_claims(&self, prepared: &Prepared, key: &Key) -> Result<(), AuthError> {
        let inner = &*self.inner;
        let header = &prepared.header;
        let c = &prepared.registered;
        let ok = match &inner.typ {
            Some(want) => header.typ().is_some_and(|t| normalize_typ(t).eq_ignore_ascii_case(want)),
            None => header.typ().is_none_or(|t| !is_other_kind_of_jwt(normalize_typ(t))),
        };
        if !ok {
            return Err(AuthError::new(ErrorKind::InvalidType));
        }
        if let Some(bound) = key.issuer()
            && c.iss.as_deref() != Some(bound)
        {
            return Err(AuthError::with_detail(ErrorKind::InvalidIssuer, "iss is not the key's issuer"));
        }
        if let Expect::OneOf(issuers) = &inner.issuers {
            match &c.iss {
                None => return Err(AuthError::with_detail(ErrorKind::MissingClaim, "iss")),
                Some(iss) if !issuers.iter().any(|i| i == iss) => return Err(AuthError::new(ErrorKind::InvalidIssuer)),
                Some(_) => {}
            }
        }
        if let Expect::OneOf(audiences) = &inner.audiences {
            if !prepared.present_aud {
                return Err(AuthError::with_detail(ErrorKind::MissingClaim, "aud"));
            }
            if !c.aud.iter().any(|a| audiences.contains(a)) {
                return Err(AuthError::new(ErrorKind::InvalidAudience));
            }
        }
        let now = inner.clock.now();
        let leeway = inner.leeway;
        match c.exp {
            Some(exp) if now.saturating_sub(leeway) >= exp => return Err(AuthError::new(ErrorKind::Expired)),
            None if inner.require_exp => return Err(AuthError::with_detail(ErrorKind::MissingClaim, "exp")),
            _ => {}
        }
        if let Some(nbf) = c.nbf
            && nbf > now.saturating_add(leeway)
        {
            return Err(AuthError::new(ErrorKind::NotYetValid));
        }
        if let Some(iat) = c.iat
            && iat > now.saturating_add(leeway)
        {
            return Err(AuthError::new(ErrorKind::IssuedInFuture));
        }
        if inner.max_age.is_some() || inner.max_lifetime.is_some() {
            let Some(iat) = c.iat else {
                return Err(AuthError::with_detail(ErrorKind::MissingClaim, "iat"));
            };
            if let Some(max_age) = inner.max_age
                && now.saturating_sub(iat) > max_age.saturating_add(leeway)
            {
                return Err(AuthError::new(ErrorKind::TooOld));
            }
            if let Some(max) = inner.max_lifetime {
                // A token without `exp` has an unbounded lifetime: refused even when
                // `allow_missing_exp` is set.
                let Some(exp) = c.exp else {
                    return Err(AuthError::with_detail(ErrorKind::MissingClaim, "exp"));
                };
                if exp.saturating_sub(iat) > max {
                    return Err(AuthError::new(ErrorKind::LifetimeTooLong));
                }
            }
        }
        if let Some(missing) = &prepared.missing {
            return Err(AuthError::with_detail(ErrorKind::MissingClaim, missing.clone()));
        }
        Ok(())
    }
}

/// Builds the verified token, moving the decoded claims text into it (no copy).
fn assemble<C>(prepared: Prepared, key: &Key) -> Verified<C> {
    // The verifying key's kid (as `Verified::key_id` documents), which is also known when
    // the token named none.
    let kid = key.kid().map(str::to_owned);
    Verified::from_parts(
        Some(prepared.header),
        prepared.registered,
        prepared.claims_text.into_boxed_str(),
        kid,
        key.generation(),
    )
    .with_key_identity(key.identity())
}
