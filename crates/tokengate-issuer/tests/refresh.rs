//! Refresh tokens: opaque, hashed at rest, rotated on every use, reuse revokes the family.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use tokengate_issuer::{MemoryRefreshStore, RefreshError, RefreshGrant, RefreshTokens, Taken, hash_token};

const NOW: i64 = 1_700_000_000;

fn tokens() -> RefreshTokens {
    RefreshTokens::new(MemoryRefreshStore::new()).ttl(Duration::from_secs(3600))
}

fn grant() -> RefreshGrant {
    RefreshGrant::new("alice", "web").scope("orders:read orders:write")
}

#[tokio::test]
async fn a_refresh_token_is_256_random_bits_and_only_its_hash_is_stored() {
    let tokens = tokens();
    let a = tokens.issue(grant(), NOW).await.unwrap();
    let b = tokens.issue(grant(), NOW).await.unwrap();
    assert_eq!(a.len(), 43, "32 bytes base64url without padding");
    assert_ne!(a, b);
    assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    // The store answers to the hash; the token itself is no key.
    assert!(tokens.store().family_of(hash_token(&a)).await.unwrap().is_some());
    assert_eq!(format!("{:?}", hash_token(&a)), "TokenHash(..)");
    assert_ne!(hash_token(&a), hash_token(&b));
}

#[tokio::test]
async fn every_use_rotates_and_keeps_the_grant() {
    let tokens = tokens();
    let first = tokens.issue(grant(), NOW).await.unwrap();
    let family = tokens.family_of(&first).await.unwrap().unwrap();
    let (second, g) = tokens.rotate(&first, NOW + 10).await.unwrap();
    assert_eq!(g, grant());
    assert_ne!(second, first);
    assert_eq!(tokens.family_of(&second).await.unwrap(), Some(family), "same family");
    assert_eq!(tokens.family_of(&first).await.unwrap(), None, "spent");
    let (third, _) = tokens.rotate(&second, NOW + 20).await.unwrap();
    assert_ne!(third, second);
}

#[tokio::test]
async fn reusing_a_spent_token_revokes_the_whole_family() {
    let tokens = tokens();
    let first = tokens.issue(grant(), NOW).await.unwrap();
    let other_login = tokens.issue(grant(), NOW).await.unwrap();
    let (second, _) = tokens.rotate(&first, NOW + 1).await.unwrap();
    let err = tokens.rotate(&first, NOW + 2).await.unwrap_err();
    assert_eq!(err, RefreshError::Reused);
    assert_eq!(err.oauth_error(), "invalid_grant");
    assert_eq!(err.to_string(), "refresh token reused; its family is revoked");
    // The legitimate holder's newest token is dead too, and stays dead.
    assert_eq!(tokens.rotate(&second, NOW + 3).await.unwrap_err(), RefreshError::Revoked);
    assert_eq!(tokens.rotate(&first, NOW + 4).await.unwrap_err(), RefreshError::Revoked);
    // Another family is untouched.
    tokens.rotate(&other_login, NOW + 5).await.unwrap();
}

#[tokio::test]
async fn unknown_expired_and_foreign_tokens_are_refused_with_invalid_grant() {
    let tokens = tokens();
    let err = tokens.rotate("not-a-token", NOW).await.unwrap_err();
    assert_eq!((err.clone(), err.oauth_error()), (RefreshError::Unknown, "invalid_grant"));

    let token = tokens.issue(grant(), NOW).await.unwrap();
    let err = tokens.rotate_for(&token, Some("mobile"), NOW + 1).await.unwrap_err();
    assert_eq!((err.clone(), err.oauth_error()), (RefreshError::WrongClient, "invalid_grant"));
    // Not spent by the refusal: the right client still rotates it.
    let (token, _) = tokens.rotate_for(&token, Some("web"), NOW + 2).await.unwrap();

    let err = tokens.rotate(&token, NOW + 2 + 3600).await.unwrap_err();
    assert_eq!((err.clone(), err.oauth_error()), (RefreshError::Expired, "invalid_grant"));
    assert_eq!(RefreshError::Store("down".into()).oauth_error(), "temporarily_unavailable");
}

#[tokio::test]
async fn a_token_is_taken_once_then_seen_as_spent() {
    let store = MemoryRefreshStore::new();
    let tokens = RefreshTokens::new(store).ttl(Duration::from_secs(3600));
    let token = tokens.issue(grant(), NOW).await.unwrap();
    let hash = hash_token(&token);
    let first = tokens.store().take(hash, None, NOW).await.unwrap();
    let second = tokens.store().take(hash, None, NOW).await.unwrap();
    assert!(matches!(first, Taken::Fresh(_)));
    assert!(matches!(second, Taken::Spent(_)));
}

#[tokio::test]
async fn families_signed_by_a_key_are_revoked_together() {
    let tokens = tokens();
    let a = tokens.issue(grant(), NOW).await.unwrap();
    let b = tokens.issue(grant(), NOW).await.unwrap();
    let fa = tokens.family_of(&a).await.unwrap().unwrap();
    let fb = tokens.family_of(&b).await.unwrap().unwrap();
    tokens.signed_with(&fa, "k1").await.unwrap();
    tokens.signed_with(&fb, "k2").await.unwrap();
    assert_eq!(tokens.revoke_families_signed_by("k1").await.unwrap(), 1);
    assert_eq!(tokens.revoke_families_signed_by("k1").await.unwrap(), 0);
    assert_eq!(tokens.rotate(&a, NOW + 1).await.unwrap_err(), RefreshError::Revoked);
    tokens.rotate(&b, NOW + 1).await.unwrap();
}
