//! Key sources other than HTTP: a PEM folder reloaded on change, a single PEM file, and
//! an environment variable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{TestKey, jwks, verifier};
use tokengate_core::{Algorithm, ErrorKind};
use tokengate_jwks::{EnvSource, JwksCache, JwksError, KeySource, PemSource};

const ISS: &str = "https://issuer.example";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokengate-jwks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn pem_folder_is_reloaded_when_it_changes() {
    let dir = temp_dir("folder");
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    std::fs::write(dir.join("k1.pem"), k1.public_pem()).unwrap();
    std::fs::write(dir.join("broken.pem"), "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").unwrap();
    std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
    let cache = JwksCache::builder(PemSource::dir(&dir, Algorithm::EdDSA)).build().await.unwrap();
    assert_eq!(cache.keys().len(), 1, "the broken file is skipped");
    let v = verifier(cache.clone());
    v.verify(&k1.token(ISS)).unwrap();

    // Unchanged files: the same set is kept (no new generation).
    let generation = cache.health().generation;
    cache.refresh_now().await.unwrap();
    assert_eq!(cache.health().generation, generation);

    // A new file: its kid is picked up by the refresh an unknown kid causes.
    std::fs::write(dir.join("k2.pem"), k2.public_pem()).unwrap();
    v.verify_async::<serde_json::Value>(&k2.token(ISS)).await.unwrap();

    // A removed file: its key goes at the next refresh.
    std::fs::remove_file(dir.join("k1.pem")).unwrap();
    cache.refresh_now().await.unwrap();
    assert_eq!(v.verify(&k1.token(ISS)).unwrap_err().kind(), ErrorKind::UnknownKey);

    // The folder disappears: the last keys keep serving.
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(cache.refresh_now().await.unwrap_err(), JwksError::Io { .. }));
    v.verify(&k2.token(ISS)).unwrap();
}

#[tokio::test]
async fn pem_file_with_kid_and_poll_interval() {
    let dir = temp_dir("file");
    let k1 = TestKey::new("main");
    let path = dir.join("signing.pem");
    std::fs::write(&path, k1.public_pem()).unwrap();
    let source = PemSource::file(&path, Algorithm::EdDSA).kid("main").poll_interval(Duration::from_secs(1));
    assert!(source.describe().contains("signing.pem"));
    let fetched = source.fetch().await.unwrap();
    assert_eq!(fetched.refresh_in, Some(Duration::from_secs(1)));
    let cache = JwksCache::builder(source).build().await.unwrap();
    verifier(cache).verify(&k1.token(ISS)).unwrap();

    std::fs::write(&path, "not a key").unwrap();
    let err = PemSource::file(&path, Algorithm::EdDSA).fetch().await.unwrap_err();
    assert!(matches!(err, JwksError::InvalidKey(_)));
    std::fs::remove_dir_all(&dir).unwrap();
}

const ENV_JWKS: &str = "TOKENGATE_JWKS_TEST_KEYS";
const ENV_PEM: &str = "TOKENGATE_JWKS_TEST_PEM";

/// Runs in a child process with the variables set (setting them here would need
/// `unsafe`): checks the token given in `TOKENGATE_JWKS_TEST_TOKEN`.
#[tokio::test]
async fn env_child() {
    let Ok(token) = std::env::var("TOKENGATE_JWKS_TEST_TOKEN") else { return };
    let cache = JwksCache::builder(EnvSource::jwks(ENV_JWKS)).build().await.unwrap();
    // A symmetric key configured in the environment is kept (unlike one fetched over HTTP).
    assert_eq!(cache.keys().get("hmac").map(|k| k.algorithm()), Some(Algorithm::HS256));
    verifier(cache).verify(&token).unwrap();
    let cache = JwksCache::builder(EnvSource::pem(ENV_PEM, Algorithm::EdDSA).kid("k1")).build().await.unwrap();
    verifier(cache).verify(&token).unwrap();
    println!("env-child-ok");
}

#[test]
fn environment_variable_source() {
    let k1 = TestKey::new("k1");
    let oct = serde_json::json!({"kty": "oct", "kid": "hmac", "alg": "HS256", "k": "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI"});
    let mut doc: serde_json::Value = serde_json::from_str(&jwks(&[&k1])).unwrap();
    doc["keys"].as_array_mut().unwrap().push(oct);
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "env_child", "--nocapture", "--test-threads=1"])
        .env(ENV_JWKS, doc.to_string())
        .env(ENV_PEM, k1.public_pem())
        .env("TOKENGATE_JWKS_TEST_TOKEN", k1.token(ISS))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && stdout.contains("env-child-ok"), "{stdout}");
}

