//! The [`CwtVerifier`] builder: issuer(s), audience(s) and algorithms must be chosen (or
//! explicitly waived) before the verifier can be built, as for JWTs.

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::{Clock, ConfigError, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_SIZE, KeyResolver, SystemClock};

use crate::alg::{ALL_COSE_ALGORITHMS, CoseAlgorithm};
use crate::verifier::{CwtVerifier, Expect, Inner};

/// First step: choose the issuer(s).
#[must_use]
pub struct IssuerStep {
    pub(crate) resolver: Arc<dyn KeyResolver>,
}

/// Second step: choose the audience(s).
#[must_use]
pub struct AudienceStep {
    resolver: Arc<dyn KeyResolver>,
    issuers: Expect,
}

/// Third step: choose the allowed COSE algorithms.
#[must_use]
pub struct AlgorithmStep {
    resolver: Arc<dyn KeyResolver>,
    issuers: Expect,
    audiences: Expect,
}

/// The last step: optional settings, then [`CwtVerifierBuilder::build`].
#[must_use]
pub struct CwtVerifierBuilder {
    resolver: Arc<dyn KeyResolver>,
    issuers: Expect,
    audiences: Expect,
    algorithms: Vec<CoseAlgorithm>,
    leeway: Duration,
    required: Vec<String>,
    require_exp: bool,
    max_size: usize,
    clock: Arc<dyn Clock>,
}

fn list<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Expect {
    Expect::OneOf(items.into_iter().map(Into::into).collect())
}

impl IssuerStep {
    /// Accept CWTs whose `iss` (claim 1) equals `issuer` exactly.
    pub fn issuer(self, issuer: impl Into<String>) -> AudienceStep {
        self.issuers([issuer.into()])
    }

    /// Accept CWTs whose `iss` equals one of these exactly.
    pub fn issuers<I: IntoIterator<Item = S>, S: Into<String>>(self, issuers: I) -> AudienceStep {
        AudienceStep { resolver: self.resolver, issuers: list(issuers) }
    }

    /// Opt out of the issuer check: only safe when the keys belong to one issuer or are
    /// bound to their issuers ([`tokengate_core::Key::bind_issuer`]).
    pub fn any_issuer(self) -> AudienceStep {
        AudienceStep { resolver: self.resolver, issuers: Expect::Any }
    }
}

impl AudienceStep {
    /// Accept CWTs whose `aud` (claim 3) is `audience`.
    pub fn audience(self, audience: impl Into<String>) -> AlgorithmStep {
        self.audiences([audience.into()])
    }

    /// Accept CWTs whose `aud` is one of these.
    pub fn audiences<I: IntoIterator<Item = S>, S: Into<String>>(self, audiences: I) -> AlgorithmStep {
        AlgorithmStep { resolver: self.resolver, issuers: self.issuers, audiences: list(audiences) }
    }

    /// Opt out of the audience check. Dangerous: a CWT minted for another service of the
    /// same issuer is then accepted here.
    pub fn any_audience(self) -> AlgorithmStep {
        AlgorithmStep { resolver: self.resolver, issuers: self.issuers, audiences: Expect::Any }
    }
}

impl AlgorithmStep {
    /// Accept only these COSE algorithms. Each key is also pinned to its own algorithm.
    pub fn algorithms(self, algorithms: impl IntoIterator<Item = CoseAlgorithm>) -> CwtVerifierBuilder {
        self.finish(algorithms.into_iter().collect())
    }

    /// Accept every COSE algorithm whose key the resolver holds ([`ALL_COSE_ALGORITHMS`]);
    /// keys stay pinned.
    pub fn algorithms_of_keys(self) -> CwtVerifierBuilder {
        self.finish(ALL_COSE_ALGORITHMS.to_vec())
    }

    fn finish(self, algorithms: Vec<CoseAlgorithm>) -> CwtVerifierBuilder {
        CwtVerifierBuilder {
            resolver: self.resolver,
            issuers: self.issuers,
            audiences: self.audiences,
            algorithms,
            leeway: DEFAULT_LEEWAY,
            required: Vec::new(),
            require_exp: true,
            max_size: DEFAULT_MAX_TOKEN_SIZE,
            clock: Arc::new(SystemClock),
        }
    }
}

impl CwtVerifierBuilder {
    /// Clock-skew tolerance for `exp`, `nbf` and `iat` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Claims that must be present, by their JSON names (`jti` for `cti`, `cnf`, ...).
    pub fn require<I: IntoIterator<Item = S>, S: Into<String>>(mut self, claims: I) -> Self {
        self.required.extend(claims.into_iter().map(Into::into));
        self
    }

    /// Refuse CWTs larger than this many bytes of CBOR (default 8 KiB, as for JWTs).
    pub fn max_token_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// The clock (default: the system clock). Tests use [`tokengate_core::FixedClock`].
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Dangerous: accept CWTs without `exp`. A present `exp` is still checked.
    pub fn allow_missing_exp(mut self) -> Self {
        self.require_exp = false;
        self
    }

    /// Finishes the verifier. Errors when a list is empty or the size limit is absurd.
    pub fn build(self) -> Result<CwtVerifier, ConfigError> {
        if self.algorithms.is_empty() {
            return Err(ConfigError::Invalid("the algorithm allowlist is empty".into()));
        }
        for (what, expect) in [("issuer", &self.issuers), ("audience", &self.audiences)] {
            if matches!(expect, Expect::OneOf(v) if v.is_empty() || v.iter().any(String::is_empty)) {
                return Err(ConfigError::Invalid(format!("the {what} list is empty or has an empty entry")));
            }
        }
        if self.max_size < 16 {
            return Err(ConfigError::Invalid("max token size below 16 bytes".into()));
        }
        Ok(CwtVerifier {
            inner: Arc::new(Inner {
                resolver: self.resolver,
                issuers: self.issuers,
                audiences: self.audiences,
                algorithms: self.algorithms.iter().fold(0, |m, a| m | a.bit()),
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
                required: self.required,
                require_exp: self.require_exp,
                max_size: self.max_size,
                clock: self.clock,
            }),
        })
    }
}
