//! [`IssuerUrl`]: an unverified `iss`, checked to be a canonical `http(s)` URL before any
//! [`crate::IssuerRegistry`] predicate sees it.
//!
//! A predicate such as "starts with `https://login.example/tenants/`" is only as safe as
//! the string it is given: `https://login.example/tenants/../admin` starts with that
//! prefix, and a URL parser then resolves it to `/admin`. So an issuer is accepted here
//! only in the one form a URL parser leaves unchanged, with nothing a parser would
//! resolve, decode or drop: no dot segments (plain or percent-encoded, in any case), no
//! user name or password, no query, no fragment, no backslash, no encoded `/` or `\`, no
//! empty path segment, no white space or control character, a lowercase scheme and host,
//! no default port, and a numeric host only as a dotted-quad IPv4 address.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Why an unverified issuer is not a canonical `http(s)` URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerUrlError {
    /// The scheme is not `https://` or `http://` (in lowercase).
    #[error("not an http(s) URL")]
    Scheme,
    /// A character outside printable ASCII (white space, control, non-ASCII).
    #[error("a character outside printable ASCII")]
    Character,
    /// A user name or password (`user@host`).
    #[error("a user name or password")]
    UserInfo,
    /// A query (`?`).
    #[error("a query")]
    Query,
    /// A fragment (`#`).
    #[error("a fragment")]
    Fragment,
    /// A backslash, which URL parsers read as `/`.
    #[error("a backslash")]
    Backslash,
    /// A `.` or `..` path segment, plain or percent-encoded.
    #[error("a dot segment")]
    DotSegment,
    /// A percent-encoded `.`, `/` or `\`, or a malformed percent escape.
    #[error("a percent-encoded separator or dot, or a malformed escape")]
    Encoded,
    /// An empty path segment (`//`).
    #[error("an empty path segment")]
    EmptySegment,
    /// A host that is empty, not in lowercase, or a numeric host other than a dotted-quad
    /// IPv4 or a bracketed IPv6 address in its canonical form.
    #[error("a host that is not in canonical form")]
    Host,
    /// A port that is not a number, has leading zeros, or is the scheme's default.
    #[error("a port that is not in canonical form")]
    Port,
}

/// An unverified `iss` in canonical form: what an [`crate::IssuerRegistry`] is asked
/// about. Its text is the token's `iss`, unchanged ([`IssuerUrl::as_str`]); the parts are
/// views into it.
///
/// ```
/// use tokengate_jwks::{IssuerUrl, IssuerUrlError};
/// let iss = IssuerUrl::parse("https://login.example/tenants/acme/")?;
/// assert_eq!((iss.scheme(), iss.host(), iss.port(), iss.path()), ("https", "login.example", None, "/tenants/acme/"));
/// assert_eq!(IssuerUrl::parse("https://login.example/tenants/../admin").unwrap_err(), IssuerUrlError::DotSegment);
/// assert_eq!(IssuerUrl::parse("https://login.example/tenants/%2E%2e/admin").unwrap_err(), IssuerUrlError::DotSegment);
/// # Ok::<(), IssuerUrlError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IssuerUrl<'a> {
    raw: &'a str,
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
    path: &'a str,
}

impl fmt::Debug for IssuerUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IssuerUrl").field(&crate::log::for_log(self.raw)).finish()
    }
}

impl<'a> IssuerUrl<'a> {
    /// Checks that `raw` is a canonical `http(s)` URL (see the module docs).
    pub fn parse(raw: &'a str) -> Result<IssuerUrl<'a>, IssuerUrlError> {
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(IssuerUrlError::Character);
        }
        if raw.contains('\\') {
            return Err(IssuerUrlError::Backslash);
        }
        if raw.contains('#') {
            return Err(IssuerUrlError::Fragment);
        }
        if raw.contains('?') {
            return Err(IssuerUrlError::Query);
        }
        let (scheme, rest) = match raw.split_once("://") {
            Some(("https", rest)) => ("https", rest),
            Some(("http", rest)) => ("http", rest),
            _ => return Err(IssuerUrlError::Scheme),
        };
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        if authority.contains('@') {
            return Err(IssuerUrlError::UserInfo);
        }
        let (host, port) = split_port(authority)?;
        check_host(host)?;
        let default = if scheme == "https" { 443 } else { 80 };
        if port == Some(default) {
            return Err(IssuerUrlError::Port);
        }
        check_path(path)?;
        Ok(IssuerUrl { raw, scheme, host, port, path })
    }

