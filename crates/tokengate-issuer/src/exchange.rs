//! [`TokenExchange`]: the RFC 8693 token exchange grant.
//!
//! A client presents a subject token (and optionally an actor token) and asks for a
//! token for another audience. The answer keeps the subject, never carries more scope
//! than the subject token had, and names the actor in `act`, nesting any `act` the
//! subject token already carried (the previous links of the delegation chain).
//!
//! Errors follow RFC 8693 section 2.2.2 and RFC 6749 section 5.2: a subject or actor
//! token that does not verify, or a malformed request, is `invalid_request`; an
//! audience not offered is `invalid_target`; more scope than the subject token had is
//! `invalid_scope`; another grant type is `unsupported_grant_type`. Descriptions are
//! fixed strings: they never echo a token or say why a token failed.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokengate_core::{Verified, Verifier};

use crate::mint::TokenMinter;
use crate::oauth_error::OAuthError;

/// The `grant_type` of a token exchange.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type of an access token.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The token type of a JWT.
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// The form parameters of a token exchange request (RFC 8693 section 2.1).
#[derive(Clone, Default, Deserialize)]
pub struct ExchangeRequest {
    /// Must be [`TOKEN_EXCHANGE_GRANT`].
    pub grant_type: Option<String>,
    /// The token of the party the new token is about.
    pub subject_token: Option<String>,
    /// [`ACCESS_TOKEN_TYPE`] or [`JWT_TOKEN_TYPE`].
    pub subject_token_type: Option<String>,
    /// The token of the party acting for the subject.
    pub actor_token: Option<String>,
    /// Required with `actor_token`.
    pub actor_token_type: Option<String>,
    /// The audience of the new token.
    pub audience: Option<String>,
    /// Requested scope (space-separated); default: the subject token's.
    pub scope: Option<String>,
    /// [`ACCESS_TOKEN_TYPE`] or [`JWT_TOKEN_TYPE`] when given.
    pub requested_token_type: Option<String>,
}

impl fmt::Debug for ExchangeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeRequest")
            .field("grant_type", &self.grant_type)
            .field("subject_token", &self.subject_token.as_ref().map(|_| "<redacted>"))
            .field("actor_token", &self.actor_token.as_ref().map(|_| "<redacted>"))
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl ExchangeRequest {
    /// A token exchange of `subject_token` (an access token) for `audience`.
    pub fn new(subject_token: impl Into<String>, audience: impl Into<String>) -> ExchangeRequest {
        ExchangeRequest {
            grant_type: Some(TOKEN_EXCHANGE_GRANT.to_owned()),
            subject_token: Some(subject_token.into()),
            subject_token_type: Some(ACCESS_TOKEN_TYPE.to_owned()),
            audience: Some(audience.into()),
            ..ExchangeRequest::default()
        }
    }

    /// Adds an actor token (an access token).
    #[must_use]
    pub fn actor(mut self, actor_token: impl Into<String>) -> ExchangeRequest {
        self.actor_token = Some(actor_token.into());
        self.actor_token_type = Some(ACCESS_TOKEN_TYPE.to_owned());
        self
    }

    /// Requests a scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> ExchangeRequest {
        self.scope = Some(scope.into());
        self
    }
}

/// The successful response (RFC 8693 section 2.2.1).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExchangeResponse {
    /// The new token.
    pub access_token: String,
    /// Always [`ACCESS_TOKEN_TYPE`].
    pub issued_token_type: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The granted scope.
    pub scope: String,
}

impl fmt::Debug for ExchangeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangeResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The token exchange grant: verifies the presented tokens, checks the target and
/// the scope, and mints the new token. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TokenExchange {
    minter: TokenMinter,
    subject_verifier: Verifier,
    actor_verifier: Verifier,
    audiences: Vec<String>,
    carried: Vec<String>,
    ttl: Duration,
}

impl TokenExchange {
    /// Exchanges tokens that `verifier` accepts (as subject and as actor tokens) for
    /// tokens minted by `minter`, for no audience until [`TokenExchange::audience`].
    pub fn new(minter: TokenMinter, verifier: Verifier) -> TokenExchange {
        let ttl = minter.ttl();
        TokenExchange {
            minter,
            actor_verifier: verifier.clone(),
            subject_verifier: verifier,
            audiences: Vec::new(),
            carried: Vec::new(),
            ttl,
        }
    }

    /// Verifies actor tokens with `verifier` instead (e.g. client-credentials tokens
    /// of the services, with their own audience).
    #[must_use]
    pub fn actor_verifier(mut self, verifier: Verifier) -> TokenExchange {
        self.actor_verifier = verifier;
        self
    }

