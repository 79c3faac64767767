//! Smoke test: a token minted by jsonwebtoken verifies; a tampered one does not.
use tokengate_core::{Algorithm, ErrorKind, Key, KeySet, Verifier};

#[test]
fn hs256_round_trip() {
    let secret = b"0123456789abcdef0123456789abcdef";
    let now = jsonwebtoken::get_current_timestamp();
    let claims = serde_json::json!({"iss":"https://i","aud":"api","exp":now+60,"sub":"alice"});
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k1".into());
    let token = jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(secret).expect("k"))
        .expect("encode");
    let key = Key::hmac(Algorithm::HS256, secret).expect("key").with_kid("k1");
    let v = Verifier::builder(KeySet::new([key]).expect("set"))
        .issuer("https://i")
        .audience("api")
        .algorithms([Algorithm::HS256])
        .build()
        .expect("verifier");
    let ok = v.verify(&token).expect("valid");
    assert_eq!(ok.subject(), Some("alice"));
    let mut bad = token.clone();
    bad.pop();
    bad.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(v.verify(&bad).map(|_| ()).unwrap_err().kind(), ErrorKind::InvalidSignature);
}