    /// The issuer as the token names it.
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// The host, without port (an IPv6 address in brackets).
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The port, when one is given (never the scheme's default).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The path: empty, or starting with `/`; free of dot and empty segments.
    pub fn path(&self) -> &'a str {
        self.path
    }
}

fn split_port(authority: &str) -> Result<(&str, Option<u16>), IssuerUrlError> {
    let colon = if authority.starts_with('[') {
        let close = authority.find(']').ok_or(IssuerUrlError::Host)?;
        match authority.get(close + 1..) {
            Some("") => None,
            Some(after) if after.starts_with(':') => Some(close + 1),
            _ => return Err(IssuerUrlError::Host),
        }
    } else {
        authority.rfind(':')
    };
    let Some(colon) = colon else { return Ok((authority, None)) };
    let (host, port) = (authority.get(..colon).unwrap_or_default(), authority.get(colon + 1..).unwrap_or_default());
    let canonical = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !port.starts_with('0');
    let port = port.parse::<u16>().ok().filter(|_| canonical).ok_or(IssuerUrlError::Port)?;
    Ok((host, Some(port)))
}

fn check_host(host: &str) -> Result<(), IssuerUrlError> {
    if let Some(inner) = host.strip_prefix('[') {
        // An IPv6 address, in the form a URL parser prints it.
        let inner = inner.strip_suffix(']').ok_or(IssuerUrlError::Host)?;
        let ip: Ipv6Addr = inner.parse().map_err(|_| IssuerUrlError::Host)?;
        return if ip.to_string() == inner { Ok(()) } else { Err(IssuerUrlError::Host) };
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.';
    if host.is_empty() || !host.bytes().all(allowed) || host.starts_with('.') || host.contains("..") {
        return Err(IssuerUrlError::Host);
    }
    // A URL parser reads a host whose last label is numeric (`127.1`, `0x7f.1`,
    // `2130706433`) as an IPv4 address and rewrites it: only the dotted quad is canonical.
    let last = host.trim_end_matches('.').rsplit('.').next().unwrap_or_default();
    if last.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        let ip: Ipv4Addr = host.parse().map_err(|_| IssuerUrlError::Host)?;
        if ip.to_string() != host {
            return Err(IssuerUrlError::Host);
        }
    }
    Ok(())
}

fn check_path(path: &str) -> Result<(), IssuerUrlError> {
    let Some(path) = path.strip_prefix('/') else { return Ok(()) };
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.into_iter().enumerate() {
        // A trailing slash leaves one empty last segment; any other empty one is `//`.
        if segment.is_empty() {
            if i == last {
                continue;
            }
            return Err(IssuerUrlError::EmptySegment);
        }
        let decoded_dots = decoded_dots(segment)?;
        if decoded_dots.is_some_and(|dots| dots == 1 || dots == 2) {
            return Err(IssuerUrlError::DotSegment);
        }
    }
    Ok(())
}

