//! Reading an introspection response (RFC 7662 section 2.2) and judging it by the same
//! rules as a JWT: active, issuer, audience, validity period.

use std::sync::Arc;

use serde::Deserialize;
use tokengate_core::{AuthError, Clock, ErrorKind, MAX_NUMERIC_DATE, RegisteredClaims, check_strict};

/// The answer of the authorization server, parsed and judged: the registered claims and
/// the response object itself (the claims a handler sees).
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) registered: RegisteredClaims,
    pub(crate) raw: Box<str>,
    /// The server does not introspect this kind of token (`400 unsupported_token_type`,
    /// e.g. for self-contained JWTs): not an acceptance, see [`crate::ZeroTrust`].
    pub(crate) unsupported: bool,
}

impl Answer {
    /// The answer `400 {"error": "unsupported_token_type"}`.
    pub(crate) fn unsupported() -> Answer {
        Answer { registered: RegisteredClaims::default(), raw: "{}".into(), unsupported: true }
    }
}

/// Whether a 400 body is the error `unsupported_token_type`.
pub(crate) fn is_unsupported_token_type(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
    }
    check_strict(body).is_ok()
        && serde_json::from_slice::<OAuthError>(body).is_ok_and(|e| e.error == "unsupported_token_type")
}

/// The rules an active token must pass.
#[derive(Clone, Debug)]
pub(crate) struct Rules {
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: i64,
    pub(crate) clock: Arc<dyn Clock>,
}

fn garbage(what: &'static str) -> AuthError {
    AuthError::with_detail(ErrorKind::IntrospectionUnavailable, what)
}

#[derive(Deserialize)]
struct Active {
    active: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// A NumericDate: a non-negative JSON number, fractions cut.
struct Date(i64);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        let secs = n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f.floor() as i64));
        match secs {
            Some(s) if (0..=MAX_NUMERIC_DATE).contains(&s) => Ok(Date(s)),
            _ => Err(serde::de::Error::custom("not a NumericDate")),
        }
    }
}

/// The members tokengate reads; others stay in the raw object.
#[derive(Deserialize)]
#[allow(dead_code)] // scope, client_id and username are type-checked here and read from the raw object
struct Members {
    scope: Option<String>,
    client_id: Option<String>,
    username: Option<String>,
    token_type: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    iss: Option<String>,
    exp: Option<Date>,
    nbf: Option<Date>,
    iat: Option<Date>,
    jti: Option<String>,
}

/// Parses a JSON introspection response and judges it. A response that is not a strict
/// JSON object with a boolean `active`, or whose members have the wrong types, is the
/// server's fault: [`ErrorKind::IntrospectionUnavailable`].
pub(crate) fn judge(body: &[u8], rules: &Rules) -> Result<Answer, AuthError> {
    check_strict(body).map_err(|_| garbage("the introspection response is not strict JSON"))?;
    let text = std::str::from_utf8(body).map_err(|_| garbage("the introspection response is not UTF-8"))?;
    let Active { active } =
        serde_json::from_str(text).map_err(|_| garbage("the introspection response has no boolean `active` member"))?;
    if !active {
        return Err(AuthError::new(ErrorKind::Inactive));
    }
    let m: Members =
        serde_json::from_str(text).map_err(|_| garbage("a member of the introspection response has the wrong type"))?;
    if m.token_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("refresh_token")) {
        return Err(AuthError::with_detail(ErrorKind::InvalidType, "a refresh token is not an access token"));
    }
    if m.iss.as_deref().is_some_and(|iss| iss != rules.issuer) {
        return Err(AuthError::new(ErrorKind::InvalidIssuer));
    }
    let aud = match m.aud {
        None => Vec::new(),
        Some(Audience::One(a)) => vec![a],
        Some(Audience::Many(list)) => list,
    };
    if !aud.iter().any(|a| rules.audiences.contains(a)) {
        return Err(AuthError::new(ErrorKind::InvalidAudience));
    }
    let now = rules.clock.now();
    let (exp, nbf, iat) = (m.exp.map(|d| d.0), m.nbf.map(|d| d.0), m.iat.map(|d| d.0));
    if exp.is_some_and(|exp| now >= exp.saturating_add(rules.leeway)) {
        return Err(AuthError::new(ErrorKind::Expired));
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(rules.leeway)) {
        return Err(AuthError::new(ErrorKind::NotYetValid));
    }
    if iat.is_some_and(|iat| iat > now.saturating_add(rules.leeway)) {
        return Err(AuthError::new(ErrorKind::IssuedInFuture));
    }
    let registered = RegisteredClaims { iss: m.iss, sub: m.sub, aud, exp, nbf, iat, jti: m.jti };
    Ok(Answer { registered, raw: text.into(), unsupported: false })
}

