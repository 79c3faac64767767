//! The local rule table every store serves the request path from: a lock-free concurrent
//! hash map (papaya) behind one atomic pointer (arc-swap), so a check takes no lock and a
//! sweep can hand the memory of a drained table back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use arc_swap::ArcSwap;
use std::sync::Arc;
use tokengate_core::{AuthError, ErrorKind, Verified};

use crate::extract::Extra;
use crate::rule::{Cutoff, KeyRef, Rule, RuleKey, RuleKind};

type Map = papaya::HashMap<RuleKey, Cutoff>;

/// Which time of a token a cut-off is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Basis {
    /// `iat`, when the token was issued (the default).
    #[default]
    IssuedAt,
    /// `auth_time`, when the user last authenticated (else `iat`): a rule then also revokes
    /// tokens refreshed after the cut-off from a session that authenticated before it.
    AuthTime,
}

/// How tokens are matched against rules.
#[derive(Debug, Clone)]
pub(crate) struct Matching {
    pub(crate) basis: Basis,
    pub(crate) tenant_claim: Box<str>,
}

impl Default for Matching {
    fn default() -> Self {
        Matching { basis: Basis::IssuedAt, tenant_claim: "tenant_id".into() }
    }
}

/// A table only shrinks its allocation when it holds fewer than a quarter of its peak,
/// and the peak was at least this many rules.
const SHRINK_FLOOR: usize = 1024;

pub(crate) struct RuleTable {
    map: ArcSwap<Map>,
    /// Live rules per kind: a kind with none is not looked up.
    counts: [AtomicUsize; 6],
    /// Serializes writers (merges, sweeps); the largest size since the last rebuild.
    writer: Mutex<usize>,
    matching: Matching,
}

impl RuleTable {
    pub(crate) fn new(matching: Matching) -> RuleTable {
        RuleTable {
            map: ArcSwap::from_pointee(new_map(0)),
            counts: Default::default(),
            writer: Mutex::new(0),
            matching,
        }
    }

    /// Merges `rule` in (the later cut-off and expiry win) and returns the merged rule.
    pub(crate) fn merge(&self, rule: &Rule) -> Rule {
        let mut peak = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let map = self.map.load();
        let map = map.pin();
        let merged = match map.get(&rule.key.as_ref()) {
            Some(old) => old.merge(rule.cutoff()),
            None => {
                self.count(rule.key.kind()).fetch_add(1, Ordering::Relaxed);
                rule.cutoff()
            }
        };
        map.insert(rule.key.clone(), merged);
        *peak = (*peak).max(map.len());
        Rule::from_parts(rule.key.clone(), merged)
    }

    /// The rule stored for `key`.
    #[allow(dead_code)]
    pub(crate) fn get(&self, key: &RuleKey) -> Option<Rule> {
        let map = self.map.load();
        let cutoff = *map.pin().get(&key.as_ref())?;
        Some(Rule::from_parts(key.clone(), cutoff))
    }

    /// Forgets the rules expired at `now`; returns how many. A table drained to under a
    /// quarter of its peak is rebuilt, so its memory goes back to the allocator.
    pub(crate) fn sweep(&self, now: i64) -> usize {
        let mut peak = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.map.load_full();
        let before = current.len();
        current.pin().retain(|key, cutoff| {
            let keep = cutoff.expires_at > now;
            if !keep {
                self.count(key.kind()).fetch_sub(1, Ordering::Relaxed);
            }
            keep
        });
        let len = current.len();
        if *peak >= SHRINK_FLOOR && len < *peak / 4 {
            let fresh = new_map(len);
            {
                let (from, to) = (current.pin(), fresh.pin());
                for (key, cutoff) in from.iter() {
                    to.insert(key.clone(), *cutoff);
                }
            }
            self.map.store(Arc::new(fresh));
            *peak = len;
        }
        before.saturating_sub(len)
    }