    /// Offers tokens for `audience`; any other target is `invalid_target`.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> TokenExchange {
        self.audiences.push(audience.into());
        self
    }

    /// Copies the claim `name` (e.g. `tenant`) from the subject token when present.
    #[must_use]
    pub fn carry_claim(mut self, name: impl Into<String>) -> TokenExchange {
        self.carried.push(name.into());
        self
    }

    /// The longest lifetime of an exchanged token (default: the minter's); it never
    /// outlives the subject token.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> TokenExchange {
        self.ttl = ttl;
        self
    }

    /// Handles one request. Errors: `unsupported_grant_type` for another grant;
    /// `invalid_request` for a missing or unsupported parameter and for a subject or
    /// actor token that does not verify; `invalid_target` for an audience not offered;
    /// `invalid_scope` for more scope than the subject token had (all 400).
    pub async fn exchange(&self, request: &ExchangeRequest) -> Result<ExchangeResponse, OAuthError> {
        if request.grant_type.as_deref() != Some(TOKEN_EXCHANGE_GRANT) {
            return Err(OAuthError::new(400, "unsupported_grant_type", "the grant type is not supported"));
        }
        let subject_token =
            non_empty(&request.subject_token).ok_or(OAuthError::invalid_request("subject_token is required"))?;
        check_type(request.subject_token_type.as_deref(), "subject_token_type is missing or not supported")?;
        let actor_token = match (non_empty(&request.actor_token), request.actor_token_type.as_deref()) {
            (None, None) => None,
            (Some(token), kind) => {
                check_type(kind, "actor_token_type is missing or not supported")?;
                Some(token)
            }
            (None, Some(_)) => return Err(OAuthError::invalid_request("actor_token_type without actor_token")),
        };
        if let Some(kind) = request.requested_token_type.as_deref() {
            check_type(Some(kind), "requested_token_type is not supported")?;
        }
        let audience = non_empty(&request.audience).ok_or(OAuthError::invalid_request("audience is required"))?;
        if !self.audiences.iter().any(|a| a == audience) {
            return Err(OAuthError::new(400, "invalid_target", "the audience is not offered"));
        }
        let subject = self
            .subject_verifier
            .verify(subject_token)
            .map_err(|_| OAuthError::invalid_request("the subject_token is not acceptable"))?;
        let actor = match actor_token {
            Some(token) => Some(
                self.actor_verifier
                    .verify(token)
                    .map_err(|_| OAuthError::invalid_request("the actor_token is not acceptable"))?,
            ),
            None => None,
        };
        let held = subject.scopes();
        let scope: Vec<String> = match non_empty(&request.scope) {
            Some(requested) => {
                let requested: Vec<String> =
                    requested.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                if requested.iter().any(|s| !held.contains(s)) {
                    return Err(OAuthError::new(400, "invalid_scope", "the scope exceeds the subject token's"));
                }
                requested
            }
            None => held.to_vec(),
        };
        let claims = self.claims(&subject, actor.as_ref(), &scope)?;
        let now = self.minter.signers().now();
        let remaining = subject.expires_at().map_or(0, |exp| exp.saturating_sub(now));
        let ttl = self.ttl.as_secs().min(u64::try_from(remaining).unwrap_or(0));
        if ttl == 0 {
            return Err(OAuthError::invalid_request("the subject_token is not acceptable"));
        }
        let mut token = self.minter.token().audiences([audience]).ttl(Duration::from_secs(ttl)).issued_at(now);
        if let Some(sub) = subject.subject() {
            token = token.subject(sub);
        }
        let access_token = token
            .claims(claims)
            .map_err(|_| OAuthError::new(500, "server_error", "the token could not be issued"))?
            .sign()
            .await
            .map_err(|_| OAuthError::new(500, "server_error", "the token could not be issued"))?;
        Ok(ExchangeResponse {
            access_token,
            issued_token_type: ACCESS_TOKEN_TYPE.to_owned(),
            token_type: "Bearer".to_owned(),
            expires_in: ttl,
            scope: scope.join(" "),
        })
    }

    /// The extra claims of the new token: scope, carried claims, `act`.
    fn claims(
        &self,
        subject: &Verified,
        actor: Option<&Verified>,
        scope: &[String],
    ) -> Result<Map<String, Value>, OAuthError> {
        let all: Map<String, Value> =
            subject.claims_as().map_err(|_| OAuthError::invalid_request("the subject_token is not acceptable"))?;
        let mut claims = Map::new();
        if !scope.is_empty() {
            claims.insert("scope".into(), scope.join(" ").into());
        }
        for name in &self.carried {
            if let Some(value) = all.get(name) {
                claims.insert(name.clone(), value.clone());
            }
        }
        let prior = all.get("act").cloned();
        match actor {
            Some(actor) => {
                let sub = actor.subject().ok_or(OAuthError::invalid_request("the actor_token is not acceptable"))?;
                let mut act = Map::new();
                act.insert("sub".into(), sub.into());
                if let Some(prior) = prior {
                    act.insert("act".into(), prior);
                }
                claims.insert("act".into(), Value::Object(act));
            }
            None => {
                if let Some(prior) = prior {
                    claims.insert("act".into(), prior);
                }
            }
        }
        Ok(claims)
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

fn check_type(kind: Option<&str>, description: &'static str) -> Result<(), OAuthError> {
    match kind {
        Some(ACCESS_TOKEN_TYPE | JWT_TOKEN_TYPE) => Ok(()),
        _ => Err(OAuthError::invalid_request(description)),
    }
}
