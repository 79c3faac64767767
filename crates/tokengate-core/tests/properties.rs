//! Property tests: arbitrary input never panics; arbitrary signed JSON verifies or errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Map, Value};
use tokengate_core::DEFAULT_MAX_TOKEN_SIZE;
use tokengate_core::{
    Algorithm, ErrorKind, FixedClock, Key, KeySet, RedactedToken, Verifier, check_strict, peek_header,
};
use tokengate_test_support::{AUDIENCE, ISSUER, TokenBuilder, b64, fixture, other_fixture, pem, sign_raw, verifier};

const NOW: i64 = 1_800_000_000;

fn hs() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| verifier(Algorithm::HS256).clock(FixedClock::new(NOW)).build().unwrap())
}

fn es() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        Verifier::builder(
            KeySet::new([
                fixture(Algorithm::HS256).key(),
                fixture(Algorithm::ES256).key(),
                fixture(Algorithm::EdDSA).key(),
            ])
            .unwrap(),
        )
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .algorithms_of_keys()
        .clock(FixedClock::new(NOW))
        .build()
        .unwrap()
    })
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        (NOW - 400..NOW + 400).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        prop_oneof![Just(ISSUER), Just(AUDIENCE), Just("HS256"), Just("none"), Just("at+jwt")]
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn member_name(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![3 => prop::sample::select(names).prop_map(str::to_owned), 1 => "[a-z]{1,4}"]
}

const HEADER_NAMES: &[&str] = &["alg", "kid", "typ", "cty", "crit", "b64", "zip", "jwk", "jku", "x5u", "x5c"];
const CLAIM_NAMES: &[&str] = &["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope", "tenant"];

/// A header: random members, usually over a sane base so signatures get checked.
fn header() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::collection::btree_map(member_name(HEADER_NAMES), json_value(), 0..4),
        prop::sample::select(&["HS256", "ES256", "EdDSA", "none", "RS256", "HS384"][..]),
        any::<bool>(),
    )
        .prop_map(|(random, alg, base)| {
            let mut map = Map::new();
            if base {
                map.insert("alg".into(), alg.into());
                let kid = match alg {
                    "ES256" => "es256-1",
                    "EdDSA" => "eddsa-1",
                    _ => "hs256-1",
                };
                map.insert("kid".into(), kid.into());
            }
            map.extend(random);
            map
        })
}

/// Claims: random members, usually over the builder's valid defaults.
fn claims() -> impl Strategy<Value = Map<String, Value>> {
    (prop::collection::btree_map(member_name(CLAIM_NAMES), json_value(), 0..5), any::<bool>()).prop_map(
        |(random, base)| {
            let mut map = if base {
                serde_json::from_str::<Map<String, Value>>(&TokenBuilder::at(Algorithm::HS256, NOW).claims_json())
                    .unwrap()
            } else {
                Map::new()
            };
            map.extend(random);
            map
        },
    )
}

fn signing_alg(header: &Map<String, Value>) -> Algorithm {
    match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => Algorithm::ES256,
        Some("EdDSA") => Algorithm::EdDSA,
        _ => Algorithm::HS256,
    }
}

/// The kinds a verification of a token may end in (no transport or policy kinds).
const TOKEN_KINDS: &[ErrorKind] = &[
    ErrorKind::TokenTooLarge,
    ErrorKind::Malformed,
    ErrorKind::InvalidEncoding,
    ErrorKind::InvalidJson,
    ErrorKind::DuplicateMember,
    ErrorKind::NestingTooDeep,
    ErrorKind::AlgNone,
    ErrorKind::AlgorithmNotAllowed,
    ErrorKind::AlgorithmMismatch,
    ErrorKind::UnsupportedCritical,
    ErrorKind::UnencodedPayload,
    ErrorKind::CompressedPayload,
    ErrorKind::HeaderKeyMaterial,
    ErrorKind::UnknownKey,
    ErrorKind::InvalidSignature,
    ErrorKind::MissingClaim,
    ErrorKind::InvalidClaim,
    ErrorKind::Expired,
    ErrorKind::NotYetValid,
    ErrorKind::IssuedInFuture,
    ErrorKind::InvalidIssuer,
    ErrorKind::InvalidAudience,
];

