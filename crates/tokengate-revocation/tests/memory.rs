//! MemoryStore: every rule kind against tokens verified for real (minted and signed by the
//! test-support fixtures, verified by core's Verifier), cut-off semantics, merging, expiry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use tokengate_core::{Algorithm, ErrorKind, FixedClock, RevocationCheck, Verified};
use tokengate_revocation::{Basis, MemoryStore, RevocationStore, RuleKey, RuleKind};
use tokengate_test_support::{ISSUER, SUBJECT, TokenBuilder, verifier};

const NOW: i64 = 1_800_000_000;
const ALG: Algorithm = Algorithm::ES256;

fn verify(token: &TokenBuilder, clock: &FixedClock) -> Verified {
    verifier(ALG).clock(clock.clone()).build().unwrap().verify(&token.sign()).unwrap()
}

fn store(clock: &FixedClock) -> MemoryStore {
    MemoryStore::builder().clock(clock.clone()).max_token_lifetime(Duration::from_secs(3600)).build()
}

fn assert_revoked(store: &MemoryStore, token: &Verified) {
    let err = store.check(token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Revoked);
    assert!(err.detail().is_some_and(|d| d.contains("revocation rule")), "{err:?}");
}

#[test]
fn an_empty_store_passes_every_token() {
    let clock = FixedClock::new(NOW);
    let token = verify(&TokenBuilder::at(ALG, NOW), &clock);
    assert!(store(&clock).check(&token).is_ok());
}

#[test]
fn a_jti_rule_revokes_that_token_whatever_its_time_and_no_other() {
    let clock = FixedClock::new(NOW);
    let store = store(&clock);
    let revoked = TokenBuilder::at(ALG, NOW).claim("jti", "t-1");
    let other = TokenBuilder::at(ALG, NOW).claim("jti", "t-2");
    // Cut-off in the past: a jti rule ignores it.
    store.insert(RuleKey::jti(ISSUER, "t-1").unwrap(), Some(NOW - 1000));
    assert_revoked(&store, &verify(&revoked, &clock));
    assert!(store.check(&verify(&other, &clock)).is_ok());
    // The same jti from another issuer is another token.
    store.insert(RuleKey::jti("https://other.example", "t-2").unwrap(), None);
    assert!(store.check(&verify(&other, &clock)).is_ok());
}

#[test]
fn a_subject_rule_revokes_tokens_issued_at_or_before_the_cutoff() {
    let clock = FixedClock::new(NOW);
    let store = store(&clock);
    store.insert(RuleKey::subject(ISSUER, SUBJECT).unwrap(), Some(NOW));
    assert_revoked(&store, &verify(&TokenBuilder::at(ALG, NOW - 10), &clock));
    assert_revoked(&store, &verify(&TokenBuilder::at(ALG, NOW), &clock));
    // Issued after the cut-off (the user logged in again): passes.
    clock.advance(1);
    assert!(store.check(&verify(&TokenBuilder::at(ALG, NOW + 1), &clock)).is_ok());
    // Another subject: passes.
    let other = TokenBuilder::at(ALG, NOW - 10).claim("sub", "someone-else");
    assert!(store.check(&verify(&other, &clock)).is_ok());
}

#[test]
fn a_token_without_iat_is_revoked_by_a_matching_rule() {
    let clock = FixedClock::new(NOW);
    let store = store(&clock);
    store.insert(RuleKey::subject(ISSUER, SUBJECT).unwrap(), Some(NOW - 100));
    assert_revoked(&store, &verify(&TokenBuilder::at(ALG, NOW).without("iat"), &clock));
}

#[test]
fn session_kid_tenant_issuer_and_global_rules() {
    let clock = FixedClock::new(NOW);
    let kid = tokengate_test_support::fixture(ALG).kid().to_owned();
    let cases: [(RuleKey, TokenBuilder, TokenBuilder); 5] = [
        (
            RuleKey::session(ISSUER, "s-1").unwrap(),
            TokenBuilder::at(ALG, NOW).claim("sid", "s-1"),
            TokenBuilder::at(ALG, NOW).claim("sid", "s-2"),
        ),
        (RuleKey::kid(ISSUER, &kid).unwrap(), TokenBuilder::at(ALG, NOW), TokenBuilder::at(ALG, NOW + 5)),
        (
            RuleKey::tenant(ISSUER, "acme").unwrap(),
            TokenBuilder::at(ALG, NOW).claim("tenant_id", "acme"),
            TokenBuilder::at(ALG, NOW).claim("tenant_id", "globex"),
        ),
        (RuleKey::all(Some(ISSUER)), TokenBuilder::at(ALG, NOW), TokenBuilder::at(ALG, NOW + 5)),
        (RuleKey::all(None), TokenBuilder::at(ALG, NOW), TokenBuilder::at(ALG, NOW + 5)),
    ];
    for (key, revoked, passing) in cases {
        let kind = key.kind();
        let store = store(&clock);
        clock.set(NOW + 5);
        store.insert(key, Some(NOW));
        assert_revoked(&store, &verify(&revoked, &clock));
        assert!(store.check(&verify(&passing, &clock)).is_ok(), "{kind}");
        clock.set(NOW);
    }
}

