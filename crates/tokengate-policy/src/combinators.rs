//! Composition: [`And`], [`Or`], [`Not`] as types (built with [`PolicyExt`]), [`All`]
//! and [`Any`] over lists, and closures as policies ([`policy_fn`]).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use tokengate_core::{Denial, Verified};

use crate::policy::{Policy, PolicyRequest};

/// Both policies must allow; the first denial wins (`b` is not asked when `a` refuses).
#[derive(Clone, Debug)]
pub struct And<A, B> {
    a: A,
    b: B,
}

/// Either policy may allow (`b` is not asked when `a` allows). When both refuse, the
/// denial of `a` is answered.
#[derive(Clone, Debug)]
pub struct Or<A, B> {
    a: A,
    b: B,
}

/// Allows what `P` refuses; refuses what `P` allows with a
/// [`DenialKind::Forbidden`](tokengate_core::DenialKind::Forbidden) (policy `"not"`).
#[derive(Clone, Debug)]
pub struct Not<P> {
    inner: P,
    reason: Cow<'static, str>,
}

impl<A, B> And<A, B> {
    /// `a` and then `b`.
    pub fn new(a: A, b: B) -> Self {
        And { a, b }
    }
}

impl<A, B> Or<A, B> {
    /// `a`, else `b`.
    pub fn new(a: A, b: B) -> Self {
        Or { a, b }
    }
}

impl<P> Not<P> {
    /// The negation of `inner`.
    pub fn new(inner: P) -> Self {
        Not { inner, reason: Cow::Borrowed("the request is not allowed") }
    }

    /// The reason given when `inner` allows (shown to the client: fixed text only).
    pub fn reason(mut self, reason: impl Into<Cow<'static, str>>) -> Self {
        self.reason = reason.into();
        self
    }
}

impl<A: Policy, B: Policy> Policy for And<A, B> {
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial> {
        self.a.check(token, request)?;
        self.b.check(token, request)
    }
}

impl<A: Policy, B: Policy> Policy for Or<A, B> {
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial> {
        match self.a.check(token, request) {
            Ok(()) => Ok(()),
            Err(denial) => self.b.check(token, request).map_err(|_| denial),
        }
    }
}

impl<P: Policy> Policy for Not<P> {
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial> {
        match self.inner.check(token, request) {
            Ok(()) => Err(Denial::forbidden("not", self.reason.clone())),
            Err(_) => Ok(()),
        }
    }
}

/// Every policy of a list must allow; the first denial wins. An empty list allows.
#[derive(Clone, Default)]
pub struct All(Vec<Arc<dyn Policy>>);

/// One policy of a list must allow; when all refuse, the first denial is answered. An
/// empty list refuses ([`DenialKind::Forbidden`](tokengate_core::DenialKind::Forbidden),
/// policy `"any"`).
#[derive(Clone, Default)]
pub struct Any(Vec<Arc<dyn Policy>>);

impl All {
    /// An empty list.
    pub fn new() -> Self {
        All(Vec::new())
    }

    /// Adds a policy.
    pub fn push(mut self, policy: impl Policy + 'static) -> Self {
        self.0.push(Arc::new(policy));
        self
    }
}

impl Any {
    /// An empty list.
    pub fn new() -> Self {
        Any(Vec::new())
    }

    /// Adds a policy.
    pub fn push(mut self, policy: impl Policy + 'static) -> Self {
        self.0.push(Arc::new(policy));
        self
    }
}

impl fmt::Debug for All {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "All({} policies)", self.0.len())
    }
}

impl fmt::Debug for Any {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Any({} policies)", self.0.len())
    }
}

impl Policy for All {
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial> {
        self.0.iter().try_for_each(|p| p.check(token, request))
    }
}

impl Policy for Any {
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial> {
        let mut first = None;
        for policy in &self.0 {
            match policy.check(token, request) {
                Ok(()) => return Ok(()),
                Err(denial) => {
                    first.get_or_insert(denial);
                }
            }
        }
        Err(first.unwrap_or_else(|| Denial::forbidden("any", "no policy allows the request")))
    }
}

/// `and`, `or` and `not` on every [`Policy`].
///
/// ```
/// use tokengate_policy::{ClaimContains, PolicyExt, Scope};
///
/// // scope `admin`, or `admin` among the roles; and not a suspended account.
/// let admin = Scope::all_of(["admin"])
///     .or(ClaimContains::any_of("roles", ["admin"]))
///     .and(ClaimContains::any_of("flags", ["suspended"]).not());
/// ```
pub trait PolicyExt: Policy + Sized {
    /// Both `self` and `other` must allow.
    fn and<B: Policy>(self, other: B) -> And<Self, B> {
        And::new(self, other)
    }

    /// `self` or `other` must allow.
    fn or<B: Policy>(self, other: B) -> Or<Self, B> {
        Or::new(self, other)
    }

    /// Allows what `self` refuses.
    fn not(self) -> Not<Self> {
        Not::new(self)
    }
}

impl<P: Policy> PolicyExt for P {}

/// A closure as a [`Policy`].
#[derive(Clone)]
pub struct PolicyFn<F>(F);

impl<F> fmt::Debug for PolicyFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PolicyFn")
    }
}

/// Makes a policy of a closure.
///
/// ```
/// use tokengate_core::Denial;
/// use tokengate_policy::{PolicyRequest, policy_fn};
///
/// let read_only = policy_fn(|_token, request: &PolicyRequest<'_>| match request.get_method() {
///     Some("GET" | "HEAD") => Ok(()),
///     _ => Err(Denial::forbidden("read_only", "this service is read-only")),
/// });
/// # let _ = read_only;
/// ```
pub fn policy_fn<F>(f: F) -> PolicyFn<F>
where
    F: Fn(&Verified, &PolicyRequest<'_>) -> Result<(), Denial> + Send + Sync,
{
    PolicyFn(f)
}

impl<F> Policy for PolicyFn<F>
where
    F: Fn(&Verified, &PolicyRequest<'_>) -> Result<(), Denial> + Send + Sync,
{
    fn check(&self, token: &Verified, request: &PolicyRequest<'_>) -> Result<(), Denial> {
        (self.0)(token, request)
    }
}
