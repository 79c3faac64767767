//! [`KeyRing`]: signing keys on an explicit rotation schedule with pre-publication.
//!
//! Every key carries a [`KeySchedule`]: when it appears in the JWKS (`published_at`),
//! when it starts signing (`active_from`) and when it leaves the JWKS (`retire_after`).
//! The rules, enforced when a key is added:
//!
//! - a key is published at least one JWKS-cache lifetime before it signs, so every
//!   verifier that caches the JWKS for at most that long already knows it;
//! - a key signs only between `active_from` and the `active_from` of the next key, and
//!   never a token whose `exp` is after its own `retire_after`;
//! - a key stays published until every token it signed has expired
//!   ([`KeyRing::rotate`] sets `retire_after` of the outgoing key to the new key's
//!   `active_from` plus the longest token lifetime), then it is retired.
//!
//! Time comes from an injected [`Clock`], so a schedule is tested without sleeping.
//!
//! ```
//! use std::time::Duration;
//! use tokengate_core::{Algorithm, FixedClock};
//! use tokengate_issuer::{KeyRing, LocalSigner, Signer};
//!
//! let clock = FixedClock::new(1_000_000);
//! let first = LocalSigner::generate(Algorithm::ES256)?.with_kid("k1");
//! let ring = KeyRing::builder(first)
//!     .clock(clock.clone())
//!     .jwks_cache_lifetime(Duration::from_secs(300))
//!     .max_token_lifetime(Duration::from_secs(600))
//!     .build()?;
//! let schedule = ring.rotate(LocalSigner::generate(Algorithm::ES256)?.with_kid("k2"))?;
//! assert_eq!(schedule.active_from, 1_000_300);
//! assert_eq!(ring.signer().map(|s| s.kid().to_owned()).as_deref(), Some("k1"));
//! assert_eq!(ring.published_kids(), ["k1", "k2"]);
//!
//! clock.set(schedule.active_from);
//! assert_eq!(ring.signer().map(|s| s.kid().to_owned()).as_deref(), Some("k2"));
//! clock.set(1_000_300 + 600 + 1); // every token of k1 has expired
//! assert_eq!(ring.published_kids(), ["k2"]);
//! # Ok::<(), tokengate_issuer::IssuerError>(())
//! ```

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokengate_core::jwk::JwkSet;
use tokengate_core::{Clock, SystemClock};

use crate::error::IssuerError;
use crate::signer::{Signer, refuse_secret_jwk};

/// The default JWKS-cache lifetime: 5 minutes (the JWKS endpoint's default max-age).
pub const DEFAULT_JWKS_CACHE_LIFETIME: Duration = Duration::from_secs(300);

/// The default longest token lifetime a [`KeyRing`] plans for: 15 minutes.
pub const DEFAULT_MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// When one key is published, signs, and is retired; seconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySchedule {
    /// From this instant the public key is in the JWKS.
    pub published_at: i64,
    /// From this instant the key signs (until the next key's `active_from`).
    pub active_from: i64,
    /// After this instant the key is no longer published; no token it signs may expire
    /// later than this.
    pub retire_after: i64,
}

impl KeySchedule {
    /// A schedule that never retires (`retire_after` = `i64::MAX`).
    pub fn open_ended(published_at: i64, active_from: i64) -> KeySchedule {
        KeySchedule { published_at, active_from, retire_after: i64::MAX }
    }

    /// Whether the key is in the JWKS at `now`.
    pub fn is_published(&self, now: i64) -> bool {
        self.published_at <= now && now <= self.retire_after
    }
}

struct Entry {
    signer: Arc<dyn Signer>,
    schedule: KeySchedule,
}

/// Signing keys with explicit schedules, shared by clones (the minter, the JWKS
/// endpoint and the admin side see the same ring). A key is published at least one
/// JWKS-cache lifetime before it signs, signs until the next key's `active_from`, and
/// stays published until every token it signed has expired.
#[derive(Clone)]
pub struct KeyRing {
    entries: Arc<RwLock<Vec<Entry>>>,
    clock: Arc<dyn Clock>,
    cache_lifetime: i64,
    max_token_lifetime: i64,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let schedule: Vec<_> = entries.iter().map(|e| (e.signer.kid().to_owned(), e.schedule)).collect();
        f.debug_struct("KeyRing")
            .field("keys", &schedule)
            .field("cache_lifetime", &self.cache_lifetime)
            .field("max_token_lifetime", &self.max_token_lifetime)
            .finish_non_exhaustive()
    }
}

/// Configures a [`KeyRing`]; see [`KeyRing::builder`].
#[must_use]
pub struct KeyRingBuilder {
    first: Arc<dyn Signer>,
    clock: Arc<dyn Clock>,
    cache_lifetime: Duration,
    max_token_lifetime: Duration,
}

