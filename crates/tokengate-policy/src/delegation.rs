//! Delegation (RFC 8693 section 4.1): the `act` claim chain, limits on its depth and its
//! actors, and `may_act`. Helpers read the current actor and the chain.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;
use tokengate_core::{Denial, Verified};

use crate::policy::{Policy, PolicyRequest, claims};

/// The reason when `act` (or `may_act`) is not an object with a string `sub`.
pub const MALFORMED_ACT: &str = "the act claim is malformed";
/// The reason when the chain is deeper than allowed.
pub const TOO_DEEP: &str = "the delegation chain is too deep";
/// The reason when an actor is not allowed.
pub const ACTOR_NOT_ALLOWED: &str = "an actor in the delegation chain is not allowed";
/// The reason when delegation is required and the token has no `act`.
pub const NO_ACTOR: &str = "the token is not a delegated token";
/// The reason when the current actor is not the one `may_act` names.
pub const MAY_ACT_MISMATCH: &str = "the actor is not allowed to act for the subject (may_act)";

/// One actor of an `act` chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The actor's `sub`.
    pub sub: String,
    /// The actor's `iss`, if given.
    pub iss: Option<String>,
}

fn actor(value: &Value) -> Result<(Actor, Option<&Value>), Denial> {
    let object = value.as_object().ok_or_else(|| Denial::forbidden("delegation", MALFORMED_ACT))?;
    let sub =
        object.get("sub").and_then(Value::as_str).ok_or_else(|| Denial::forbidden("delegation", MALFORMED_ACT))?;
    let iss = match object.get("iss") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Denial::forbidden("delegation", MALFORMED_ACT)),
    };
    Ok((Actor { sub: sub.to_owned(), iss }, object.get("act")))
}

/// The `act` chain, current actor first, then the actors before it (each nested `act`).
/// Empty when the token has no `act`; a denial ([`MALFORMED_ACT`]) when a link is not an
/// object with a string `sub`.
pub fn actor_chain(token: &Verified) -> Result<Vec<Actor>, Denial> {
    let mut chain = Vec::new();
    let mut next = claims(token).and_then(|c| c.get("act"));
    while let Some(value) = next {
        let (actor, inner) = actor(value)?;
        chain.push(actor);
        next = inner;
    }
    Ok(chain)
}

/// The current actor (the outermost `act`), if the token is delegated and well formed.
pub fn current_actor(token: &Verified) -> Option<Actor> {
    let value = claims(token)?.get("act")?;
    actor(value).ok().map(|(actor, _)| actor)
}

/// Limits delegated tokens: the depth of the `act` chain, which actors may appear
/// (`sub`, optionally `iss`), and `may_act` (when the token carries it, the current
/// actor must be the one it names). Tokens without `act` pass unless
/// [`Delegation::require_actor`]. Refused with
/// [`DenialKind::Forbidden`](tokengate_core::DenialKind::Forbidden) (policy `"delegation"`).
///
/// ```
/// use tokengate_policy::Delegation;
/// let delegation = Delegation::new().max_depth(2).allowed_actors(["reporting-service"]);
/// # let _ = delegation;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Delegation {
    max_depth: Option<usize>,
    actors: Option<Arc<HashSet<String>>>,
    actor_issuers: Option<Arc<HashSet<String>>>,
    require_actor: bool,
}

impl Delegation {
    /// No limits yet (`may_act` is always honoured).
    pub fn new() -> Self {
        Delegation::default()
    }

    /// At most `depth` actors in the chain (`act` is depth 1, `act.act` depth 2).
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = Some(depth);
        self
    }

    /// Every actor's `sub` must be one of these.
    pub fn allowed_actors<I, S>(mut self, subjects: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.actors = Some(Arc::new(subjects.into_iter().map(Into::into).collect()));
        self
    }

    /// Every actor must carry an `iss`, one of these.
    pub fn allowed_actor_issuers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.actor_issuers = Some(Arc::new(issuers.into_iter().map(Into::into).collect()));
        self
    }

    /// Refuses tokens without `act` ([`NO_ACTOR`]).
    pub fn require_actor(mut self) -> Self {
        self.require_actor = true;
        self
    }
}

impl Policy for Delegation {
    fn check(&self, token: &Verified, _request: &PolicyRequest<'_>) -> Result<(), Denial> {
        let chain = actor_chain(token)?;
        let Some(current) = chain.first() else {
            return if self.require_actor { Err(Denial::forbidden("delegation", NO_ACTOR)) } else { Ok(()) };
        };
        if self.max_depth.is_some_and(|max| chain.len() > max) {
            return Err(Denial::forbidden("delegation", TOO_DEEP));
        }
        for actor in &chain {
            let sub_ok = self.actors.as_ref().is_none_or(|allowed| allowed.contains(&actor.sub));
            let iss_ok = self
                .actor_issuers
                .as_ref()
                .is_none_or(|allowed| actor.iss.as_ref().is_some_and(|iss| allowed.contains(iss)));
            if !(sub_ok && iss_ok) {
                return Err(Denial::forbidden("delegation", ACTOR_NOT_ALLOWED));
            }
        }
        if let Some(may_act) = claims(token).and_then(|c| c.get("may_act")) {
            let (allowed, _) = actor(may_act)?;
            let iss_ok = allowed.iss.is_none() || allowed.iss == current.iss;
            if allowed.sub != current.sub || !iss_ok {
                return Err(Denial::forbidden("delegation", MAY_ACT_MISMATCH));
            }
        }
        Ok(())
    }
}
