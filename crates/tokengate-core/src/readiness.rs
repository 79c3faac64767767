//! Readiness: whether a component can serve right now (keys loaded and not past
//! `max_stale`, a revocation mirror fresh, ...). Components implement [`ReadinessCheck`];
//! the application gathers them in [`ReadinessChecks`] and serves the answer (tokengate-axum's
//! `health` router: `/readyz`). Liveness is separate: a process that answers is alive.
//!
//! ```
//! use std::borrow::Cow;
//! use tokengate_core::readiness::{Deferred, Readiness, ReadinessCheck, ReadinessChecks};
//!
//! struct Mirror { fresh: bool }
//! impl ReadinessCheck for Mirror {
//!     fn name(&self) -> Cow<'_, str> { "revocation mirror".into() }
//!     fn readiness(&self) -> Readiness {
//!         if self.fresh { Readiness::Ready } else { Readiness::not_ready("not confirmed fresh") }
//!     }
//! }
//!
//! let keys = Deferred::new("keys"); // set once the first key set is loaded
//! let checks = ReadinessChecks::new().check(keys.clone()).check(Mirror { fresh: true });
//! assert!(!checks.is_ready());
//! assert_eq!(checks.not_ready()[0].0, "keys");
//! keys.set(Mirror { fresh: true });
//! assert!(checks.is_ready());
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// One component's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// It can serve.
    Ready,
    /// It cannot, and why (for operators: never a token or a subject).
    NotReady(Cow<'static, str>),
}

impl Readiness {
    /// Not ready, because of `reason`.
    pub fn not_ready(reason: impl Into<Cow<'static, str>>) -> Self {
        Readiness::NotReady(reason.into())
    }

    /// Whether this is [`Readiness::Ready`].
    pub fn is_ready(&self) -> bool {
        matches!(self, Readiness::Ready)
    }
}

/// A component whose readiness is asked on every readiness probe. `readiness` must be
/// cheap and must not block or do I/O: it reads state the component keeps.
pub trait ReadinessCheck: Send + Sync + 'static {
    /// A short, stable name for operators (e.g. `jwks https://issuer.example/jwks`,
    /// `revocation mirror`).
    fn name(&self) -> Cow<'_, str>;
    /// Whether the component can serve now.
    fn readiness(&self) -> Readiness;
}

impl<R: ReadinessCheck + ?Sized> ReadinessCheck for Arc<R> {
    fn name(&self) -> Cow<'_, str> {
        (**self).name()
    }
    fn readiness(&self) -> Readiness {
        (**self).readiness()
    }
}

/// A check that exists before its component does (keys still loading): not ready until
/// [`Deferred::set`] gives it the real check. Cheap to clone; clones share the slot.
#[derive(Clone)]
pub struct Deferred {
    name: Arc<str>,
    slot: Arc<OnceLock<Box<dyn ReadinessCheck>>>,
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deferred").field("name", &self.name).field("set", &self.slot.get().is_some()).finish()
    }
}

impl Deferred {
    /// An empty slot named `name` (its name while empty).
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Deferred { name: name.into(), slot: Arc::new(OnceLock::new()) }
    }

    /// Fills the slot; returns `false` (and drops `check`) when it was already filled.
    pub fn set(&self, check: impl ReadinessCheck) -> bool {
        self.slot.set(Box::new(check)).is_ok()
    }
}

impl ReadinessCheck for Deferred {
    fn name(&self) -> Cow<'_, str> {
        match self.slot.get() {
            Some(check) => check.name(),
            None => Cow::Borrowed(&self.name),
        }
    }
    fn readiness(&self) -> Readiness {
        match self.slot.get() {
            Some(check) => check.readiness(),
            None => Readiness::not_ready("not started yet"),
        }
    }
}

/// The checks that must all pass for the application to be ready. Cheap to clone.
#[derive(Clone, Default)]
pub struct ReadinessChecks {
    checks: Arc<Vec<Arc<dyn ReadinessCheck>>>,
}

impl fmt::Debug for ReadinessChecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.checks.iter().map(|c| c.name().into_owned())).finish()
    }
}

impl ReadinessChecks {
    /// No checks (ready).
    pub fn new() -> Self {
        ReadinessChecks::default()
    }

    /// Adds a check.
    #[must_use]
    pub fn check(mut self, check: impl ReadinessCheck) -> Self {
        Arc::make_mut(&mut self.checks).push(Arc::new(check));
        self
    }

    /// Every check's name and answer, in the order they were added.
    pub fn report(&self) -> Vec<(String, Readiness)> {
        self.checks.iter().map(|c| (c.name().into_owned(), c.readiness())).collect()
    }

    /// The checks that are not ready, with why.
    pub fn not_ready(&self) -> Vec<(String, Cow<'static, str>)> {
        self.report()
            .into_iter()
            .filter_map(|(name, r)| match r {
                Readiness::Ready => None,
                Readiness::NotReady(why) => Some((name, why)),
            })
            .collect()
    }

    /// Whether every check is ready.
    pub fn is_ready(&self) -> bool {
        self.checks.iter().all(|c| c.readiness().is_ready())
    }
}