impl fmt::Debug for KeyRingBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRingBuilder")
            .field("first", &self.first.kid())
            .field("cache_lifetime", &self.cache_lifetime)
            .field("max_token_lifetime", &self.max_token_lifetime)
            .finish_non_exhaustive()
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl KeyRingBuilder {
    /// The clock of the schedule (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The longest time a verifier may cache the JWKS (default 5 minutes): the least
    /// time between a key's publication and its first signature, and the longest
    /// `Cache-Control: max-age` the JWKS endpoint sends.
    pub fn jwks_cache_lifetime(mut self, lifetime: Duration) -> Self {
        self.cache_lifetime = lifetime;
        self
    }

    /// The longest lifetime of a token signed by the ring (default 15 minutes): how long
    /// an outgoing key stays published after it stops signing.
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_token_lifetime = lifetime;
        self
    }

    /// Finishes the ring. The first key is published and active from now (nobody can
    /// have cached a JWKS without it). Errors for a zero token lifetime or a first key
    /// whose public JWK is a secret.
    pub fn build(self) -> Result<KeyRing, IssuerError> {
        refuse_secret_jwk(self.first.as_ref())?;
        if self.max_token_lifetime.is_zero() {
            return Err(IssuerError::Config("the longest token lifetime is zero".into()));
        }
        let now = self.clock.now();
        let entry = Entry { signer: self.first, schedule: KeySchedule::open_ended(now, now) };
        Ok(KeyRing {
            entries: Arc::new(RwLock::new(vec![entry])),
            clock: self.clock,
            cache_lifetime: secs(self.cache_lifetime),
            max_token_lifetime: secs(self.max_token_lifetime),
        })
    }
}

impl KeyRing {
    /// Starts a ring whose first key is `first`.
    pub fn builder(first: impl Signer) -> KeyRingBuilder {
        KeyRingBuilder {
            first: Arc::new(first),
            clock: Arc::new(SystemClock),
            cache_lifetime: DEFAULT_JWKS_CACHE_LIFETIME,
            max_token_lifetime: DEFAULT_MAX_TOKEN_LIFETIME,
        }
    }

