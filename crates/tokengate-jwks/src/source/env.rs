//! [`EnvSource`]: keys from an environment variable (serverless: put there from a secrets
//! store at start-up).

use tokengate_core::{Algorithm, ConfigError, Key, KeySet};

use super::{FetchFuture, Fetched, KeySource, parse_jwks};
use crate::JwksError;

/// Keys read from an environment variable: a JWKS document, or one PEM public key.
///
/// The variable is read on every fetch; it rarely changes in a running process, so the
/// cache's refresh mostly confirms the same keys.
///
/// ```
/// use tokengate_core::Algorithm;
/// use tokengate_jwks::EnvSource;
/// let jwks = EnvSource::jwks("AUTH_JWKS");
/// let pem = EnvSource::pem("AUTH_PUBLIC_KEY", Algorithm::RS256).kid("main");
/// # let _ = (jwks, pem);
/// ```
#[derive(Debug, Clone)]
pub struct EnvSource {
    name: String,
    format: Format,
}

#[derive(Debug, Clone)]
enum Format {
    Jwks,
    Pem { alg: Algorithm, kid: Option<String> },
}

impl EnvSource {
    /// The variable holds a JWKS document (`{"keys": [...]}`).
    pub fn jwks(name: impl Into<String>) -> EnvSource {
        EnvSource { name: name.into(), format: Format::Jwks }
    }

    /// The variable holds one PEM public key, used with `alg`.
    pub fn pem(name: impl Into<String>, alg: Algorithm) -> EnvSource {
        EnvSource { name: name.into(), format: Format::Pem { alg, kid: None } }
    }

    /// The `kid` of a PEM key (without one, tokens must omit `kid`).
    pub fn kid(mut self, kid: impl Into<String>) -> EnvSource {
        if let Format::Pem { kid: slot, .. } = &mut self.format {
            *slot = Some(kid.into());
        }
        self
    }

    fn read(&self) -> Result<Fetched, JwksError> {
        let env_err = |reason: String| JwksError::Env { name: self.name.clone(), reason };
        // Fixed messages: `VarError::NotUnicode`'s own text carries the whole value, which
        // may be a secret (an HMAC key), into logs and `Health::last_error`.
        let value = std::env::var(&self.name).map_err(|e| {
            env_err(match e {
                std::env::VarError::NotPresent => "not set".to_owned(),
                std::env::VarError::NotUnicode(_) => "not valid UTF-8".to_owned(),
            })
        })?;
        match &self.format {
            Format::Jwks => parse_jwks(value.as_bytes()).map_err(|e| env_err(jwks_reason(&value, &e))),
            Format::Pem { alg, kid } => {
                let key = Key::from_pem(*alg, value.as_bytes()).map_err(|e| env_err(pem_reason(&e)))?;
                let key = match kid {
                    Some(kid) => key.with_kid(kid.clone()),
                    None => key,
                };
                let set = KeySet::new([key]).map_err(|e| env_err(e.to_string()))?;
                Ok(Fetched::new(set))
            }
        }
    }
}

/// Why the variable is not a JWKS, without quoting it: parser messages can echo parts of
/// the value (`invalid type: string "..."`), and a misplaced secret must not reach the logs.
fn jwks_reason(value: &str, error: &JwksError) -> String {
    match error {
        JwksError::InvalidJwks(ConfigError::DuplicateKid(_)) | JwksError::NoUsableKeys { .. } => error.to_string(),
        _ => match serde_json::from_str::<serde::de::IgnoredAny>(value) {
            Err(e) if e.is_syntax() || e.is_eof() => {
                format!("not valid JSON (line {}, column {})", e.line(), e.column())
            }
            _ => "not a JWKS document (expected {\"keys\": [...]}, without duplicate members)".to_owned(),
        },
    }
}

/// Why the variable is not a PEM public key, without quoting it.
fn pem_reason(error: &ConfigError) -> String {
    match error {
        // The PEM parser's messages can quote bytes of the value.
        ConfigError::InvalidKey(message) if message.starts_with("PEM:") => "not a PEM document".to_owned(),
        other => other.to_string(),
    }
}

impl KeySource for EnvSource {
    fn fetch(&self) -> FetchFuture<'_> {
        let result = self.read();
        Box::pin(async move { result })
    }

    fn describe(&self) -> String {
        format!("environment variable {}", self.name)
    }
}
