//! Table-driven tests: every policy with each way to allow and each denial (exact kind,
//! reason, scopes, max_age, acr_values, policy name), the combinators, and the layer
//! (statuses, the missing authentication layer, the failure rate limiter).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::convert::Infallible;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use serde_json::{Value, json};
use tokengate_core::{Algorithm, Denial, DenialKind, FixedClock, Verified};
use tokengate_policy::reasons::*;
use tokengate_policy::*;
use tokengate_test_support::{ISSUER, TokenBuilder, verifier};
use tower::{ServiceBuilder, ServiceExt, service_fn};

const NOW: i64 = 1_800_000_000;

/// A verified HS256 token carrying `claims` on top of the fixture's registered claims.
fn token(claims: Value) -> Verified {
    let mut builder = TokenBuilder::at(Algorithm::HS256, NOW);
    for (name, value) in claims.as_object().unwrap() {
        builder = builder.claim(name, value.clone());
    }
    verifier(Algorithm::HS256).clock(FixedClock::new(NOW)).build().unwrap().verify(&builder.sign()).unwrap()
}

/// `None` when allowed; else the denial's kind, policy name and reason.
type Outcome = Option<(DenialKind, &'static str, String)>;

/// `None` when allowed; else (kind, policy, reason).
fn outcome(
    policy: &dyn Policy,
    claims: Value,
    request: &PolicyRequest<'_>,
) -> Option<(DenialKind, &'static str, String)> {
    policy.check(&token(claims), request).err().map(|d| (d.kind(), d.policy(), d.reason().to_owned()))
}

fn forbidden(policy: &'static str, reason: &str) -> Outcome {
    Some((DenialKind::Forbidden, policy, reason.to_owned()))
}

const SCOPE_REASON: &str = "the access token lacks the required scope";

#[test]
fn scope_all_of_and_any_of() {
    let all = Scope::all_of(["a", "b"]);
    let any = Scope::any_of(["a", "b"]);
    let r = PolicyRequest::new();
    let cases: &[(Value, bool, bool)] = &[
        // claims, all_of allows, any_of allows
        (json!({"scope": "a b"}), true, true),
        (json!({"scope": "b  c\ta"}), true, true),
        (json!({"scope": "a"}), false, true),
        (json!({"scope": "ab"}), false, false),
        (json!({"scp": ["a", "b"]}), true, true),
        (json!({"scp": "b"}), false, true),
        (json!({"scope": "a", "scp": ["b"]}), true, true),
        (json!({"scope": ["a", "b"]}), true, true),
        (json!({"scope": 7}), false, false),
        (json!({"scp": [1, "c"]}), false, false),
        (json!({}), false, false),
    ];
    for (claims, all_ok, any_ok) in cases {
        for (policy, ok) in [(&all, *all_ok), (&any, *any_ok)] {
            let result = policy.check(&token(claims.clone()), &r);
            if ok {
                assert!(result.is_ok(), "{claims}: {result:?}");
            } else {
                let denial = result.unwrap_err();
                assert_eq!(denial.kind(), DenialKind::InsufficientScope, "{claims}");
                assert_eq!(denial.scopes(), ["a", "b"], "{claims}");
                assert_eq!((denial.policy(), denial.reason()), ("scope", SCOPE_REASON));
            }
        }
    }
    assert!(Scope::all_of(Vec::<String>::new()).check(&token(json!({})), &r).is_ok());
    assert!(Scope::any_of(Vec::<String>::new()).check(&token(json!({"scope": "a"})), &r).is_err());
}

#[test]
fn claim_contains_roles_groups_and_paths() {
    let r = PolicyRequest::new();
    let roles = ClaimContains::any_of("roles", ["admin", "owner"]);
    let groups = ClaimContains::all_of("groups", ["eng", "oncall"]);
    let nested = ClaimContains::any_of("realm_access.roles", ["orders"]);
    let reason = |c: &str| forbidden("claim", &format!("the token's {c} claim lacks a required value"));
    let cases: Vec<(&ClaimContains, Value, Outcome)> = vec![
        (&roles, json!({"roles": ["viewer", "owner"]}), None),
        (&roles, json!({"roles": "admin"}), None),
        (&roles, json!({"roles": "admin owner"}), reason("roles")), // not split: one role named so
        (&roles, json!({"roles": ["viewer"]}), reason("roles")),
        (&roles, json!({"roles": {"admin": true}}), reason("roles")),
        (&roles, json!({}), reason("roles")),
        (&groups, json!({"groups": ["eng", "oncall", "x"]}), None),
        (&groups, json!({"groups": ["eng"]}), reason("groups")),
        (&nested, json!({"realm_access": {"roles": ["orders"]}}), None),
        (&nested, json!({"realm_access": {"roles": ["billing"]}}), reason("realm_access.roles")),
        (&nested, json!({"realm_access": ["orders"]}), reason("realm_access.roles")),
        (&nested, json!({"realm_access.roles": ["orders"]}), None), // a top-level name wins
    ];
    for (policy, claims, expected) in cases {
        assert_eq!(outcome(policy, claims.clone(), &r), expected, "{claims}");
    }
}

#[test]
fn claim_equals_and_predicates() {
    let r = PolicyRequest::new();
    let verified = ClaimEquals::new("email_verified", true);
    let plan = ClaimEquals::new("billing.plan", "enterprise");
    let adult = ClaimPredicate::new("age", |v| v.and_then(Value::as_u64).is_some_and(|a| a >= 18));
    let eq = |c: &str| forbidden("claim", &format!("the token's {c} claim does not have the required value"));
    let pred = forbidden("claim", "the token's age claim does not satisfy the policy");
    let cases: Vec<(&dyn Policy, Value, Outcome)> = vec![
        (&verified, json!({"email_verified": true}), None),
        (&verified, json!({"email_verified": "true"}), eq("email_verified")),
        (&verified, json!({}), eq("email_verified")),
        (&plan, json!({"billing": {"plan": "enterprise"}}), None),
        (&plan, json!({"billing": {"plan": "free"}}), eq("billing.plan")),
        (&adult, json!({"age": 30}), None),
        (&adult, json!({"age": 12}), pred.clone()),
        (&adult, json!({}), pred),
    ];
    for (policy, claims, expected) in cases {
        assert_eq!(outcome(policy, claims.clone(), &r), expected, "{claims}");
    }
}

#[test]
fn tenant_from_each_source() {
    let mut headers = HeaderMap::new();
    headers.insert("x-tenant", HeaderValue::from_static("acme"));
    let mut twice = HeaderMap::new();
    twice.append("x-tenant", HeaderValue::from_static("acme"));
    twice.append("x-tenant", HeaderValue::from_static("acme"));
    let path = PolicyRequest::new().route("/t/{tenant}/orders").path("/t/acme/orders");
    let other_path = PolicyRequest::new().route("/t/{tenant}/orders").path("/t/globex/orders");
    let host = PolicyRequest::new().host("acme.api.example:443");
    let deep_host = PolicyRequest::new().host("x.acme.api.example");
    let bare_host = PolicyRequest::new().host("api.example");
    let header = PolicyRequest::new().headers(&headers);
    let repeated = PolicyRequest::new().headers(&twice);
    let value = PolicyRequest::for_value("acme");
    let empty = PolicyRequest::for_value("");

    let by_path = Tenant::from_path_param("tenant");
    let by_host = Tenant::from_host_subdomain("api.example");
    let by_header = Tenant::from_header("x-tenant");
    let by_value = Tenant::from_value();
    let by_org = Tenant::from_value().claim("org.id");
    let acme = json!({"tenant_id": "acme"});
    let mismatch = forbidden("tenant", "the token's tenant_id does not match the requested tenant");
    let no_tenant = forbidden("tenant", NO_TENANT);
    let cases: Vec<(&Tenant, &PolicyRequest<'_>, Value, Outcome)> = vec![
        (&by_path, &path, acme.clone(), None),
        (&by_path, &other_path, acme.clone(), mismatch.clone()),
        (&by_path, &path, json!({"tenant_id": "globex"}), mismatch.clone()),
        (&by_path, &path, json!({}), mismatch.clone()),
        (&by_path, &path, json!({"tenant_id": ["acme"]}), mismatch.clone()),
        (&by_path, &host, acme.clone(), no_tenant.clone()),
        (&by_host, &host, acme.clone(), None),
        (&by_host, &deep_host, acme.clone(), no_tenant.clone()),
        (&by_host, &bare_host, acme.clone(), no_tenant.clone()),
        (&by_header, &header, acme.clone(), None),
        (&by_header, &repeated, acme.clone(), no_tenant.clone()),
        (&by_header, &value, acme.clone(), no_tenant.clone()),
        (&by_value, &value, acme.clone(), None),
        (&by_value, &empty, json!({"tenant_id": ""}), no_tenant),
        (&by_org, &value, json!({"org": {"id": "acme"}}), None),
        (&by_org, &value, acme, forbidden("tenant", "the token's org.id does not match the requested tenant")),
    ];
    for (policy, request, claims, expected) in cases {
        assert_eq!(outcome(policy, claims.clone(), request), expected, "{policy:?} {request:?} {claims}");
    }
}

#[test]
fn tenant_specific_issuers() {
    let policy = Tenant::from_value().issuer("acme", ISSUER).issuer("globex", "https://globex.example");
    let cases = [
        ("acme", json!({"tenant_id": "acme"}), None),
        // tenant_id globex, but issued by acme's issuer (the fixture's ISSUER).
        ("globex", json!({"tenant_id": "globex"}), forbidden("tenant", WRONG_ISSUER)),
        ("initech", json!({"tenant_id": "initech"}), forbidden("tenant", UNKNOWN_TENANT)),
        (
            "globex",
            json!({"tenant_id": "acme"}),
            forbidden("tenant", "the token's tenant_id does not match the requested tenant"),
        ),
    ];
    for (tenant, claims, expected) in cases {
        assert_eq!(outcome(&policy, claims.clone(), &PolicyRequest::for_value(tenant)), expected, "{tenant} {claims}");
    }
}

#[test]
fn region_failover_and_issuers() {
    let r = PolicyRequest::new();
    let eu = Region::new("eu-west-1");
    let failover = Region::new("eu-west-1").failover(["us-east-1"]);
    let pinned =
        Region::new("eu-west-1").failover(["us-east-1"]).issuer("us-east-1", "https://us.example").claim("geo");
    let cases: Vec<(&Region, Value, Outcome)> = vec![
        (&eu, json!({"region": "eu-west-1"}), None),
        (&eu, json!({"region": "us-east-1"}), forbidden("region", WRONG_REGION)),
        (&eu, json!({"region": "EU-WEST-1"}), forbidden("region", WRONG_REGION)),
        (&eu, json!({}), forbidden("region", NO_REGION)),
        (&eu, json!({"region": 1}), forbidden("region", NO_REGION)),
        (&failover, json!({"region": "us-east-1"}), None),
        (&failover, json!({"region": "ap-south-1"}), forbidden("region", WRONG_REGION)),
        (&pinned, json!({"geo": "eu-west-1"}), None), // no issuer pinned for eu-west-1
        (&pinned, json!({"geo": "us-east-1"}), forbidden("region", WRONG_REGION_ISSUER)),
        (&pinned, json!({"region": "eu-west-1"}), forbidden("region", NO_REGION)),
    ];
    for (policy, claims, expected) in cases {
        assert_eq!(outcome(policy, claims.clone(), &r), expected, "{claims}");
    }
    let ours = Region::new("eu-west-1").issuer("eu-west-1", ISSUER);
    assert_eq!(outcome(&ours, json!({"region": "eu-west-1"}), &r), None);
}

#[test]
fn delegation_chains() {
    let r = PolicyRequest::new();
    let limited = Delegation::new().max_depth(2).allowed_actors(["svc", "gateway"]);
    let by_issuer = Delegation::new().allowed_actor_issuers(["https://sts.example"]);
    let required = Delegation::new().require_actor();
    let deny = |reason| forbidden("delegation", reason);
    let cases: Vec<(&Delegation, Value, Outcome)> = vec![
        (&limited, json!({}), None),
        (&limited, json!({"act": {"sub": "svc"}}), None),
        (&limited, json!({"act": {"sub": "svc", "act": {"sub": "gateway"}}}), None),
        (&limited, json!({"act": {"sub": "svc", "act": {"sub": "svc", "act": {"sub": "svc"}}}}), deny(TOO_DEEP)),
        (&limited, json!({"act": {"sub": "mallory"}}), deny(ACTOR_NOT_ALLOWED)),
        (&limited, json!({"act": {"sub": "svc", "act": {"sub": "mallory"}}}), deny(ACTOR_NOT_ALLOWED)),
        (&limited, json!({"act": "svc"}), deny(MALFORMED_ACT)),
        (&limited, json!({"act": {"client_id": "svc"}}), deny(MALFORMED_ACT)),
        (&limited, json!({"act": {"sub": "svc", "act": []}}), deny(MALFORMED_ACT)),
        (&limited, json!({"act": {"sub": "svc", "iss": 5}}), deny(MALFORMED_ACT)),
        // may_act: the current actor must be the one named.
        (&limited, json!({"act": {"sub": "svc"}, "may_act": {"sub": "svc"}}), None),
        (&limited, json!({"act": {"sub": "gateway"}, "may_act": {"sub": "svc"}}), deny(MAY_ACT_MISMATCH)),
        (
            &limited,
            json!({"act": {"sub": "svc"}, "may_act": {"sub": "svc", "iss": "https://sts.example"}}),
            deny(MAY_ACT_MISMATCH),
        ),
        (&limited, json!({"act": {"sub": "svc"}, "may_act": "svc"}), deny(MALFORMED_ACT)),
        (&limited, json!({"may_act": {"sub": "svc"}}), None),
        (&by_issuer, json!({"act": {"sub": "x", "iss": "https://sts.example"}}), None),
        (&by_issuer, json!({"act": {"sub": "x"}}), deny(ACTOR_NOT_ALLOWED)),
        (&by_issuer, json!({"act": {"sub": "x", "iss": "https://evil.example"}}), deny(ACTOR_NOT_ALLOWED)),
        (&required, json!({}), deny(NO_ACTOR)),
        (&required, json!({"act": {"sub": "anyone"}}), None),
    ];
    for (policy, claims, expected) in cases {
        assert_eq!(outcome(policy, claims.clone(), &r), expected, "{claims}");
    }

    let chained = token(json!({"act": {"sub": "svc", "iss": "https://sts.example", "act": {"sub": "gateway"}}}));
    let chain = actor_chain(&chained).unwrap();
    assert_eq!(
        chain,
        [
            Actor { sub: "svc".into(), iss: Some("https://sts.example".into()) },
            Actor { sub: "gateway".into(), iss: None }
        ]
    );
    assert_eq!(current_actor(&chained).map(|a| a.sub), Some("svc".into()));
    assert_eq!(actor_chain(&token(json!({}))).unwrap(), []);
    assert_eq!(current_actor(&token(json!({}))), None);
}

#[test]
fn zero_trust_step_up_and_bindings() {
    let clock = FixedClock::new(NOW);
    let age = ZeroTrust::new().max_auth_age(Duration::from_secs(300)).clock(clock.clone());
    let acr = ZeroTrust::new().acr(["mfa", "hwk"]);
    let both = ZeroTrust::new().max_auth_age(Duration::from_secs(300)).acr(["mfa"]).clock(clock.clone());
    let amr = ZeroTrust::new().amr(["pwd", "otp"]);
    let bound = ZeroTrust::new().bind("sid", "X-Session-Id");
    let mut headers = HeaderMap::new();
    headers.insert("x-session-id", HeaderValue::from_static("s-1"));
    let with_header = PolicyRequest::new().headers(&headers);
    let plain = PolicyRequest::new();

    type Expected = Option<(DenialKind, String, Option<u64>, Vec<&'static str>)>;
    let step = |reason: &str, max_age: Option<u64>, acr: Vec<&'static str>| -> Expected {
        Some((DenialKind::StepUp, reason.to_owned(), max_age, acr))
    };
    let deny = |reason: &str| -> Expected { Some((DenialKind::Forbidden, reason.to_owned(), None, vec![])) };
    let cases: Vec<(&ZeroTrust, Value, &PolicyRequest<'_>, Expected)> = vec![
        (&age, json!({"auth_time": NOW - 300}), &plain, None),
        (&age, json!({"auth_time": NOW - 301}), &plain, step(TOO_OLD, Some(300), vec![])),
        (&age, json!({"auth_time": NOW + 60}), &plain, None),
        (&age, json!({"auth_time": NOW + 61}), &plain, step(TOO_OLD, Some(300), vec![])),
        (&age, json!({"auth_time": "recent"}), &plain, step(TOO_OLD, Some(300), vec![])),
        (&age, json!({"iat": NOW - 100}), &plain, None), // no auth_time: iat
        (&age, json!({"iat": NOW - 400, "nbf": NOW - 400}), &plain, step(TOO_OLD, Some(300), vec![])),
        (&acr, json!({"acr": "hwk"}), &plain, None),
        (&acr, json!({"acr": "pwd"}), &plain, step(WRONG_ACR, None, vec!["mfa", "hwk"])),
        (&acr, json!({}), &plain, step(WRONG_ACR, None, vec!["mfa", "hwk"])),
        (&both, json!({"auth_time": NOW, "acr": "mfa"}), &plain, None),
        (&both, json!({"auth_time": NOW - 1000}), &plain, step(TOO_OLD_AND_WRONG_ACR, Some(300), vec!["mfa"])),
        (&both, json!({"auth_time": NOW, "acr": "pwd"}), &plain, step(WRONG_ACR, None, vec!["mfa"])),
        (&amr, json!({"amr": ["otp", "pwd", "hwk"]}), &plain, None),
        (&amr, json!({"amr": ["pwd"]}), &plain, deny(MISSING_AMR)),
        (&amr, json!({"amr": "pwd otp"}), &plain, deny(MISSING_AMR)),
        (&bound, json!({"sid": "s-1"}), &with_header, None),
        (&bound, json!({"sid": "s-2"}), &with_header, deny(UNBOUND)),
        (&bound, json!({"sid": "s-1"}), &plain, deny(UNBOUND)),
        (&bound, json!({}), &with_header, deny(UNBOUND)),
    ];
    for (policy, claims, request, expected) in cases {
        let got = policy.check(&token(claims.clone()), request).err().map(|d: Denial| {
            assert_eq!(d.policy(), "zero_trust");
            let acr: Vec<&'static str> = d
                .acr_values()
                .iter()
                .map(|a| {
                    if a == "mfa" {
                        "mfa"
                    } else if a == "hwk" {
                        "hwk"
                    } else {
                        "?"
                    }
                })
                .collect();
            (d.kind(), d.reason().to_owned(), d.required_max_age(), acr)
        });
        assert_eq!(got, expected, "{claims}");
    }
    // The injected clock moves: the same token ages out.
    let t = token(json!({"auth_time": NOW - 200}));
    assert!(age.check(&t, &plain).is_ok());
    clock.advance(101);
    assert_eq!(age.check(&t, &plain).unwrap_err().required_max_age(), Some(300));
}

#[test]
fn combinators() {
    let r = PolicyRequest::new();
    let a = Scope::all_of(["a"]);
    let b = ClaimContains::any_of("roles", ["b"]);
    let scope_a = Some((DenialKind::InsufficientScope, "scope", SCOPE_REASON.to_owned()));
    let role_b = forbidden("claim", "the token's roles claim lacks a required value");
    let and = a.clone().and(b.clone());
    let or = a.clone().or(b.clone());
    let not = a.clone().not().reason("scope a is not allowed here");
    let all = All::new().push(a.clone()).push(b.clone());
    let any = Any::new().push(a.clone()).push(b.clone());
    let (no_all, no_any) = (All::new(), Any::new());
    let neither = json!({});
    let only_a = json!({"scope": "a"});
    let only_b = json!({"roles": ["b"]});
    let both = json!({"scope": "a", "roles": ["b"]});
    let cases: Vec<(&dyn Policy, &Value, Outcome)> = vec![
        (&and, &both, None),
        (&and, &only_a, role_b.clone()),
        (&and, &only_b, scope_a.clone()),
        (&and, &neither, scope_a.clone()), // the first denial wins
        (&or, &only_a, None),
        (&or, &only_b, None),
        (&or, &neither, scope_a.clone()), // both refuse: the left one's denial
        (&not, &only_a, forbidden("not", "scope a is not allowed here")),
        (&not, &neither, None),
        (&all, &both, None),
        (&all, &only_a, role_b.clone()),
        (&any, &only_b, None),
        (&any, &neither, scope_a.clone()),
        (&no_all, &neither, None),
        (&no_any, &neither, forbidden("any", "no policy allows the request")),
    ];
    for (i, (policy, claims, expected)) in cases.into_iter().enumerate() {
        assert_eq!(outcome(policy, claims.clone(), &r), expected, "case {i}: {claims}");
    }
    // Nesting and closures.
    let get_only = policy_fn(|_t: &Verified, r: &PolicyRequest<'_>| match r.get_method() {
        Some("GET") => Ok(()),
        _ => Err(Denial::forbidden("read_only", "read only")),
    });
    let nested = a.or(b).and(get_only);
    assert!(nested.check(&token(only_b.clone()), &PolicyRequest::new().method("GET")).is_ok());
    assert_eq!(outcome(&nested, only_b, &PolicyRequest::new().method("POST")), forbidden("read_only", "read only"));
    let shared: Arc<dyn Policy> = Arc::new(nested);
    assert!(shared.check(&token(both), &PolicyRequest::new().method("GET")).is_ok());
}

