//! The demo login: argon2id password hashes and a failed-login rate limiter (5 failed
//! attempts per 15 minutes per user and client address, then 429 with `Retry-After`).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm as ArgonAlgorithm, Argon2, Params, Version};
use tokengate_core::{Clock, SystemClock};

use crate::error::IssuerError;

/// Hashes and checks passwords with argon2id (PHC strings, random 128-bit salts).
///
/// The default cost is the OWASP baseline (19 MiB, 2 passes, 1 lane);
/// [`Passwords::with_cost`] lowers it for tests only.
///
/// ```
/// use tokengate_issuer::Passwords;
/// let passwords = Passwords::with_cost(64, 1)?; // cheap, for the example only
/// let hash = passwords.hash("alice-password")?;
/// assert!(hash.starts_with("$argon2id$"));
/// assert!(passwords.verify("alice-password", &hash));
/// assert!(!passwords.verify("wrong", &hash));
/// # Ok::<(), tokengate_issuer::IssuerError>(())
/// ```
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
}

impl fmt::Debug for Passwords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Passwords").field("params", self.argon.params()).finish()
    }
}

impl Default for Passwords {
    fn default() -> Passwords {
        Passwords { argon: Argon2::new(ArgonAlgorithm::Argon2id, Version::V0x13, Params::default()) }
    }
}

impl Passwords {
    /// argon2id with `memory_kib` KiB and `passes` passes (1 lane).
    pub fn with_cost(memory_kib: u32, passes: u32) -> Result<Passwords, IssuerError> {
        let params = Params::new(memory_kib, passes, 1, None).map_err(|e| IssuerError::Config(e.to_string()))?;
        Ok(Passwords { argon: Argon2::new(ArgonAlgorithm::Argon2id, Version::V0x13, params) })
    }

    /// The PHC string of `password` with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String, IssuerError> {
        let mut salt = [0u8; 16];
        aws_lc_rs::rand::fill(&mut salt).map_err(|_| IssuerError::KeyGeneration)?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| IssuerError::Config(e.to_string()))?;
        let hash =
            self.argon.hash_password(password.as_bytes(), &salt).map_err(|e| IssuerError::Config(e.to_string()))?;
        Ok(hash.to_string())
    }

    /// Whether `password` matches the PHC string `hash` (false for a malformed hash).
    pub fn verify(&self, password: &str, hash: &str) -> bool {
        PasswordHash::new(hash).is_ok_and(|hash| self.argon.verify_password(password.as_bytes(), &hash).is_ok())
    }
}

/// The default budget: 5 failed attempts.
pub const DEFAULT_MAX_FAILURES: usize = 5;
/// The default window: 15 minutes.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The failure times of each (user, client address).
type Failures = HashMap<(String, IpAddr), VecDeque<i64>>;