/// Verifies `token`: when it passes, its registered claims really do satisfy the
/// verifier; when it fails, the kind is one a token can cause. Returns the verdict.
fn check_outcome(v: &Verifier, token: &str) -> Result<(), ErrorKind> {
    let _ = RedactedToken::new(token).to_string();
    let _ = peek_header(token);
    match v.verify(token) {
        Ok(verified) => {
            let r = verified.registered();
            assert_eq!(r.iss.as_deref(), Some(ISSUER));
            assert!(r.aud.iter().any(|a| a == AUDIENCE));
            let exp = r.exp.expect("exp is required");
            assert!(exp > NOW - 30);
            assert!(r.nbf.is_none_or(|nbf| nbf <= NOW + 30));
            assert!(r.iat.is_none_or(|iat| iat <= NOW + 30));
            let header = verified.header().unwrap();
            assert!(matches!(header.alg(), Algorithm::HS256 | Algorithm::ES256 | Algorithm::EdDSA));
            // The lazily parsed claims are a JSON object.
            assert!(verified.claims().unwrap().is_object());
            Ok(())
        }
        Err(e) => {
            assert!(TOKEN_KINDS.contains(&e.kind()), "{e:?} for {token}");
            Err(e.kind())
        }
    }
}

/// A valid token of the `es()` verifier, with random but valid variations: algorithm,
/// times within the leeway, `aud` as a string or an array holding [`AUDIENCE`], and
/// extra header members and claims of any JSON value (under names nothing defines).
#[derive(Debug, Clone)]
struct ValidToken {
    alg: Algorithm,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

fn valid_token() -> impl Strategy<Value = ValidToken> {
    (
        prop::sample::select(&[Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA][..]),
        (NOW - 29..NOW + 100_000, prop::option::of(NOW - 1000..=NOW + 30), prop::option::of(NOW - 1000..=NOW + 30)),
        prop::option::of(prop::collection::vec("[a-z-]{1,12}", 0..3)),
        prop::collection::btree_map("x-[a-z]{1,4}", json_value(), 0..3),
        prop::collection::btree_map("x_[a-z]{1,4}", json_value(), 0..4),
    )
        .prop_map(|(alg, (exp, nbf, iat), aud_array, extra_header, extra_claims)| {
            let mut header = Map::new();
            header.insert("alg".into(), tokengate_core::algorithm_name(alg).into());
            header.insert("kid".into(), fixture(alg).kid().into());
            header.insert("typ".into(), "JWT".into());
            header.extend(extra_header);
            let mut claims = Map::new();
            claims.insert("iss".into(), ISSUER.into());
            claims.insert("sub".into(), "user-1".into());
            let aud = match aud_array {
                Some(mut others) => {
                    let at = others.len() / 2;
                    others.insert(at, AUDIENCE.to_owned());
                    Value::from(others)
                }
                None => AUDIENCE.into(),
            };
            claims.insert("aud".into(), aud);
            claims.insert("exp".into(), exp.into());
            if let Some(nbf) = nbf {
                claims.insert("nbf".into(), nbf.into());
            }
            if let Some(iat) = iat {
                claims.insert("iat".into(), iat.into());
            }
            claims.extend(extra_claims);
            ValidToken { alg, header, claims }
        })
}

/// One defect applied to a valid token, with the exact kind it must be refused with.
#[derive(Debug, Clone)]
enum Defect {
    /// No defect: the token must verify.
    None,
    /// A header member set to a value.
    Header(&'static str, Value, ErrorKind),
    /// A claim set to a value.
    Claim(&'static str, Value, ErrorKind),
    /// A required claim removed.
    Drop(&'static str),
    /// Signed by another key of the same algorithm.
    OtherKey,
}

fn defect() -> impl Strategy<Value = Defect> {
    use ErrorKind as K;
    let wrong_type = prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool), Just(Value::Array(vec![]))];
    prop_oneof![
        // About a third of the cases carry no defect.
        12 => Just(Defect::None),
        1 => prop::sample::select(&["none", "None", "NONE", "nOnE"][..]).prop_map(|a| Defect::Header("alg", a.into(), K::AlgNone)),
        // `es()` allows the algorithms of its keys: a known algorithm that is not the
        // named key's own is a mismatch; a name that is no algorithm is not allowed.
        1 => prop::sample::select(&["RS256", "PS256", "HS384", "HS512", "ES384", "HS256", "ES256", "EdDSA"][..])
            .prop_map(|a| Defect::Header("alg", a.into(), K::AlgorithmMismatch)),
        1 => prop::sample::select(&["hs256", "ES512", "RSA-OAEP", "", " EdDSA"][..])
            .prop_map(|a| Defect::Header("alg", a.into(), K::AlgorithmNotAllowed)),
        1 => "[a-z0-9]{0,8}".prop_map(|k| Defect::Header("kid", format!("unknown-{k}").into(), K::UnknownKey)),
        1 => json_value().prop_map(|v| Defect::Header("crit", v, K::UnsupportedCritical)),
        1 => json_value().prop_map(|v| Defect::Header("zip", v, K::CompressedPayload)),
        1 => (prop::sample::select(&["jwk", "jku", "x5u", "x5c"][..]), json_value())
            .prop_map(|(name, v)| Defect::Header(name, v, K::HeaderKeyMaterial)),
        1 => (0i64..1_000_000).prop_map(|d| Defect::Claim("exp", (NOW - 30 - d).into(), K::Expired)),
        1 => (0i64..1_000_000).prop_map(|d| Defect::Claim("nbf", (NOW + 31 + d).into(), K::NotYetValid)),
        1 => (0i64..1_000_000).prop_map(|d| Defect::Claim("iat", (NOW + 31 + d).into(), K::IssuedInFuture)),
        1 => "\\PC{0,16}".prop_filter("not the issuer", |s| s != ISSUER)
            .prop_map(|s| Defect::Claim("iss", s.into(), K::InvalidIssuer)),
        1 => "\\PC{0,16}".prop_filter("not the audience", |s| s != AUDIENCE)
            .prop_map(|s| Defect::Claim("aud", s.into(), K::InvalidAudience)),
        1 => (prop::sample::select(&["exp", "nbf", "iat", "iss", "sub", "jti"][..]), wrong_type)
            .prop_map(|(name, v)| Defect::Claim(name, v, K::InvalidClaim)),
        1 => prop::sample::select(&["exp", "iss", "aud"][..]).prop_map(Defect::Drop),
        1 => Just(Defect::OtherKey),
    ]
}

/// Applies `defect` to `token`, signs it and returns it with the verdict it must get.
fn build(token: &ValidToken, defect: &Defect) -> (String, Result<(), ErrorKind>) {
    let (mut header, mut claims) = (token.header.clone(), token.claims.clone());
    let mut signer = fixture(token.alg);
    let want = match defect {
        Defect::None => Ok(()),
        // The token's own algorithm again: no defect after all.
        Defect::Header("alg", value, _) if value.as_str() == Some(tokengate_core::algorithm_name(token.alg)) => Ok(()),
        Defect::Header(name, value, kind) => {
            header.insert((*name).to_owned(), value.clone());
            Err(*kind)
        }
        Defect::Claim(name, value, kind) => {
            claims.insert((*name).to_owned(), value.clone());
            Err(*kind)
        }
        Defect::Drop(name) => {
            claims.remove(*name);
            Err(ErrorKind::MissingClaim)
        }
        Defect::OtherKey => {
            signer = other_fixture(token.alg);
            Err(ErrorKind::InvalidSignature)
        }
    };
    let token =
        signer.sign_raw(Value::Object(header).to_string().as_bytes(), Value::Object(claims).to_string().as_bytes());
    (token, want)
}

/// Valid tokens with random variations pass; each with one defect is refused with
/// exactly its kind; and both kinds of case do occur (a third of them are valid).
#[test]
fn valid_tokens_pass_and_each_defect_gets_its_kind() {
    use std::cell::Cell;
    let (accepted, refused) = (Cell::new(0u32), Cell::new(0u32));
    let config = ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner
        .run(&(valid_token(), defect()), |(token, defect)| {
            let (text, want) = build(&token, &defect);
            let got = check_outcome(es(), &text);
            prop_assert_eq!(got, want, "{:?} {:?} {}", token, defect, text);
            if got.is_ok() {
                accepted.set(accepted.get() + 1)
            } else {
                refused.set(refused.get() + 1)
            }
            Ok(())
        })
        .unwrap();
    // 400 cases, a third without defect: fewer than 60 of either is (far) below 1e-9.
    assert!(accepted.get() >= 60, "only {} valid tokens passed", accepted.get());
    assert!(refused.get() >= 60, "only {} defective tokens were refused", refused.get());
}

/// A JWK member name and what to put there: a fuzzed value, or nothing (removed).
fn jwk_member_edit() -> impl Strategy<Value = (&'static str, Option<Value>)> {
    let names = &["kty", "crv", "x", "y", "n", "e", "k", "alg", "use", "key_ops", "kid", "d", "x5c"][..];
    let value = prop_oneof![
        json_value(),
        prop::collection::vec(any::<u8>(), 0..600).prop_map(|b| Value::String(b64(b))),
        prop::sample::select(&["RSA", "EC", "OKP", "oct", "P-256", "P-384", "Ed25519", "ES256", "RS256", "sig"][..])
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    (prop::sample::select(names), prop::option::of(value))
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(hs().verify(&text).is_err());
        prop_assert!(es().verify(&text).is_err());
        let _ = RedactedToken::new(&text).to_string();
        let _ = peek_header(&text);
        let _ = check_strict(&bytes);
    }

    #[test]
    fn arbitrary_token_shaped_strings_never_panic(s in "[A-Za-z0-9_=+/.-]{0,300}") {
        prop_assert!(hs().verify(&s).is_err());
        prop_assert!(es().verify(&s).is_err());
        let _ = RedactedToken::new(&s).to_string();
    }

    #[test]
    fn arbitrary_base64_segments_never_panic(
        h in prop::collection::vec(any::<u8>(), 0..200),
        p in prop::collection::vec(any::<u8>(), 0..400),
        s in prop::collection::vec(any::<u8>(), 0..130),
    ) {
        let token = format!("{}.{}.{}", b64(&h), b64(&p), b64(&s));
        prop_assert!(hs().verify(&token).is_err());
        prop_assert!(es().verify(&token).is_err());
        // Correctly signed arbitrary bytes: an error, never a panic (and never valid,
        // since random bytes are not a header with a known alg).
        let signed = sign_raw(Algorithm::HS256, &h, &p);
        prop_assert!(hs().verify(&signed).is_err());
    }

    #[test]
    fn arbitrary_signed_json_verifies_or_errors(header in header(), claims in claims()) {
        let alg = signing_alg(&header);
        let header_json = Value::Object(header).to_string();
        let claims_json = Value::Object(claims).to_string();
        let token = sign_raw(alg, header_json.as_bytes(), claims_json.as_bytes());
        let _ = check_outcome(hs(), &token);
        let _ = check_outcome(es(), &token);
    }

    #[test]
    fn arbitrary_json_values_as_header_or_claims(value in json_value()) {
        let text = value.to_string();
        let good_header = r#"{"alg":"HS256","kid":"hs256-1"}"#;
        // A header that is any JSON value but an object with a known alg: never valid.
        let no_claims = b"{}";
        prop_assert!(check_outcome(hs(), &sign_raw(Algorithm::HS256, text.as_bytes(), no_claims)).is_err());
        // Claims that are not the verifier's: never valid (no iss, aud or exp at the top).
        prop_assert!(check_outcome(hs(), &sign_raw(Algorithm::HS256, good_header.as_bytes(), text.as_bytes())).is_err());
        let _ = check_strict(text.as_bytes());
    }

    #[test]
    fn any_single_character_change_is_rejected(pos in any::<prop::sample::Index>(), c in "[A-Za-z0-9_.=+/-]") {
        static TOKEN: OnceLock<String> = OnceLock::new();
        let token = TOKEN.get_or_init(|| TokenBuilder::at(Algorithm::HS256, NOW).sign());
        let i = pos.index(token.len());
        let mut changed = token.clone();
        changed.replace_range(i..=i, &c);
        if changed != *token {
            prop_assert!(hs().verify(&changed).is_err(), "{changed}");
        }
    }

    #[test]
    fn key_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), text in "\\PC{0,200}") {
        for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
            let _ = Key::from_der(alg, &bytes);
            let _ = Key::from_pem(alg, &bytes);
            let _ = Key::from_pem(alg, format!("-----BEGIN PUBLIC KEY-----\n{text}\n-----END PUBLIC KEY-----\n").as_bytes());
        }
        let _ = Key::from_jwk_json(&text);
        let _ = Key::from_jwk_json(&String::from_utf8_lossy(&bytes));
        let _ = KeySet::from_jwks_json(&bytes);
        let _ = KeySet::from_jwks_json(format!(r#"{{"keys":[{text}]}}"#).as_bytes());
    }

    #[test]
    fn jwk_shapes_with_fuzzed_members_never_panic(
        alg in prop::sample::select(&tokengate_test_support::ALL_ALGORITHMS[..]),
        edits in prop::collection::vec(jwk_member_edit(), 1..4),
    ) {
        // A real JWK of every key type, with one to three members replaced by fuzz or
        // removed: the parsers get past the JSON and into the key checks.
        let mut jwk = fixture(alg).jwk();
        let map = jwk.as_object_mut().unwrap();
        for (name, value) in &edits {
            match value {
                Some(v) => map.insert((*name).to_owned(), v.clone()),
                None => map.remove(*name),
            };
        }
        let text = jwk.to_string();
        let single = Key::from_jwk_json(&text);
        if let Ok(key) = &single {
            prop_assert!(tokengate_test_support::ALL_ALGORITHMS.contains(&key.algorithm()));
        }
        // A JWKS holding it agrees: the key is in the set exactly when it parses alone.
        if let Ok((set, skipped)) = KeySet::from_jwks_json(format!(r#"{{"keys":[{text}]}}"#).as_bytes()) {
            prop_assert_eq!(set.len(), usize::from(single.is_ok()), "{}", text);
            prop_assert_eq!(skipped.len(), usize::from(single.is_err()), "{}", text);
        }
    }

    #[test]
    fn pem_armour_with_fuzzed_bodies_never_panics(
        source in prop::sample::select(&[Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA][..]),
        label in prop::sample::select(&["PUBLIC KEY", "RSA PUBLIC KEY", "PRIVATE KEY", "EC PRIVATE KEY", "CERTIFICATE", "X"][..]),
        flip in (any::<prop::sample::Index>(), 1u8..),
        cut in any::<prop::sample::Index>(),
        random in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let der = fixture(source).public_der();
        let mut flipped = der.to_vec();
        flipped[flip.0.index(der.len())] ^= flip.1;
        let cut = &der[..cut.index(der.len())];
        for body in [&flipped[..], cut, &random] {
            let text = pem(label, body);
            for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
                // Only a public-key label ever yields a key.
                if Key::from_pem(alg, text.as_bytes()).is_ok() {
                    prop_assert!(label.contains("PUBLIC KEY"), "{label} {alg:?}");
                }
            }
        }
    }

    #[test]
    fn random_ec_coordinates_are_refused(x in prop::array::uniform32(any::<u8>()), y in prop::array::uniform32(any::<u8>()),
        x384 in prop::collection::vec(any::<u8>(), 48), y384 in prop::collection::vec(any::<u8>(), 48)) {
        // A random (x, y) is on the curve with probability about 2^-256: refused, on
        // either backend.
        prop_assert!(Key::ec_components(Algorithm::ES256, &x, &y).is_err());
        prop_assert!(Key::ec_components(Algorithm::ES384, &x384, &y384).is_err());
    }

    #[test]
    fn der_prefixes_of_real_keys_never_panic(cut in 0usize..600, flip in any::<(usize, u8)>()) {
        for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
            let der = fixture(alg).public_der();
            let prefix = &der[..cut.min(der.len())];
            let _ = Key::from_der(alg, prefix);
            let mut flipped = der.to_vec();
            let at = flip.0 % flipped.len();
            flipped[at] ^= flip.1;
            let _ = Key::from_der(alg, &flipped);
        }
    }
}