    /// The ring's clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The JWKS-cache lifetime the schedule honours, in seconds.
    pub fn jwks_cache_lifetime(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.cache_lifetime).unwrap_or(0))
    }

    /// The longest token lifetime the schedule plans for.
    pub fn max_token_lifetime(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.max_token_lifetime).unwrap_or(0))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Entry>> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Entry>> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `signer` with an explicit `schedule`.
    ///
    /// Errors ([`IssuerError::Config`]) when the kid is already in the ring, when the key
    /// would sign less than one JWKS-cache lifetime after its publication, when it is
    /// published in the past, or when it retires before it has signed for one token
    /// lifetime.
    pub fn schedule(&self, signer: impl Signer, schedule: KeySchedule) -> Result<(), IssuerError> {
        self.schedule_shared(Arc::new(signer), schedule)
    }

    /// Like [`KeyRing::schedule`] over a shared signer.
    pub fn schedule_shared(&self, signer: Arc<dyn Signer>, schedule: KeySchedule) -> Result<(), IssuerError> {
        refuse_secret_jwk(signer.as_ref())?;
        let now = self.clock.now();
        let mut entries = self.write();
        check_new(&entries, signer.as_ref(), schedule, now, self.cache_lifetime, self.max_token_lifetime)?;
        entries.push(Entry { signer, schedule });
        Ok(())
    }

    /// Starts a rotation to `next`: published now, signing one JWKS-cache lifetime from
    /// now; every key signing until then is retired one longest token lifetime after
    /// that. Returns the new key's schedule.
    ///
    /// Errors when a key is already waiting to sign (one rotation at a time) or the kid
    /// is already in the ring.
    pub fn rotate(&self, next: impl Signer) -> Result<KeySchedule, IssuerError> {
        self.rotate_shared(Arc::new(next))
    }

    /// Like [`KeyRing::rotate`] over a shared signer.
    pub fn rotate_shared(&self, next: Arc<dyn Signer>) -> Result<KeySchedule, IssuerError> {
        refuse_secret_jwk(next.as_ref())?;
        let now = self.clock.now();
        let active_from = now.saturating_add(self.cache_lifetime);
        let schedule = KeySchedule::open_ended(now, active_from);
        let mut entries = self.write();
        if let Some(pending) = entries.iter().find(|e| e.schedule.active_from > now) {
            return Err(IssuerError::Config(format!(
                "a rotation is pending: {:?} signs from {}",
                pending.signer.kid(),
                pending.schedule.active_from
            )));
        }
        check_new(&entries, next.as_ref(), schedule, now, self.cache_lifetime, self.max_token_lifetime)?;
        let retire = active_from.saturating_add(self.max_token_lifetime);
        for entry in entries.iter_mut() {
            entry.schedule.retire_after = entry.schedule.retire_after.min(retire);
        }
        entries.push(Entry { signer: next, schedule });
        entries.retain(|e| e.schedule.retire_after >= now);
        Ok(schedule)
    }

    /// The key that signs at the clock's current time: the published key with the
    /// latest `active_from` not after now. `None` when no key may sign.
    pub fn signer(&self) -> Option<Arc<dyn Signer>> {
        self.signer_entry(self.clock.now()).map(|(signer, _)| signer)
    }

    /// The signing key at `now` and its schedule.
    pub(crate) fn signer_entry(&self, now: i64) -> Option<(Arc<dyn Signer>, KeySchedule)> {
        self.read()
            .iter()
            .filter(|e| e.schedule.active_from <= now && e.schedule.is_published(now))
            .max_by_key(|e| e.schedule.active_from)
            .map(|e| (Arc::clone(&e.signer), e.schedule))
    }

    /// Whether a key other than `kid` may sign at `now`.
    pub(crate) fn can_sign_without(&self, now: i64, kid: &str) -> bool {
        self.read()
            .iter()
            .any(|e| e.signer.kid() != kid && e.schedule.active_from <= now && e.schedule.is_published(now))
    }

    /// The schedule of the key `kid`, if it is in the ring.
    pub fn schedule_of(&self, kid: &str) -> Option<KeySchedule> {
        self.read().iter().find(|e| e.signer.kid() == kid).map(|e| e.schedule)
    }

    /// The kids published now, in the order they were added.
    pub fn published_kids(&self) -> Vec<String> {
        let now = self.clock.now();
        self.read().iter().filter(|e| e.schedule.is_published(now)).map(|e| e.signer.kid().to_owned()).collect()
    }

    /// Every kid in the ring (published, pending or awaiting clean-up).
    pub fn kids(&self) -> Vec<String> {
        self.read().iter().map(|e| e.signer.kid().to_owned()).collect()
    }

    /// The JWKS at the clock's current time.
    pub fn jwks(&self) -> JwkSet {
        let now = self.clock.now();
        let keys = self.read().iter().filter(|e| e.schedule.is_published(now)).map(|e| e.signer.public_jwk()).collect();
        JwkSet { keys }
    }

    /// How long a client may cache the JWKS served now: the JWKS-cache lifetime, cut
    /// short at the next change of the published set (a publication or a retirement).
    pub fn cache_max_age(&self) -> Duration {
        let now = self.clock.now();
        let next_change = self
            .read()
            .iter()
            .flat_map(|e| [e.schedule.published_at, e.schedule.retire_after.saturating_add(1)])
            .filter(|&t| t > now)
            .min();
        let mut max_age = self.cache_lifetime;
        if let Some(t) = next_change {
            max_age = max_age.min(t.saturating_sub(now));
        }
        Duration::from_secs(u64::try_from(max_age).unwrap_or(0))
    }

    /// Removes the key `kid` at once (no longer published, never signs again) and
    /// returns its signer. For a compromised key.
    pub(crate) fn remove(&self, kid: &str) -> Option<Arc<dyn Signer>> {
        let mut entries = self.write();
        let index = entries.iter().position(|e| e.signer.kid() == kid)?;
        Some(entries.remove(index).signer)
    }

    /// Adds `signer` published and active from now, without pre-publication: only for
    /// an emergency replacement, when the signing key was removed. Verifiers learn it
    /// through their unknown-kid refresh.
    pub(crate) fn activate_now(&self, signer: Arc<dyn Signer>) -> Result<KeySchedule, IssuerError> {
        refuse_secret_jwk(signer.as_ref())?;
        let now = self.clock.now();
        let mut entries = self.write();
        if entries.iter().any(|e| e.signer.kid() == signer.kid()) {
            return Err(IssuerError::Config(format!("duplicate kid {:?}", signer.kid())));
        }
        let retire = now.saturating_add(self.max_token_lifetime);
        for entry in entries.iter_mut() {
            entry.schedule.retire_after = entry.schedule.retire_after.min(retire);
        }
        let schedule = KeySchedule::open_ended(now, now);
        entries.push(Entry { signer, schedule });
        Ok(schedule)
    }
}

fn check_new(
    entries: &[Entry],
    signer: &dyn Signer,
    schedule: KeySchedule,
    now: i64,
    cache_lifetime: i64,
    max_token_lifetime: i64,
) -> Result<(), IssuerError> {
    if entries.iter().any(|e| e.signer.kid() == signer.kid()) {
        return Err(IssuerError::Config(format!("duplicate kid {:?}", signer.kid())));
    }
    if schedule.published_at < now {
        return Err(IssuerError::Config(format!(
            "key {:?} would be published in the past ({} < now {now})",
            signer.kid(),
            schedule.published_at
        )));
    }
    if schedule.active_from < schedule.published_at.saturating_add(cache_lifetime) {
        return Err(IssuerError::Config(format!(
            "key {:?} would sign at {} before one JWKS-cache lifetime ({cache_lifetime} s) after its publication at {}",
            signer.kid(),
            schedule.active_from,
            schedule.published_at
        )));
    }
    if schedule.retire_after < schedule.active_from.saturating_add(max_token_lifetime) {
        return Err(IssuerError::Config(format!(
            "key {:?} would retire at {} before one token lifetime ({max_token_lifetime} s) after it starts signing at {}",
            signer.kid(),
            schedule.retire_after,
            schedule.active_from
        )));
    }
    Ok(())
}
