//! CWTs minted by tokengate-issuer's `CwtMinter` (COSE signing through the `Signer`
//! trait), verified with the issuer's published JWKS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::Duration;

use tokengate_core::{Algorithm, ErrorKind, KeySet};
use tokengate_cwt::{ALL_COSE_ALGORITHMS, CwtVerifier};
use tokengate_issuer::{CwtMinter, IssuerError, LocalSigner, SignerSet};

fn verifier(signers: &SignerSet) -> CwtVerifier {
    let jwks = serde_json::to_vec(&signers.jwks()).unwrap();
    let (keys, _) = KeySet::from_jwks_json(&jwks).unwrap();
    CwtVerifier::builder(keys)
        .issuer("https://as.example")
        .audience("telemetry")
        .algorithms(ALL_COSE_ALGORITHMS)
        .build()
        .unwrap()
}

#[tokio::test]
async fn minted_cwts_verify_against_the_published_jwks() {
    for alg in [Algorithm::ES256, Algorithm::EdDSA] {
        let signers = SignerSet::new(LocalSigner::generate(alg).unwrap().with_kid(format!("device-ca-{alg:?}")));
        let minter = CwtMinter::new(signers.clone(), "https://as.example").audience("telemetry");
        let cwt = minter
            .cwt()
            .subject("device-7")
            .scope("telemetry:write")
            .claim("fw", serde_json::json!({"version": 3, "beta": false}))
            .unwrap()
            .sign_base64url()
            .await
            .unwrap();
        assert!(!cwt.contains('.'));
        let v = verifier(&signers).verify_base64url(&cwt).unwrap();
        assert_eq!(v.subject(), Some("device-7"));
        assert_eq!(v.key_id(), Some(format!("device-ca-{alg:?}").as_str()));
        assert!(v.has_scope("telemetry:write"));
        assert_eq!(v.claims().unwrap()["fw"]["version"], 3);
        let lifetime = v.expires_at().unwrap() - v.registered().iat.unwrap();
        assert_eq!(lifetime, 300);
    }
}

#[tokio::test]
async fn expired_and_foreign_cwts_are_refused() {
    let signers = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
    let minter = CwtMinter::new(signers.clone(), "https://as.example").audience("telemetry").ttl(Duration::ZERO);
    let expired = minter.cwt().subject("d").sign().await.unwrap();
    // exp = iat: within the 30 s leeway now, expired for a clock 31 s later.
    let jwks = serde_json::to_vec(&signers.jwks()).unwrap();
    let (keys, _) = KeySet::from_jwks_json(&jwks).unwrap();
    let later = tokengate_core::FixedClock::new(
        {
            use tokengate_core::Clock;
            tokengate_core::SystemClock.now()
        } + 31,
    );
    let v = CwtVerifier::builder(keys)
        .issuer("https://as.example")
        .audience("telemetry")
        .algorithms_of_keys()
        .clock(later)
        .build()
        .unwrap();
    assert_eq!(v.verify(&expired).unwrap_err().kind(), ErrorKind::Expired);
    let other = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
    let foreign =
        CwtMinter::new(other, "https://as.example").audience("telemetry").cwt().subject("d").sign().await.unwrap();
    assert_eq!(verifier(&signers).verify(&foreign).unwrap_err().kind(), ErrorKind::UnknownKey);
}

#[tokio::test]
async fn rsa_signers_and_reserved_claims_are_refused() {
    let rsa = SignerSet::new(LocalSigner::generate(Algorithm::RS256).unwrap());
    let err = CwtMinter::new(rsa, "i").cwt().sign().await.unwrap_err();
    assert!(matches!(err, IssuerError::UnsupportedAlgorithm("RS256")), "{err:?}");
    let es = SignerSet::new(LocalSigner::generate(Algorithm::ES256).unwrap());
    let minter = CwtMinter::new(es, "i");
    assert!(matches!(minter.cwt().claim("exp", 1.into()), Err(IssuerError::ReservedClaim(_))));
}
