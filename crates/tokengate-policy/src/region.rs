//! [`Region`]: the token's region must be the service's, or one of its failover regions.

use std::collections::HashMap;
use std::sync::Arc;

use tokengate_core::{Denial, Verified};

use crate::policy::{Policy, PolicyRequest, claim_str};

/// The claim holding the token's region unless [`Region::claim`] says otherwise.
pub const DEFAULT_REGION_CLAIM: &str = "region";
/// The reason when the token names no region.
pub const NO_REGION: &str = "the token names no region";
/// The reason when the token's region is neither the service's nor a failover region.
pub const WRONG_REGION: &str = "the token's region is not served here";
/// The reason when the token's `iss` is not its region's issuer.
pub const WRONG_REGION_ISSUER: &str = "the token was not issued by its region's issuer";

/// Requires the token's region claim (default `region`) to be the service's region or
/// one of its failover regions and, for regions with their own signing keys
/// ([`Region::issuer`]), the token's `iss` to be that region's issuer. Refused with
/// [`DenialKind::Forbidden`](tokengate_core::DenialKind::Forbidden) (policy `"region"`).
///
/// ```
/// use tokengate_policy::Region;
/// let region = Region::new("eu-west-1").failover(["eu-central-1"]);
/// # let _ = region;
/// ```
#[derive(Clone, Debug)]
pub struct Region {
    served: Arc<[String]>,
    claim: Arc<str>,
    issuers: Option<Arc<HashMap<String, String>>>,
}

impl Region {
    /// A service in `region`.
    pub fn new(region: impl Into<String>) -> Self {
        Region { served: Arc::from([region.into()]), claim: DEFAULT_REGION_CLAIM.into(), issuers: None }
    }

    /// Also accepts tokens of these failover regions.
    pub fn failover<I, S>(self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut served = self.served.to_vec();
        served.extend(regions.into_iter().map(Into::into));
        Region { served: served.into(), ..self }
    }

    /// The claim holding the token's region (default [`DEFAULT_REGION_CLAIM`]).
    pub fn claim(mut self, name: impl AsRef<str>) -> Self {
        self.claim = name.as_ref().into();
        self
    }

    /// Tokens of `region` must be issued by `issuer` (region-specific signing keys).
    /// Regions without an issuer are not checked for one.
    pub fn issuer(mut self, region: impl Into<String>, issuer: impl Into<String>) -> Self {
        let mut map = self.issuers.map(Arc::unwrap_or_clone).unwrap_or_default();
        map.insert(region.into(), issuer.into());
        self.issuers = Some(Arc::new(map));
        self
    }
}

impl Policy for Region {
    fn check(&self, token: &Verified, _request: &PolicyRequest<'_>) -> Result<(), Denial> {
        let Some(region) = claim_str(token, &self.claim) else {
            return Err(Denial::forbidden("region", NO_REGION));
        };
        if !self.served.iter().any(|r| r == region) {
            return Err(Denial::forbidden("region", WRONG_REGION));
        }
        if let Some(issuer) = self.issuers.as_ref().and_then(|m| m.get(region))
            && token.issuer() != Some(issuer.as_str())
        {
            return Err(Denial::forbidden("region", WRONG_REGION_ISSUER));
        }
        Ok(())
    }
}
