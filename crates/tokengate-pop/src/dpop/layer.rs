//! [`DpopLayer`] (the proof check after authentication) and [`DpopScheme`] (the token
//! source for `Authorization: DPoP <token>`).

use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response, StatusCode};
use tokengate_core::{AuthError, ErrorKind, Verified};
use tokengate_tower::{RequestHead, TokenSource};
use tower_layer::Layer;
use tower_service::Service;

use super::proof::{DpopError, DpopRequest, DpopVerifier};
use crate::layer::{Kind, ResponseFuture};

/// Reads the token of `Authorization: DPoP <token>` (scheme case-insensitive), for
/// [`TokenSources::then`](tokengate_tower::TokenSources::then) next to the bearer source.
#[derive(Debug, Clone, Copy, Default)]
pub struct DpopScheme;

impl TokenSource for DpopScheme {
    fn extract<'a>(&self, request: &RequestHead<'a>) -> Result<Option<&'a str>, AuthError> {
        let mut found = None;
        for value in request.headers().get_all(AUTHORIZATION) {
            let Ok(value) = value.to_str() else { continue };
            if let Some((scheme, token)) = value.split_once(' ')
                && scheme.eq_ignore_ascii_case("dpop")
            {
                if found.is_some() {
                    return Err(AuthError::with_detail(ErrorKind::InvalidRequest, "two DPoP credentials"));
                }
                let token = token.trim_matches(' ');
                if token.is_empty() || token.contains(' ') {
                    return Err(AuthError::with_detail(ErrorKind::InvalidRequest, "malformed DPoP credential"));
                }
                found = Some(token);
            }
        }
        Ok(found)
    }

    fn name(&self) -> &str {
        "dpop"
    }
}

/// After authentication: a token whose `cnf` has `jkt` must come with the `DPoP` scheme
/// and one valid `DPoP` proof header (checked by the [`DpopVerifier`]); a DPoP-bound
/// token sent with the `Bearer` scheme is refused. Tokens without `cnf.jkt` sent as
/// bearer tokens pass. Refusals are 401 with `WWW-Authenticate: DPoP algs="...",
/// error="invalid_dpop_proof"` (or `invalid_token`) and `error_description`.
///
/// The authentication layer must read the `DPoP` scheme too:
/// `JwtAuthLayer::new(v).token_sources(TokenSources::bearer().then(DpopScheme))`. A
/// request without a verified token is a 500: the authentication layer is missing.
#[derive(Clone, Debug)]
pub struct DpopLayer {
    verifier: DpopVerifier,
}

impl DpopLayer {
    /// Checks proofs with `verifier`.
    pub fn new(verifier: DpopVerifier) -> Self {
        DpopLayer { verifier }
    }
}

impl<S> Layer<S> for DpopLayer {
    type Service = Dpop<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Dpop { inner, verifier: self.verifier.clone() }
    }
}

/// The service of [`DpopLayer`].
#[derive(Clone, Debug)]
pub struct Dpop<S> {
    inner: S,
    verifier: DpopVerifier,
}

#[derive(serde::Deserialize)]
struct Confirmation {
    cnf: Option<Cnf>,
}

#[derive(serde::Deserialize)]
struct Cnf {
    jkt: Option<String>,
}

/// `Err(None)`: no verified token in the request, the authentication layer is missing (500).
fn check<B>(verifier: &DpopVerifier, request: &Request<B>) -> Result<(), Option<DpopError>> {
    let Some(token) = request.extensions().get::<Arc<Verified>>() else {
        return Err(None);
    };
    check_token(verifier, request, token).map_err(Some)
}

fn check_token<B>(verifier: &DpopVerifier, request: &Request<B>, token: &Verified) -> Result<(), DpopError> {
    let jkt = token
        .claims_as::<Confirmation>()
        .map_err(|_| DpopError::InvalidToken("cnf is malformed"))?
        .cnf
        .and_then(|c| c.jkt);
    let credential = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("dpop"))
        .map(|(_, token)| token.trim_matches(' '));
    let Some(access_token) = credential else {
        return match jkt {
            Some(_) => Err(DpopError::InvalidToken("a DPoP-bound token sent with the Bearer scheme")),
            None => Ok(()),
        };
    };
    let mut proofs = request.headers().get_all("dpop").iter();
    let (Some(proof), None) = (proofs.next(), proofs.next()) else {
        return Err(DpopError::InvalidProof("exactly one DPoP header is required"));
    };
    let proof = proof.to_str().map_err(|_| DpopError::InvalidProof("the DPoP header is not ASCII"))?;
    let dpop_request = DpopRequest {
        method: request.method().as_str(),
        path: request.uri().path(),
        access_token,
        jkt: jkt.as_deref(),
    };
    verifier.check(proof, &dpop_request)
}

/// The 401 for a DPoP refusal.
pub fn dpop_refusal<B: Default>(verifier: &DpopVerifier, error: &DpopError) -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    let challenge =
        format!(r#"DPoP algs="{}", error="{}", error_description="{}""#, verifier.algs(), error.code(), error.detail());
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Dpop<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match check(&self.verifier, &request) {
            Ok(()) => ResponseFuture { kind: Kind::Inner { future: self.inner.call(request) } },
            Err(Some(error)) => {
                ResponseFuture { kind: Kind::Refused { response: Some(dpop_refusal(&self.verifier, &error)) } }
            }
            Err(None) => {
                let mut response = Response::new(ResBody::default());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                ResponseFuture { kind: Kind::Refused { response: Some(response) } }
            }
        }
    }
}
