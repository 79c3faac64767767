//! The COSE envelope of a CWT: tags, structure and headers, checked before any key is
//! looked up. No claim is read here and no signature is checked.

use coset::cbor::value::Value;
use coset::{
    AsCborValue, CborSerializable, CoseMac0, CoseSign1, Header, MacContext, RegisteredLabelWithPrivate,
    SignatureContext, iana, mac_structure_data, sig_structure_data,
};
use tokengate_core::{AuthError, ErrorKind};

use crate::alg::CoseAlgorithm;

/// The CWT tag (RFC 8392 section 6).
pub const CWT_TAG: u64 = 61;
/// The `COSE_Sign1` tag (RFC 9052).
pub const COSE_SIGN1_TAG: u64 = 18;
/// The `COSE_Mac0` tag (RFC 9052).
pub const COSE_MAC0_TAG: u64 = 17;

/// A COSE message whose envelope passed the checks, not yet verified.
pub(crate) struct Envelope {
    pub(crate) alg: CoseAlgorithm,
    pub(crate) kid: Vec<u8>,
    pub(crate) payload: Vec<u8>,
    /// The `Sig_structure` or `MAC_structure` the signature or tag covers.
    pub(crate) to_be_verified: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

fn malformed(detail: &'static str) -> AuthError {
    AuthError::with_detail(ErrorKind::Malformed, detail)
}

/// Reads the tags: an optional CWT tag (61) around exactly one COSE tag, 18
/// (`COSE_Sign1`) or 17 (`COSE_Mac0`). An untagged message is refused (a `COSE_Sign1`
/// and a `COSE_Mac0` have the same shape), and so is any tag repeated or nested deeper.
pub(crate) fn open(bytes: &[u8]) -> Result<Envelope, AuthError> {
    let value = Value::from_slice(bytes).map_err(|_| malformed("not a single CBOR item"))?;
    let value = match value {
        Value::Tag(CWT_TAG, inner) => *inner,
        other => other,
    };
    let (tag, body) = match value {
        Value::Tag(tag @ (COSE_SIGN1_TAG | COSE_MAC0_TAG), body) => (tag, *body),
        Value::Tag(CWT_TAG, _) => return Err(malformed("the CWT tag appears twice")),
        Value::Tag(_, _) => return Err(malformed("not a COSE_Sign1 or COSE_Mac0 tag")),
        _ => return Err(malformed("untagged COSE message")),
    };
    if matches!(body, Value::Tag(..)) {
        return Err(malformed("the COSE message is tagged twice"));
    }
    if tag == COSE_SIGN1_TAG {
        let sign1 = CoseSign1::from_cbor_value(body).map_err(|_| malformed("not a COSE_Sign1"))?;
        let alg = algorithm(&sign1.protected.header, &sign1.unprotected, false)?;
        let kid = key_id(&sign1.protected.header, &sign1.unprotected)?;
        let payload = sign1.payload.ok_or_else(|| malformed("the payload is nil (detached)"))?;
        let to_be_verified = sig_structure_data(SignatureContext::CoseSign1, sign1.protected, None, &[], &payload);
        Ok(Envelope { alg, kid, payload, to_be_verified, signature: sign1.signature })
    } else {
        let mac0 = CoseMac0::from_cbor_value(body).map_err(|_| malformed("not a COSE_Mac0"))?;
        let alg = algorithm(&mac0.protected.header, &mac0.unprotected, true)?;
        let kid = key_id(&mac0.protected.header, &mac0.unprotected)?;
        let payload = mac0.payload.ok_or_else(|| malformed("the payload is nil (detached)"))?;
        let to_be_verified = mac_structure_data(MacContext::CoseMac0, mac0.protected, &[], &payload);
        Ok(Envelope { alg, kid, payload, to_be_verified, signature: mac0.tag })
    }
}

/// The algorithm: from the protected header only, one of ours, of the message's kind;
/// `crit` understood. Header members that carry keys (`x5chain`, COSE_Key, ...) are never
/// read: the key comes from the key set.
fn algorithm(protected: &Header, unprotected: &Header, mac: bool) -> Result<CoseAlgorithm, AuthError> {
    if unprotected.alg.is_some() {
        return Err(AuthError::with_detail(ErrorKind::AlgorithmNotAllowed, "alg in the unprotected header"));
    }
    if !unprotected.crit.is_empty() {
        return Err(AuthError::with_detail(ErrorKind::UnsupportedCritical, "crit in the unprotected header"));
    }
    let understood = |label: &RegisteredLabelWithPrivate<iana::HeaderParameter>| {
        matches!(label, RegisteredLabelWithPrivate::Assigned(iana::HeaderParameter::Alg | iana::HeaderParameter::Kid))
    };
    if !protected.crit.iter().all(understood) {
        return Err(AuthError::with_detail(ErrorKind::UnsupportedCritical, "unknown critical header"));
    }
    let alg = match &protected.alg {
        Some(RegisteredLabelWithPrivate::Assigned(a)) => CoseAlgorithm::from_label(*a as i64),
        Some(_) => None,
        None => return Err(AuthError::with_detail(ErrorKind::AlgorithmNotAllowed, "no alg in the protected header")),
    };
    match alg {
        Some(alg) if alg.is_mac() == mac => Ok(alg),
        Some(_) => Err(AuthError::with_detail(ErrorKind::AlgorithmNotAllowed, "alg does not fit the COSE structure")),
        None => Err(AuthError::with_detail(ErrorKind::AlgorithmNotAllowed, "unsupported COSE alg")),
    }
}

/// The key id: from either header, not both.
fn key_id(protected: &Header, unprotected: &Header) -> Result<Vec<u8>, AuthError> {
    match (protected.key_id.is_empty(), unprotected.key_id.is_empty()) {
        (false, false) => Err(malformed("kid in both headers")),
        (false, true) => Ok(protected.key_id.clone()),
        (true, _) => Ok(unprotected.key_id.clone()),
    }
}