/// The layer: statuses, headers, problem bodies, the 500 without authentication.
#[tokio::test]
async fn the_layer_answers_denials_over_http() {
    let layer = PolicyLayer::new(Tenant::from_path_param("tenant").and(Scope::all_of(["read"])));
    let service = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_r: Request<()>| async { Ok::<_, Infallible>(Response::new(String::from("ok"))) });
    let request = |claims: Option<Value>, path: &str| {
        let mut request = Request::builder().uri(path).body(()).unwrap();
        request.extensions_mut().insert(RouteTemplate("/t/{tenant}".into()));
        if let Some(claims) = claims {
            request.extensions_mut().insert(Arc::new(token(claims)));
        }
        request
    };
    let ok =
        service.clone().oneshot(request(Some(json!({"tenant_id": "acme", "scope": "read"})), "/t/acme")).await.unwrap();
    assert_eq!((ok.status(), ok.body().as_str()), (StatusCode::OK, "ok"));

    let denied = service.clone().oneshot(request(Some(json!({"tenant_id": "acme"})), "/t/acme")).await.unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert_eq!(denied.headers()["www-authenticate"], r#"Bearer error="insufficient_scope", scope="read""#);
    assert_eq!(denied.extensions().get::<Denial>().map(Denial::kind), Some(DenialKind::InsufficientScope));

    let other = service
        .clone()
        .oneshot(request(Some(json!({"tenant_id": "acme", "scope": "read"})), "/t/globex"))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    assert_eq!(other.headers().get("www-authenticate"), None);
    let body: Value = serde_json::from_str(other.body()).unwrap();
    assert_eq!(body["detail"], "the token's tenant_id does not match the requested tenant");

    let missing = service.clone().oneshot(request(None, "/t/acme")).await.unwrap();
    assert_eq!(missing.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = serde_json::from_str(missing.body()).unwrap();
    assert_eq!(body["detail"], tokengate_tower::denial::MISSING_AUTHENTICATION);

    // With a realm.
    let realm = ServiceBuilder::new()
        .layer(PolicyLayer::new(Scope::all_of(["x"])).response(tokengate_tower::DenialResponse::new().realm("api")))
        .service_fn(|_r: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) });
    let denied = realm.oneshot(request(Some(json!({})), "/t/acme")).await.unwrap();
    assert_eq!(denied.headers()["www-authenticate"], r#"Bearer realm="api", error="insufficient_scope", scope="x""#);
}

