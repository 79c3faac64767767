//! [`Verified`]: a token whose signature and registered claims have been checked.

use std::fmt;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;

use crate::claims::RegisteredClaims;
use crate::error::{AuthError, ErrorKind};
use crate::jws::Header;

/// A verified token: the header, the registered claims (parsed eagerly) and the raw
/// claims JSON, from which custom claims `C` are deserialized on first use and cached.
///
/// ```
/// # use tokengate_core::*;
/// # let v: Verified = tokengate_core::unchecked::verified_from_parts(None, RegisteredClaims::default(), r#"{"scope":"a b"}"#.into(), None, 0);
/// #[derive(serde::Deserialize)]
/// struct Mine { scope: String }
/// let mine: Mine = v.claims_as().unwrap();
/// assert_eq!(mine.scope, "a b");
/// assert_eq!(v.claims().unwrap()["scope"], "a b"); // C defaults to serde_json::Value
/// ```
pub struct Verified<C = serde_json::Value> {
    header: Option<Header>,
    registered: RegisteredClaims,
    raw: Box<str>,
    kid: Option<String>,
    generation: u64,
    key_identity: u64,
    custom: OnceLock<C>,
    scopes: OnceLock<Box<[String]>>,
}

impl<C> Verified<C> {
    /// Assembles a verified token (outside this crate: [`crate::unchecked`]).
    pub(crate) fn from_parts(
        header: Option<Header>,
        registered: RegisteredClaims,
        raw_claims: Box<str>,
        kid: Option<String>,
        key_generation: u64,
    ) -> Self {
        Verified {
            header,
            registered,
            raw: raw_claims,
            kid,
            generation: key_generation,
            key_identity: 0,
            custom: OnceLock::new(),
            scopes: OnceLock::new(),
        }
    }

    /// Records the [`Key::identity`](crate::Key::identity) of the verifying key.
    pub(crate) fn with_key_identity(mut self, identity: u64) -> Self {
        self.key_identity = identity;
        self
    }

    /// The JOSE header (absent for tokens that are not JWS).
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// The registered claims.
    pub fn registered(&self) -> &RegisteredClaims {
        &self.registered
    }

    /// `sub`, if present.
    pub fn subject(&self) -> Option<&str> {
        self.registered.sub.as_deref()
    }

    /// `iss`, if present.
    pub fn issuer(&self) -> Option<&str> {
        self.registered.iss.as_deref()
    }

    /// `exp`, if present.
    pub fn expires_at(&self) -> Option<i64> {
        self.registered.exp
    }

    /// The raw claims JSON (already checked to be a strict JSON object).
    pub fn raw_claims(&self) -> &str {
        &self.raw
    }

    /// The `kid` of the key that verified the token.
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The generation of the key set the verifying key came from.
    pub fn key_generation(&self) -> u64 {
        self.generation
    }

    /// The [`Key::identity`](crate::Key::identity) of the key that verified the token; 0
    /// when no [`Key`](crate::Key) did (a token assembled with [`crate::unchecked::verified_from_parts`],
    /// e.g. from introspection).
    pub fn key_identity(&self) -> u64 {
        self.key_identity
    }

    /// Deserializes the claims as any type `T`, without caching.
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, AuthError> {
        serde_json::from_str(&self.raw).map_err(|e| {
            AuthError::with_detail(ErrorKind::InvalidClaim, format!("custom claims: {}", e.classify_str()))
        })
    }

    /// The space-separated `scope` claim (RFC 8693 / RFC 9068), or the `scp` array. Parsed
    /// on the first call and kept: policies ask on every request.
    pub fn scopes(&self) -> &[String] {
        self.scopes.get_or_init(|| self.parse_scopes().into_boxed_slice())
    }

    fn parse_scopes(&self) -> Vec<String> {
        #[derive(serde::Deserialize)]
        struct S {
            scope: Option<serde_json::Value>,
            scp: Option<serde_json::Value>,
        }
        let Ok(s) = serde_json::from_str::<S>(&self.raw) else { return Vec::new() };
        let mut out = Vec::new();
        for v in [s.scope, s.scp].into_iter().flatten() {
            match v {
                serde_json::Value::String(s) => out.extend(s.split_ascii_whitespace().map(str::to_owned)),
                serde_json::Value::Array(a) => out.extend(a.into_iter().filter_map(|v| v.as_str().map(str::to_owned))),
                _ => {}
            }
        }
        out
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().iter().any(|s| s == scope)
    }
}

trait ClassifyStr {
    fn classify_str(&self) -> &'static str;
}

impl ClassifyStr for serde_json::Error {
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Data => "a claim has an unexpected type or is missing",
            _ => "not valid JSON",
        }
    }
}

impl<C: DeserializeOwned> Verified<C> {
    /// The custom claims, deserialized on first call and cached.
    ///
    /// Fails with [`ErrorKind::InvalidClaim`] when the claims do not fit `C`.
    pub fn claims(&self) -> Result<&C, AuthError> {
        if let Some(c) = self.custom.get() {
            return Ok(c);
        }
        let value = self.claims_as::<C>()?;
        Ok(self.custom.get_or_init(|| value))
    }
}

impl<C> fmt::Debug for Verified<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verified")
            .field("header", &self.header)
            .field("claims", &self.registered)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}