    /// Every rule not expired at `now`, sorted by kind, issuer and value.
    pub(crate) fn rules(&self, now: i64) -> Vec<Rule> {
        let map = self.map.load();
        let mut out: Vec<Rule> = map
            .pin()
            .iter()
            .filter(|(_, cutoff)| cutoff.expires_at > now)
            .map(|(key, cutoff)| Rule::from_parts(key.clone(), *cutoff))
            .collect();
        out.sort_by(|a, b| (a.key.kind(), a.key.iss(), a.key.value()).cmp(&(b.key.kind(), b.key.iss(), b.key.value())));
        out
    }

    /// How many rules the table holds (expired ones not yet swept included).
    pub(crate) fn len(&self) -> usize {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The approximate heap bytes of the rules' keys (for health and tests).
    #[allow(dead_code)]
    pub(crate) fn key_bytes(&self) -> usize {
        self.map.load().pin().iter().map(|(k, _)| k.heap_len()).sum()
    }

    fn count(&self, kind: RuleKind) -> &AtomicUsize {
        let [jti, sub, sid, kid, tenant, all] = &self.counts;
        match kind {
            RuleKind::Jti => jti,
            RuleKind::Sub => sub,
            RuleKind::Sid => sid,
            RuleKind::Kid => kid,
            RuleKind::Tenant => tenant,
            RuleKind::All => all,
        }
    }

    fn has(&self, kind: RuleKind) -> bool {
        self.count(kind).load(Ordering::Relaxed) > 0
    }

    /// Whether `token` is revoked: `Err(Revoked)` when a rule matches.
    pub(crate) fn check(&self, token: &Verified) -> Result<(), AuthError> {
        if self.counts.iter().all(|c| c.load(Ordering::Relaxed) == 0) {
            return Ok(());
        }
        let map = self.map.load();
        let map = map.pin();
        let claims = token.registered();
        let iss = claims.iss.as_deref().unwrap_or_default();
        let find = |kind: RuleKind, iss: &str, value: &str| map.get(&KeyRef { kind, iss, value }).copied();

        if self.has(RuleKind::Jti)
            && let Some(jti) = claims.jti.as_deref()
            && find(RuleKind::Jti, iss, jti).is_some()
        {
            return Err(revoked(RuleKind::Jti));
        }

        let extra = if self.has(RuleKind::Sid) || self.has(RuleKind::Tenant) || self.matching.basis == Basis::AuthTime {
            Some(Extra::read(token.raw_claims(), &self.matching.tenant_claim))
        } else {
            None
        };
        let extra = extra.as_ref();
        let basis = match self.matching.basis {
            Basis::IssuedAt => claims.iat,
            Basis::AuthTime => extra.and_then(|e| e.auth_time).or(claims.iat),
        };
        // A token without a basis time cannot be shown to be issued after a cut-off.
        let applies = |cutoff: Cutoff| basis.is_none_or(|t| t <= cutoff.not_before);

        let candidates = [
            (RuleKind::Sub, iss, claims.sub.as_deref()),
            (RuleKind::Sid, iss, extra.and_then(|e| e.sid.as_deref())),
            (RuleKind::Kid, iss, token.key_id()),
            (RuleKind::Tenant, iss, extra.and_then(|e| e.tenant.as_deref())),
            (RuleKind::All, iss, Some("")),
            (RuleKind::All, "", Some("")),
        ];
        for (kind, iss, value) in candidates {
            if !self.has(kind) {
                continue;
            }
            let Some(value) = value else { continue };
            if kind != RuleKind::All && (iss.is_empty() || value.is_empty()) {
                continue;
            }
            if find(kind, iss, value).is_some_and(applies) {
                return Err(revoked(kind));
            }
        }
        Ok(())
    }
}

/// A map whose resizes finish in the write that starts them (writers are serialized and off
/// the request path), so a lookup never has to look in two tables.
fn new_map(capacity: usize) -> Map {
    Map::builder().capacity(capacity).resize_mode(papaya::ResizeMode::Blocking).build()
}

fn revoked(kind: RuleKind) -> AuthError {
    AuthError::with_detail(ErrorKind::Revoked, format!("a {kind} revocation rule matches"))
}