#[tokio::test]
async fn missing_or_bad_environment_variable_is_an_error() {
    let err = EnvSource::jwks("TOKENGATE_JWKS_TEST_SURELY_UNSET").fetch().await.unwrap_err();
    assert_eq!(err, JwksError::Env { name: "TOKENGATE_JWKS_TEST_SURELY_UNSET".into(), reason: "not set".into() });
    // PATH is set but is no JWKS.
    let err = EnvSource::jwks("PATH").fetch().await.unwrap_err();
    assert!(matches!(err, JwksError::Env { .. }));
    assert!(!err.to_string().contains("/usr"), "the value is not echoed: {err}");
}

const ENV_NOT_UNICODE: &str = "TOKENGATE_JWKS_TEST_NOT_UNICODE";
/// A secret-looking value that is not valid UTF-8.
const NOT_UNICODE_VALUE: &[u8] = b"hunter2-hmac-secret-\xff\xfe";

/// Runs in a child process with a variable that is not UTF-8 (see below).
#[tokio::test]
async fn env_not_unicode_child() {
    if std::env::var_os("TOKENGATE_JWKS_TEST_NOT_UNICODE_CHILD").is_none() {
        return;
    }
    for source in [EnvSource::jwks(ENV_NOT_UNICODE), EnvSource::pem(ENV_NOT_UNICODE, Algorithm::EdDSA)] {
        let err = source.fetch().await.unwrap_err();
        assert_eq!(err, JwksError::Env { name: ENV_NOT_UNICODE.into(), reason: "not valid UTF-8".into() });
        let build = JwksCache::builder(source).build().await.unwrap_err();
        for shown in [err.to_string(), format!("{err:?}"), build.to_string()] {
            assert!(!shown.contains("hunter2"), "the value is shown: {shown}");
        }
    }
    // A secret in a variable read as keys (a raw HMAC secret, a JSON string, a JWK
    // instead of a JWKS): the error does not echo it.
    for name in ["TOKENGATE_JWKS_TEST_RAW", "TOKENGATE_JWKS_TEST_JSON_STRING", "TOKENGATE_JWKS_TEST_JWK"] {
        for source in [EnvSource::jwks(name), EnvSource::pem(name, Algorithm::EdDSA)] {
            let err = source.fetch().await.unwrap_err();
            assert!(!format!("{err} {err:?}").contains("hunter2"), "the value is shown: {err}");
        }
    }
    let reason = |name: &'static str| async move {
        match EnvSource::jwks(name).fetch().await.unwrap_err() {
            JwksError::Env { reason, .. } => reason,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(reason("TOKENGATE_JWKS_TEST_RAW").await, "not valid JSON (line 1, column 1)");
    let not_jwks = "not a JWKS document (expected {\"keys\": [...]}, without duplicate members)";
    assert_eq!(reason("TOKENGATE_JWKS_TEST_JSON_STRING").await, not_jwks);
    assert_eq!(reason("TOKENGATE_JWKS_TEST_JWK").await, not_jwks);
    let err = EnvSource::pem("TOKENGATE_JWKS_TEST_RAW", Algorithm::EdDSA).fetch().await.unwrap_err();
    assert_eq!(err.to_string(), "environment variable TOKENGATE_JWKS_TEST_RAW: not a PEM document");
    println!("env-not-unicode-ok");
}

#[cfg(unix)]
#[test]
fn a_variable_that_is_not_utf8_is_reported_without_its_value() {
    use std::os::unix::ffi::OsStrExt;
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "env_not_unicode_child", "--nocapture", "--test-threads=1"])
        .env(ENV_NOT_UNICODE, std::ffi::OsStr::from_bytes(NOT_UNICODE_VALUE))
        .env("TOKENGATE_JWKS_TEST_NOT_UNICODE_CHILD", "1")
        .env("TOKENGATE_JWKS_TEST_RAW", "hunter2-hmac-secret-0123456789abcdef")
        .env("TOKENGATE_JWKS_TEST_JSON_STRING", "\"hunter2-hmac-secret-0123456789abcdef\"")
        .env("TOKENGATE_JWKS_TEST_JWK", r#"{"kty": "oct", "k": "hunter2-hmac-secret", "keys": "hunter2"}"#)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stdout.contains("env-not-unicode-ok"), "{stdout}{stderr}");
}