/// A JSON document model for checking the strict reader against an independent oracle.
#[derive(Debug, Clone)]
enum Doc {
    Scalar(&'static str),
    Array(Vec<Doc>),
    /// Members as (name, whether to write the name with a `\u` escape, value).
    Object(Vec<(String, bool, Doc)>),
}

fn doc() -> impl Strategy<Value = Doc> {
    let leaf = prop::sample::select(&["1", "-2.5e3", "true", "null", "\"s\"", "\"\\u00e9\"", "[]", "{}"][..])
        .prop_map(Doc::Scalar);
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Doc::Array),
            prop::collection::vec(("[abc]", any::<bool>(), inner.clone()), 0..5).prop_map(Doc::Object),
            // Enough names to cross the switch from a list to a hash set (16).
            prop::collection::vec(("[a-f]{1,2}", any::<bool>(), inner), 10..30).prop_map(Doc::Object),
        ]
    })
}

fn render(d: &Doc, out: &mut String) {
    match d {
        Doc::Scalar(s) => out.push_str(s),
        Doc::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render(item, out);
            }
            out.push(']');
        }
        Doc::Object(members) => {
            out.push('{');
            for (i, (name, escaped, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if *escaped {
                    let code = u32::from(name.chars().next().unwrap());
                    out.push_str(&format!("\"\\u{code:04x}{}\":", &name[1..]));
                } else {
                    out.push_str(&format!("\"{name}\":"));
                }
                render(value, out);
            }
            out.push('}');
        }
    }
}

