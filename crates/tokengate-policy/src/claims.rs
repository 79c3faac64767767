//! Claim predicates: [`ClaimEquals`] and [`ClaimPredicate`] (a closure on one claim).

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use tokengate_core::{Denial, Verified};

use crate::policy::{Policy, PolicyRequest, claim};

/// Requires the claim at `path` (a top-level name or a dotted path) to equal a JSON
/// value. Refused with [`DenialKind::Forbidden`](tokengate_core::DenialKind::Forbidden)
/// (policy `"claim"`).
///
/// ```
/// use tokengate_policy::ClaimEquals;
/// let verified_email = ClaimEquals::new("email_verified", true);
/// let plan = ClaimEquals::new("billing.plan", "enterprise");
/// # let _ = (verified_email, plan);
/// ```
#[derive(Clone, Debug)]
pub struct ClaimEquals {
    path: Arc<str>,
    expected: Arc<Value>,
    reason: Arc<str>,
}

impl ClaimEquals {
    /// The claim at `path` must equal `expected`.
    pub fn new(path: &str, expected: impl Into<Value>) -> Self {
        ClaimEquals {
            path: path.into(),
            expected: Arc::new(expected.into()),
            reason: format!("the token's {path} claim does not have the required value").into(),
        }
    }
}

impl Policy for ClaimEquals {
    fn check(&self, token: &Verified, _request: &PolicyRequest<'_>) -> Result<(), Denial> {
        match claim(token, &self.path) {
            Some(value) if *value == *self.expected => Ok(()),
            _ => Err(Denial::forbidden("claim", self.reason.to_string())),
        }
    }
}

/// Requires a predicate to hold on the claim at `path` (`None` when absent). Refused with
/// [`DenialKind::Forbidden`](tokengate_core::DenialKind::Forbidden) (policy `"claim"`).
///
/// ```
/// use tokengate_policy::ClaimPredicate;
/// let adult = ClaimPredicate::new("age", |v| v.and_then(|v| v.as_u64()).is_some_and(|age| age >= 18));
/// # let _ = adult;
/// ```
#[derive(Clone)]
pub struct ClaimPredicate<F> {
    path: Arc<str>,
    predicate: F,
    reason: Arc<str>,
}

impl<F> fmt::Debug for ClaimPredicate<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimPredicate").field("path", &self.path).finish_non_exhaustive()
    }
}

impl<F> ClaimPredicate<F>
where
    F: Fn(Option<&Value>) -> bool + Send + Sync,
{
    /// `predicate` must hold on the claim at `path`.
    pub fn new(path: &str, predicate: F) -> Self {
        ClaimPredicate {
            path: path.into(),
            predicate,
            reason: format!("the token's {path} claim does not satisfy the policy").into(),
        }
    }
}

impl<F> Policy for ClaimPredicate<F>
where
    F: Fn(Option<&Value>) -> bool + Send + Sync,
{
    fn check(&self, token: &Verified, _request: &PolicyRequest<'_>) -> Result<(), Denial> {
        if (self.predicate)(claim(token, &self.path)) {
            Ok(())
        } else {
            Err(Denial::forbidden("claim", self.reason.to_string()))
        }
    }
}