/// Counts failed logins per (user, client address) in a sliding window. Cheap to clone
/// (clones share the counts).
#[derive(Clone)]
pub struct LoginRateLimiter {
    failures: Arc<Mutex<Failures>>,
    max_failures: usize,
    window: i64,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for LoginRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRateLimiter")
            .field("max_failures", &self.max_failures)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl Default for LoginRateLimiter {
    fn default() -> LoginRateLimiter {
        LoginRateLimiter::new(DEFAULT_MAX_FAILURES, DEFAULT_WINDOW)
    }
}

impl LoginRateLimiter {
    /// At most `max_failures` failed attempts per `window`.
    pub fn new(max_failures: usize, window: Duration) -> LoginRateLimiter {
        LoginRateLimiter {
            failures: Arc::default(),
            max_failures,
            window: i64::try_from(window.as_secs()).unwrap_or(i64::MAX),
            clock: Arc::new(SystemClock),
        }
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> LoginRateLimiter {
        self.clock = Arc::new(clock);
        self
    }

    /// `Err(seconds to wait)` when `(user, addr)` has used its budget of failures.
    pub fn check(&self, user: &str, addr: IpAddr) -> Result<(), u64> {
        let now = self.clock.now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (user.to_owned(), addr);
        let Some(times) = failures.get_mut(&key) else { return Ok(()) };
        while times.front().is_some_and(|&t| t + self.window <= now) {
            times.pop_front();
        }
        if times.is_empty() {
            failures.remove(&key);
            return Ok(());
        }
        if times.len() >= self.max_failures {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(u64::try_from((oldest + self.window - now).max(1)).unwrap_or(1));
        }
        Ok(())
    }

    /// Records one failed attempt.
    pub fn failed(&self, user: &str, addr: IpAddr) {
        let now = self.clock.now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let times = failures.entry((user.to_owned(), addr)).or_default();
        times.push_back(now);
        while times.len() > self.max_failures {
            times.pop_front();
        }
    }

    /// Forgets the failures of `(user, addr)` after a successful login.
    pub fn succeeded(&self, user: &str, addr: IpAddr) {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(&(user.to_owned(), addr));
    }
}

/// A demo user.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DemoUser {
    /// The user name (the token's `sub`).
    pub username: String,
    /// The tenant claim.
    pub tenant: String,
    /// The granted scope, space-separated.
    pub scope: String,
}

/// Why a login was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// Unknown user or wrong password (never says which).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many failed attempts; retry after the given seconds.
    #[error("too many failed logins; retry in {0} s")]
    TooManyAttempts(u64),
}

/// A demo login: users with argon2id password hashes behind a [`LoginRateLimiter`].
#[derive(Clone, Debug)]
pub struct DemoLogin {
    users: Arc<HashMap<String, (String, DemoUser)>>,
    passwords: Passwords,
    limiter: LoginRateLimiter,
    dummy: Arc<str>,
}

impl DemoLogin {
    /// A login with no users, hashing with `passwords` and limiting with `limiter`.
    pub fn new(passwords: Passwords, limiter: LoginRateLimiter) -> Result<DemoLogin, IssuerError> {
        let dummy = passwords.hash("no user has this password")?.into();
        Ok(DemoLogin { users: Arc::default(), passwords, limiter, dummy })
    }

    /// Adds a user; the password is hashed now and never kept.
    pub fn user(mut self, username: &str, password: &str, tenant: &str, scope: &str) -> Result<DemoLogin, IssuerError> {
        let hash = self.passwords.hash(password)?;
        let user = DemoUser { username: username.to_owned(), tenant: tenant.to_owned(), scope: scope.to_owned() };
        Arc::make_mut(&mut self.users).insert(username.to_owned(), (hash, user));
        Ok(self)
    }

    /// Checks a login attempt from `addr`. A limited (user, address) is refused before
    /// the password is checked, even a right one; an unknown user costs one hash too.
    pub fn login(&self, username: &str, password: &str, addr: IpAddr) -> Result<DemoUser, LoginError> {
        self.limiter.check(username, addr).map_err(LoginError::TooManyAttempts)?;
        let found = self.users.get(username);
        let hash = found.map_or(&*self.dummy, |(hash, _)| hash.as_str());
        let ok = self.passwords.verify(password, hash);
        match found {
            Some((_, user)) if ok => {
                self.limiter.succeeded(username, addr);
                Ok(user.clone())
            }
            _ => {
                self.limiter.failed(username, addr);
                tracing::info!(target: "tokengate::issuer", "failed login");
                Err(LoginError::InvalidCredentials)
            }
        }
    }
}

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for LoginError {
    fn into_response(self) -> axum::response::Response {
        use axum::http::{HeaderValue, header};
        match self {
            LoginError::InvalidCredentials => {
                crate::oauth_error::OAuthError::new(401, "invalid_credentials", "invalid username or password")
                    .into_response()
            }
            LoginError::TooManyAttempts(secs) => {
                let mut response = crate::oauth_error::OAuthError::new(
                    429,
                    "too_many_attempts",
                    "too many failed logins; retry later",
                )
                .into_response();
                if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                response
            }
        }
    }
}
