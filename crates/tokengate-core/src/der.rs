//! A minimal DER reader: just enough to take public keys apart (SPKI, PKCS#1).

use crate::error::ConfigError;

fn bad(what: &str) -> ConfigError {
    ConfigError::InvalidKey(format!("malformed DER: {what}"))
}

/// Reads one TLV; returns (tag, content, rest).
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), ConfigError> {
    let (&tag, rest) = input.split_first().ok_or_else(|| bad("empty"))?;
    let (&first, mut rest) = rest.split_first().ok_or_else(|| bad("no length"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad("length"));
        }
        let (len_bytes, r) = rest.split_at(n);
        rest = r;
        len_bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    if rest.len() < len {
        return Err(bad("truncated"));
    }
    let (content, rest) = rest.split_at(len);
    Ok((tag, content, rest))
}

fn expect(input: &[u8], want: u8) -> Result<(&[u8], &[u8]), ConfigError> {
    let (tag, content, rest) = tlv(input)?;
    if tag != want {
        return Err(bad("unexpected tag"));
    }
    Ok((content, rest))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;

/// OID 1.2.840.113549.1.1.1 rsaEncryption.
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// OID 1.2.840.10045.2.1 id-ecPublicKey.
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// OID 1.3.101.112 Ed25519.
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// OID 1.2.840.10045.3.1.7 prime256v1.
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// OID 1.3.132.0.34 secp384r1.
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];

/// A public key taken apart into its components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKeyDer {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { curve: Curve, point: Vec<u8> },
    Ed25519 { x: Vec<u8> },
}

/// An elliptic curve for ECDSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

fn strip_int(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default().to_vec()
}

/// Parses a PKCS#1 `RSAPublicKey`.
pub(crate) fn parse_pkcs1(der: &[u8]) -> Result<PublicKeyDer, ConfigError> {
    let (seq, _) = expect(der, SEQUENCE)?;
    let (n, rest) = expect(seq, INTEGER)?;
    let (e, _) = expect(rest, INTEGER)?;
    Ok(PublicKeyDer::Rsa { n: strip_int(n), e: strip_int(e) })
}

/// Parses an X.509 `SubjectPublicKeyInfo`, or a PKCS#1 RSA public key.
pub(crate) fn parse_public_key(der: &[u8]) -> Result<PublicKeyDer, ConfigError> {
    let (spki, _) = expect(der, SEQUENCE)?;
    let (tag, alg_id, rest) = tlv(spki)?;
    if tag == INTEGER {
        return parse_pkcs1(der);
    }
    if tag != SEQUENCE {
        return Err(bad("not a SubjectPublicKeyInfo"));
    }
    let (oid, params) = expect(alg_id, OID)?;
    let (bits, _) = expect(rest, BIT_STRING)?;
    let (&unused, key) = bits.split_first().ok_or_else(|| bad("empty bit string"))?;
    if unused != 0 {
        return Err(bad("bit string padding"));
    }
    if oid == OID_RSA {
        parse_pkcs1(key)
    } else if oid == OID_EC {
        let (curve_oid, _) = expect(params, OID)?;
        let curve = if curve_oid == OID_P256 {
            Curve::P256
        } else if curve_oid == OID_P384 {
            Curve::P384
        } else {
            return Err(ConfigError::UnsupportedKey("EC curve other than P-256 or P-384".into()));
        };
        Ok(PublicKeyDer::Ec { curve, point: key.to_vec() })
    } else if oid == OID_ED25519 {
        Ok(PublicKeyDer::Ed25519 { x: key.to_vec() })
    } else {
        Err(ConfigError::UnsupportedKey("public key algorithm OID".into()))
    }
}

/// Encodes a DER length.
#[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len() - 1);
        let used = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | used.len() as u8);
        out.extend_from_slice(used);
    }
}

#[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
fn push_uint(out: &mut Vec<u8>, value: &[u8]) {
    let value = {
        let start = value.iter().position(|&b| b != 0).unwrap_or(value.len().saturating_sub(1));
        value.get(start..).unwrap_or_default()
    };
    let pad = value.first().is_some_and(|&b| b & 0x80 != 0);
    out.push(INTEGER);
    push_len(out, value.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(value);
}

/// Encodes a PKCS#1 `RSAPublicKey` from modulus and exponent (big-endian).
#[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
pub(crate) fn encode_pkcs1(n: &[u8], e: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    push_uint(&mut body, n);
    push_uint(&mut body, e);
    let mut out = Vec::with_capacity(body.len() + 8);
    out.push(SEQUENCE);
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs1_round_trip() {
        let n = vec![0xc1; 256];
        let e = vec![0x01, 0x00, 0x01];
        let der = encode_pkcs1(&n, &e);
        assert_eq!(parse_public_key(&der), Ok(PublicKeyDer::Rsa { n, e }));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for input in [&[][..], &[0x30], &[0x30, 0x85, 1, 2, 3, 4, 5], &[0x30, 0x05, 0x02]] {
            assert!(parse_public_key(input).is_err());
        }
    }
}
