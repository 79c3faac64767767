//! The one place this crate authenticates a token: verifiers tried in order (the unknown-kid
//! slow path refreshes and retries), then the revocation check. Every caller (the layer,
//! the interceptor) goes through [`Authn`], so moving to the shared transport-neutral
//! authenticator of tokengate-tower is a change to this file only.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokengate_core::{AuthError, ErrorKind, RevocationCheck, Verified, Verifier};

/// The future of the slow path.
pub(crate) type AuthFuture = Pin<Box<dyn Future<Output = Result<Arc<Verified>, AuthError>> + Send + 'static>>;

/// What one synchronous attempt decided.
pub(crate) enum Outcome {
    /// Decided now.
    Done(Result<Arc<Verified>, AuthError>),
    /// A verifier did not know the key: refresh and retry.
    Pending(AuthFuture),
}

/// Verifiers in order and the optional revocation check.
#[derive(Clone)]
pub(crate) struct Authn {
    verifiers: Arc<[Verifier]>,
    revocation: Option<Arc<dyn RevocationCheck>>,
}

impl fmt::Debug for Authn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authn")
            .field("verifiers", &self.verifiers.len())
            .field("revocation", &self.revocation.is_some())
            .finish()
    }
}

/// How telling an error is when several verifiers refused: an issuer, key or algorithm
/// mismatch means "not my token" and counts least.
fn rank(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::UnknownKey
        | ErrorKind::InvalidIssuer
        | ErrorKind::AlgorithmNotAllowed
        | ErrorKind::AlgorithmMismatch => 0,
        ErrorKind::KeysUnavailable => 1,
        _ => 2,
    }
}

fn pick(errors: Vec<AuthError>) -> AuthError {
    // max_by_key keeps the last maximum; reversed, that is the first.
    errors.into_iter().rev().max_by_key(|e| rank(e.kind())).unwrap_or_else(|| AuthError::new(ErrorKind::Internal))
}

impl Authn {
    pub(crate) fn new(verifier: Verifier) -> Self {
        Authn { verifiers: Arc::new([verifier]), revocation: None }
    }

    pub(crate) fn with_verifier(mut self, verifier: Verifier) -> Self {
        let mut all: Vec<Verifier> = self.verifiers.iter().cloned().collect();
        all.push(verifier);
        self.verifiers = all.into();
        self
    }

    pub(crate) fn with_revocation(mut self, store: Arc<dyn RevocationCheck>) -> Self {
        self.revocation = Some(store);
        self
    }

    /// The revocation check, for streams that re-check while they run.
    pub(crate) fn revocation(&self) -> Option<&Arc<dyn RevocationCheck>> {
        self.revocation.as_ref()
    }

    /// Authenticates `token`: synchronously when every verifier can decide, else a future
    /// that refreshes the keys of the verifiers that did not know the `kid`.
    pub(crate) fn authenticate(&self, token: &str) -> Outcome {
        let mut errors = Vec::new();
        for verifier in self.verifiers.iter() {
            match verifier.verify(token) {
                Ok(verified) => return Outcome::Done(self.accept(verified)),
                Err(error) => errors.push(error),
            }
        }
        if !errors.iter().any(|e| e.kind() == ErrorKind::UnknownKey) {
            return Outcome::Done(Err(pick(errors)));
        }
        let this = self.clone();
        let token = token.to_owned();
        Outcome::Pending(Box::pin(async move {
            for (verifier, error) in this.verifiers.iter().zip(errors.iter_mut()) {
                if error.kind() != ErrorKind::UnknownKey {
                    continue;
                }
                match verifier.verify_async(&token).await {
                    Ok(verified) => return this.accept(verified),
                    Err(e) => *error = e,
                }
            }
            Err(pick(errors))
        }))
    }

    /// Authenticates with the keys already loaded: an unknown `kid` is refused, nothing
    /// is fetched.
    pub(crate) fn authenticate_now(&self, token: &str) -> Result<Arc<Verified>, AuthError> {
        let mut errors = Vec::new();
        for verifier in self.verifiers.iter() {
            match verifier.verify(token) {
                Ok(verified) => return self.accept(verified),
                Err(error) => errors.push(error),
            }
        }
        Err(pick(errors))
    }

    fn accept(&self, verified: Verified) -> Result<Arc<Verified>, AuthError> {
        if let Some(store) = &self.revocation {
            store.check(&verified)?;
        }
        Ok(Arc::new(verified))
    }
}