/// Behind axum's router, the path parameter comes from `MatchedPath` (feature `axum`,
/// on in workspace builds).
#[cfg(feature = "axum")]
#[tokio::test]
async fn axum_route_params() {
    let app: axum::Router = axum::Router::new()
        .route("/t/{tenant}/orders", axum::routing::get(|| async { "ok" }))
        .route_layer(PolicyLayer::new(Tenant::from_path_param("tenant")))
        .route_layer(axum::middleware::from_fn(
            |mut request: axum::extract::Request, next: axum::middleware::Next| async move {
                request.extensions_mut().insert(Arc::new(token(json!({"tenant_id": "acme"}))));
                next.run(request).await
            },
        ));
    let get = |uri: &'static str| Request::get(uri).body(axum::body::Body::empty()).unwrap();
    assert_eq!(app.clone().oneshot(get("/t/acme/orders")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.clone().oneshot(get("/t/globex/orders")).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(app.oneshot(get("/t/acme/other")).await.unwrap().status(), StatusCode::NOT_FOUND);
}

/// A denial after successful authentication is never counted as a failed token by the
/// failure rate limiter; a bad token still is.
#[tokio::test]
async fn denials_are_not_counted_by_the_failure_rate_limiter() {
    use tokengate_tower::JwtAuthLayer;
    use tokengate_tower::rate_limit::FailureRateLimitLayer;

    let verifier = verifier(Algorithm::HS256).build().unwrap();
    let service = ServiceBuilder::new()
        .layer(
            FailureRateLimitLayer::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(3600))
                .unwrap()
                .limit_unidentified(),
        )
        .layer(JwtAuthLayer::new(verifier))
        .layer(PolicyLayer::new(Scope::all_of(["admin"])))
        .service(service_fn(|_r: Request<()>| async { Ok::<_, Infallible>(Response::new(String::new())) }));
    let with = |token: &str| Request::builder().header("authorization", format!("Bearer {token}")).body(()).unwrap();
    let denied = TokenBuilder::new(Algorithm::HS256).claim("scope", "read").sign();
    for _ in 0..5 {
        assert_eq!(service.clone().oneshot(with(&denied)).await.unwrap().status(), StatusCode::FORBIDDEN);
    }
    let bad = format!("{denied}x");
    for _ in 0..2 {
        assert_eq!(service.clone().oneshot(with(&bad)).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(service.oneshot(with(&denied)).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
}