/// Checks the percent escapes of a segment: well-formed, and never an encoded `/` or
/// `\`. Returns `Some(n)` when the segment is only dots (`n` of them, plain or encoded).
fn decoded_dots(segment: &str) -> Result<Option<usize>, IssuerUrlError> {
    let bytes = segment.as_bytes();
    let (mut i, mut dots, mut only_dots) = (0, 0, true);
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(IssuerUrlError::Encoded)?;
            let text = std::str::from_utf8(hex).map_err(|_| IssuerUrlError::Encoded)?;
            let value = u8::from_str_radix(text, 16).map_err(|_| IssuerUrlError::Encoded)?;
            match value {
                b'.' => dots += 1,
                b'/' | b'\\' => return Err(IssuerUrlError::Encoded),
                _ => only_dots = false,
            }
            i += 3;
        } else {
            if b == b'.' {
                dots += 1;
            } else {
                only_dots = false;
            }
            i += 1;
        }
    }
    Ok(only_dots.then_some(dots))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(raw: &str) -> IssuerUrlError {
        IssuerUrl::parse(raw).unwrap_err()
    }

    #[test]
    fn canonical_issuers_are_accepted_unchanged() {
        for ok in [
            "https://login.example",
            "https://login.example/",
            "https://login.example/tenants/acme",
            "https://login.example/tenants/acme/",
            "https://login.example/tenants/a.b/v2.0",
            "https://login.example/tenants/...",
            "https://login.example/t/%41cme",
            "http://127.0.0.1:8080/realms/x",
            "http://[::1]:8080",
            "https://login.example:8443/x",
        ] {
            let parsed = IssuerUrl::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(parsed.as_str(), ok);
        }
        let url = IssuerUrl::parse("http://127.0.0.1:8080/realms/x").unwrap();
        assert_eq!((url.scheme(), url.host(), url.port(), url.path()), ("http", "127.0.0.1", Some(8080), "/realms/x"));
    }

    #[test]
    fn every_non_canonical_form_is_refused_with_its_reason() {
        use IssuerUrlError as E;
        let cases = [
            ("https://login.example/tenants/../admin", E::DotSegment),
            ("https://login.example/tenants/..", E::DotSegment),
            ("https://login.example/tenants/./a", E::DotSegment),
            ("https://login.example/tenants/%2e%2e/admin", E::DotSegment),
            ("https://login.example/tenants/%2E%2e/admin", E::DotSegment),
            ("https://login.example/tenants/.%2E/admin", E::DotSegment),
            ("https://login.example/tenants/%2e/admin", E::DotSegment),
            ("https://login.example/tenants/a%2fb", E::Encoded),
            ("https://login.example/tenants/a%2F..", E::Encoded),
            ("https://login.example/tenants/a%5Cb", E::Encoded),
            ("https://login.example/tenants/a%2", E::Encoded),
            ("https://login.example/tenants/a%zz", E::Encoded),
            ("https://login.example/tenants/a\\..\\b", E::Backslash),
            ("https://login.example\\tenants/a", E::Backslash),
            ("https://user@login.example/tenants/a", E::UserInfo),
            ("https://u:p@login.example/tenants/a", E::UserInfo),
            ("https://login.example/tenants/a?x=1", E::Query),
            ("https://login.example/tenants/a?", E::Query),
            ("https://login.example/tenants/a#f", E::Fragment),
            ("https://login.example/tenants//a", E::EmptySegment),
            ("https://LOGIN.example/tenants/a", E::Host),
            ("https://login..example/a", E::Host),
            ("https:///tenants/a", E::Host),
            ("http://0x7f.1/tenants/a", E::Host),
            ("http://127.1/tenants/a", E::Host),
            ("http://2130706433/tenants/a", E::Host),
            ("http://[0:0::1]/a", E::Host),
            ("https://login.example:443/tenants/a", E::Port),
            ("http://login.example:80/a", E::Port),
            ("https://login.example:08443/a", E::Port),
            ("https://login.example:/a", E::Port),
            ("https://login.example:99999/a", E::Port),
            ("HTTPS://login.example/a", E::Scheme),
            ("ftp://login.example/a", E::Scheme),
            ("login.example/a", E::Scheme),
            ("https://login.example/t\n2026 INFO forged", E::Character),
            ("https://login.example/t enant", E::Character),
            ("https://login.example/tén", E::Character),
        ];
        for (raw, expected) in cases {
            assert_eq!(reason(raw), expected, "{raw:?}");
        }
    }
}
