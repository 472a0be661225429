//! Identity verification for the widget: a site that knows its user signs `{id, email, name,
//! expires}` with the per-site secret (HMAC-SHA256, hex); Rapport checks it in constant time.
//! Unlike an HMAC of the id alone, the signature expires, so a copied one stops working.

use super::Invalid;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use utoipa::ToSchema;

/// The longest a signature may be valid for, counted from now.
pub const MAX_LIFETIME_SECS: i64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteIdentity {
    /// The user's id on the team's site.
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Unix seconds after which the signature is refused.
    pub expires: Option<i64>,
    /// hex(HMAC-SHA256(secret, id + "\n" + email + "\n" + name + "\n" + expires)), empty
    /// strings for absent fields.
    pub signature: Option<String>,
}

impl SiteIdentity {
    /// The exact bytes that are signed.
    pub fn signed_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.id,
            self.email.as_deref().unwrap_or(""),
            self.name.as_deref().unwrap_or(""),
            self.expires.map(|e| e.to_string()).unwrap_or_default()
        )
    }

    /// Checks the signature and the expiry against `now_secs`.
    pub fn verify(&self, secret: &str, now_secs: i64) -> Result<(), Invalid> {
        let fields = [Some(self.id.as_str()), self.email.as_deref(), self.name.as_deref()];
        if self.id.is_empty() || self.id.len() > 200 || fields.iter().flatten().any(|f| f.contains('\n')) {
            return Err(Invalid::new(
                "invalid_identity",
                "id must be 1-200 characters; no field may contain a newline",
            ));
        }
        let Some(signature) = self.signature.as_deref() else {
            return Err(Invalid::new("identity_unsigned", "this site requires a signed identity"));
        };
        let Some(expires) = self.expires else {
            return Err(Invalid::new("identity_expired", "a signed identity needs an expiry"));
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| Invalid::new("identity_signature_invalid", "the signature does not match"))?;
        mac.update(self.signed_text().as_bytes());
        let given = decode_hex(signature)
            .ok_or_else(|| Invalid::new("identity_signature_invalid", "the signature is not hex"))?;
        mac.verify_slice(&given)
            .map_err(|_| Invalid::new("identity_signature_invalid", "the signature does not match"))?;
        if expires <= now_secs {
            return Err(Invalid::new("identity_expired", "the signed identity has expired"));
        }
        if expires > now_secs + MAX_LIFETIME_SECS {
            return Err(Invalid::new("identity_expired", "a signed identity may be valid for at most 7 days"));
        }
        Ok(())
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Signs an identity as a site's server would (used by tests and the admin screen's example).
pub fn sign(secret: &str, identity: &SiteIdentity) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(identity.signed_text().as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(expires: i64) -> SiteIdentity {
        SiteIdentity {
            id: "42".into(),
            email: Some("ann@example.com".into()),
            name: Some("Ann".into()),
            expires: Some(expires),
            signature: None,
        }
    }

    #[test]
    fn a_signed_identity_verifies_and_any_change_breaks_it() {
        let mut id = identity(2_000);
        id.signature = Some(sign("s3cret", &id));
        assert!(id.verify("s3cret", 1_000).is_ok());
        assert_eq!(id.verify("other", 1_000).unwrap_err().code, "identity_signature_invalid");
        let mut altered = id.clone();
        altered.email = Some("eve@example.com".into());
        assert_eq!(altered.verify("s3cret", 1_000).unwrap_err().code, "identity_signature_invalid");
        assert_eq!(id.verify("s3cret", 2_000).unwrap_err().code, "identity_expired");
    }

    #[test]
    fn unsigned_far_future_and_newline_identities_are_refused() {
        assert_eq!(identity(2_000).verify("s", 1_000).unwrap_err().code, "identity_unsigned");
        let mut far = identity(1_000 + MAX_LIFETIME_SECS + 1);
        far.signature = Some(sign("s", &far));
        assert_eq!(far.verify("s", 1_000).unwrap_err().code, "identity_expired");
        let mut sneaky = identity(2_000);
        sneaky.name = Some("Ann\n".into());
        sneaky.signature = Some(sign("s", &sneaky));
        assert_eq!(sneaky.verify("s", 1_000).unwrap_err().code, "invalid_identity");
    }
}
