//! OAuth 2.0 Protected Resource Metadata (RFC 9728): [`ProtectedResourceMetadata`] and
//! [`MetadataService`], which serves it at [`WELL_KNOWN_PATH`], so that clients can
//! discover which authorization server issues tokens for this resource.
//!
//! Point clients at it from every challenge with
//! [`JwtAuthLayer::resource_metadata`](crate::JwtAuthLayer::resource_metadata).
//!
//! ```
//! use http::{Request, StatusCode};
//! use tokengate_tower::metadata::{ProtectedResourceMetadata, WELL_KNOWN_PATH};
//! use tower::ServiceExt;
//!
//! let metadata = ProtectedResourceMetadata::new("https://orders.example/api")
//!     .authorization_server("https://issuer.example")
//!     .scopes_supported(["orders:read", "admin"]);
//! assert_eq!(metadata.well_known_url(), "https://orders.example/.well-known/oauth-protected-resource/api");
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let response = metadata.into_service().oneshot(Request::get(WELL_KNOWN_PATH).body(()).unwrap()).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//! assert_eq!(response.headers()["content-type"], "application/json");
//! # });
//! ```

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde::{Deserialize, Serialize};
use tower_service::Service;

/// The path of the metadata document for a resource at the root of its host.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// The RFC 9728 metadata document of a protected resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// The resource identifier (an `https` URL without fragment), as in tokens' `aud`.
    pub resource: String,
    /// Issuer identifiers of the authorization servers that issue tokens for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// Scopes used in requests to this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How tokens may be presented: `header`, `body`, `query`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bearer_methods_supported: Vec<String>,
    /// A human-readable name of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// A URL of developer documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
}

impl ProtectedResourceMetadata {
    /// Metadata for `resource`, presented in the `Authorization` header.
    pub fn new(resource: impl Into<String>) -> Self {
        ProtectedResourceMetadata {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: None,
            resource_documentation: None,
        }
    }

    /// Adds an authorization server (its issuer identifier).
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Sets the supported scopes.
    pub fn scopes_supported<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets how tokens may be presented (`header`, `body`, `query`).
    pub fn bearer_methods_supported<I: IntoIterator<Item = S>, S: Into<String>>(mut self, methods: I) -> Self {
        self.bearer_methods_supported = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the human-readable name.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Sets the documentation URL.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// Where the document is served (RFC 9728 section 3.1): the well-known path inserted
    /// between the host and the resource's path.
    pub fn well_known_url(&self) -> String {
        let resource = self.resource.split('#').next().unwrap_or_default();
        let Some(scheme_end) = resource.find("://") else { return format!("{resource}{WELL_KNOWN_PATH}") };
        let after_scheme = scheme_end + 3;
        let path_start = resource.get(after_scheme..).and_then(|r| r.find('/')).map(|i| i + after_scheme);
        match path_start {
            Some(i) => {
                let (origin, path) = resource.split_at(i);
                let path = path.trim_end_matches('/');
                format!("{origin}{WELL_KNOWN_PATH}{path}")
            }
            None => format!("{resource}{WELL_KNOWN_PATH}"),
        }
    }

    /// The JSON document.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// A service answering `GET`/`HEAD` with the JSON document (any path: mount it at
    /// [`WELL_KNOWN_PATH`] or at the path of [`Self::well_known_url`]).
    pub fn into_service(self) -> MetadataService {
        MetadataService { json: Bytes::from(self.to_json()) }
    }
}

/// Serves a [`ProtectedResourceMetadata`] document: `GET` and `HEAD` get `200` with
/// `application/json` and `Cache-Control: max-age=3600`; other methods get `405`.
///
/// With axum: `Router::new().route_service(WELL_KNOWN_PATH, metadata.into_service())`.
#[derive(Debug, Clone)]
pub struct MetadataService {
    json: Bytes,
}

impl<B> Service<Request<B>> for MetadataService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = request.method();
        let response = if method == Method::GET || method == Method::HEAD {
            let body = if method == Method::HEAD { Bytes::new() } else { self.json.clone() };
            let mut response = Response::new(Full::new(body));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
            response
        } else {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        };
        ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls() {
        let url = |r: &str| ProtectedResourceMetadata::new(r).well_known_url();
        assert_eq!(url("https://a.example"), "https://a.example/.well-known/oauth-protected-resource");
        assert_eq!(url("https://a.example/"), "https://a.example/.well-known/oauth-protected-resource");
        assert_eq!(url("https://a.example/x/y"), "https://a.example/.well-known/oauth-protected-resource/x/y");
    }

    #[test]
    fn json_shape() {
        let json = ProtectedResourceMetadata::new("https://a.example").authorization_server("https://i").to_json();
        assert_eq!(
            json,
            r#"{"resource":"https://a.example","authorization_servers":["https://i"],"bearer_methods_supported":["header"]}"#
        );
    }
}