#[test]
fn an_issuer_rule_leaves_other_issuers_alone() {
    let clock = FixedClock::new(NOW);
    let store = store(&clock);
    store.insert(RuleKey::all(Some("https://other.example")), Some(NOW));
    assert!(store.check(&verify(&TokenBuilder::at(ALG, NOW), &clock)).is_ok());
}

#[test]
fn the_tenant_claim_is_configurable() {
    let clock = FixedClock::new(NOW);
    let store = MemoryStore::builder().clock(clock.clone()).tenant_claim("tid").build();
    store.insert(RuleKey::tenant(ISSUER, "acme").unwrap(), Some(NOW));
    assert_revoked(&store, &verify(&TokenBuilder::at(ALG, NOW).claim("tid", "acme"), &clock));
    assert!(store.check(&verify(&TokenBuilder::at(ALG, NOW).claim("tenant_id", "acme"), &clock)).is_ok());
}

#[test]
fn auth_time_basis_revokes_refreshed_tokens_of_an_old_login() {
    let clock = FixedClock::new(NOW);
    let by_iat = store(&clock);
    let by_auth_time = MemoryStore::builder().clock(clock.clone()).basis(Basis::AuthTime).build();
    for store in [&by_iat, &by_auth_time] {
        store.insert(RuleKey::subject(ISSUER, SUBJECT).unwrap(), Some(NOW - 60));
    }
    // Refreshed after the cut-off, from a login before it.
    let refreshed = verify(&TokenBuilder::at(ALG, NOW).claim("auth_time", NOW - 3600), &clock);
    assert!(by_iat.check(&refreshed).is_ok());
    assert_revoked(&by_auth_time, &refreshed);
    // A new login passes both.
    let fresh = verify(&TokenBuilder::at(ALG, NOW).claim("auth_time", NOW - 1), &clock);
    assert!(by_auth_time.check(&fresh).is_ok());
}

#[test]
fn merges_keep_the_later_cutoff_whatever_the_order() {
    let clock = FixedClock::new(NOW);
    let store = store(&clock);
    let key = RuleKey::subject(ISSUER, SUBJECT).unwrap();
    let later = store.insert(key.clone(), Some(NOW));
    let earlier = store.insert(key.clone(), Some(NOW - 100));
    assert_eq!(earlier.not_before, NOW);
    assert_eq!(later, earlier);
    assert_eq!(store.len(), 1);
    assert_revoked(&store, &verify(&TokenBuilder::at(ALG, NOW - 50), &clock));
}

#[test]
fn rules_expire_after_the_token_lifetime_plus_skew() {
    let clock = FixedClock::new(NOW);
    let store = store(&clock); // 3600 s lifetime, 60 s skew
    let rule = store.insert(RuleKey::jti(ISSUER, "t-1").unwrap(), None);
    assert_eq!(rule.expires_at, NOW + 3660);
    assert_eq!(store.rules(), vec![rule.clone()]);
    clock.set(NOW + 3659);
    assert_eq!(store.sweep(), 0);
    clock.set(NOW + 3660);
    assert_eq!(store.rules(), vec![]);
    assert_eq!(store.sweep(), 1);
    assert!(store.is_empty());
}

#[test]
fn writes_sweep_expired_rules() {
    let clock = FixedClock::new(NOW);
    let store =
        MemoryStore::builder().clock(clock.clone()).max_token_lifetime(Duration::ZERO).skew(Duration::ZERO).build();
    store.insert(RuleKey::jti(ISSUER, "a").unwrap(), None);
    clock.advance(10);
    store.insert(RuleKey::jti(ISSUER, "b").unwrap(), None);
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn the_store_trait_lists_and_reports_health() {
    let clock = FixedClock::new(NOW);
    let store = store(&clock);
    let rule = store.revoke(RuleKey::session(ISSUER, "s-9").unwrap(), Some(NOW - 1)).await.unwrap();
    assert_eq!(rule.key.kind(), RuleKind::Sid);
    assert_eq!(rule.not_before, NOW - 1);
    assert_eq!(store.rules(), vec![rule]);
    let health = serde_json::to_value(store.health()).unwrap();
    assert_eq!(health, serde_json::json!({"backend": "memory", "fresh": true, "rules": 1}));
}