/// The `token_introspection` member of a verified RFC 9701 JWT response, as JSON text.
pub(crate) fn jwt_member(claims: &str) -> Result<String, AuthError> {
    #[derive(Deserialize)]
    struct Wrapped {
        token_introspection: serde_json::Map<String, serde_json::Value>,
    }
    let wrapped: Wrapped = serde_json::from_str(claims)
        .map_err(|_| garbage("the JWT introspection response has no `token_introspection` object"))?;
    serde_json::to_string(&wrapped.token_introspection).map_err(|_| garbage("unreadable token_introspection"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokengate_core::FixedClock;

    fn rules() -> Rules {
        Rules {
            issuer: "https://as.example".into(),
            audiences: vec!["api".into()],
            leeway: 30,
            clock: Arc::new(FixedClock::new(1_000_000)),
        }
    }

    fn kind(body: &str) -> Option<ErrorKind> {
        judge(body.as_bytes(), &rules()).err().map(|e| e.kind())
    }

    #[test]
    fn reads_an_active_response() {
        let body = r#"{"active":true,"scope":"a b","client_id":"c","sub":"s","aud":["x","api"],"iss":"https://as.example","exp":1000100,"nbf":999000,"iat":999000.5,"token_type":"Bearer","jti":"j"}"#;
        let answer = judge(body.as_bytes(), &rules()).unwrap();
        let r = &answer.registered;
        assert_eq!(r.sub.as_deref(), Some("s"));
        assert_eq!(r.aud, ["x", "api"]);
        assert_eq!((r.exp, r.nbf, r.iat), (Some(1_000_100), Some(999_000), Some(999_000)));
        assert_eq!(r.jti.as_deref(), Some("j"));
        assert_eq!(&*answer.raw, body);
        // No iss is fine (RFC 7662: optional); a single-string aud too.
        assert!(judge(br#"{"active":true,"aud":"api"}"#, &rules()).is_ok());
    }

    #[test]
    fn each_rule_has_its_kind() {
        assert_eq!(kind(r#"{"active":false}"#), Some(ErrorKind::Inactive));
        assert_eq!(kind(r#"{"active":false,"exp":"junk"}"#), Some(ErrorKind::Inactive));
        assert_eq!(kind(r#"{"active":true,"aud":"other"}"#), Some(ErrorKind::InvalidAudience));
        assert_eq!(kind(r#"{"active":true}"#), Some(ErrorKind::InvalidAudience));
        assert_eq!(kind(r#"{"active":true,"aud":"api","iss":"https://evil"}"#), Some(ErrorKind::InvalidIssuer));
        assert_eq!(kind(r#"{"active":true,"aud":"api","exp":999970}"#), Some(ErrorKind::Expired));
        assert_eq!(kind(r#"{"active":true,"aud":"api","exp":999971}"#), None);
        assert_eq!(kind(r#"{"active":true,"aud":"api","nbf":1000031}"#), Some(ErrorKind::NotYetValid));
        assert_eq!(kind(r#"{"active":true,"aud":"api","iat":1000031}"#), Some(ErrorKind::IssuedInFuture));
        assert_eq!(kind(r#"{"active":true,"aud":"api","token_type":"refresh_token"}"#), Some(ErrorKind::InvalidType));
    }

    #[test]
    fn garbage_is_the_servers_fault() {
        for body in [
            "",
            "null",
            "[true]",
            r#"{"active":"true"}"#,
            r#"{"active":1}"#,
            r#"{"scope":"a"}"#,
            r#"{"active":false,"active":true}"#,
            r#"{"active":true,"aud":"api","exp":-1}"#,
            r#"{"active":true,"aud":"api","exp":"1"}"#,
            r#"{"active":true,"aud":[1]}"#,
            r#"{"active":true,"aud":"api","sub":{}}"#,
            "<html>oops</html>",
        ] {
            assert_eq!(kind(body), Some(ErrorKind::IntrospectionUnavailable), "{body}");
        }
    }

    #[test]
    fn jwt_member_is_extracted() {
        assert_eq!(jwt_member(r#"{"iss":"x","token_introspection":{"active":false}}"#).unwrap(), r#"{"active":false}"#);
        assert_eq!(jwt_member(r#"{"iss":"x"}"#).map_err(|e| e.kind()), Err(ErrorKind::IntrospectionUnavailable));
    }
}