/// The first refusal in document order, as the strict reader should find it; `depth`
/// is the nesting level of `d` itself (the top level is 1). Empty `[]`/`{}` scalars
/// count as one level.
fn oracle(d: &Doc, depth: usize) -> Option<tokengate_core::ErrorKind> {
    use tokengate_core::MAX_DEPTH;
    match d {
        Doc::Scalar(s) => (s.starts_with(['[', '{']) && depth > MAX_DEPTH).then_some(ErrorKind::NestingTooDeep),
        Doc::Array(items) => {
            if depth > MAX_DEPTH {
                return Some(ErrorKind::NestingTooDeep);
            }
            items.iter().find_map(|item| oracle(item, depth + 1))
        }
        Doc::Object(members) => {
            if depth > MAX_DEPTH {
                return Some(ErrorKind::NestingTooDeep);
            }
            let mut seen: Vec<&str> = Vec::new();
            for (name, _, value) in members {
                if seen.contains(&name.as_str()) {
                    return Some(ErrorKind::DuplicateMember);
                }
                seen.push(name);
                if let Some(kind) = oracle(value, depth + 1) {
                    return Some(kind);
                }
            }
            None
        }
    }
}

proptest! {
    #[test]
    fn strict_reader_agrees_with_an_oracle(inner in doc(), wraps in prop::collection::vec(any::<bool>(), 0..20)) {
        // Wrap the document in up to 19 single-member arrays or objects to reach the bound.
        let mut d = inner;
        for as_object in wraps {
            d = if as_object { Doc::Object(vec![("w".to_owned(), false, d)]) } else { Doc::Array(vec![d]) };
        }
        let mut text = String::new();
        render(&d, &mut text);
        let want = oracle(&d, 1);
        let got = check_strict(text.as_bytes()).err().map(|e| e.kind());
        prop_assert_eq!(got, want, "{}", text);
        // The same verdicts inside a signed token's claims, when the top is an object.
        if let Doc::Object(_) = d {
            let token = sign_raw(Algorithm::HS256, br#"{"alg":"HS256","kid":"hs256-1"}"#, text.as_bytes());
            let err = hs().verify(&token).unwrap_err().kind();
            if token.len() > DEFAULT_MAX_TOKEN_SIZE {
                // The size limit is checked before any parsing.
                prop_assert_eq!(err, tokengate_core::ErrorKind::TokenTooLarge);
            } else if let Some(kind) = want {
                prop_assert_eq!(err, kind, "{}", text);
            }
        }
    }
}
