//! The JWT bearer assertion (RFC 7523) for the `jwt_bearer` flow, signed RS256 with ring.
//!
//! ring is already in every build through rustls (the HTTP layer's TLS), so signing here adds
//! no crate. A general JWT library would bring every algorithm it supports (Ed25519, P-256,
//! P-384, a second RSA, and a second generation of the RustCrypto hashes) for one signature.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Serialize;

/// An RSA private key that signs assertions. Its Debug shows the key size only.
#[derive(Clone)]
pub struct SigningKey(Arc<RsaKeyPair>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey(RSA {} bits)",
            self.0.public().modulus_len() * 8
        )
    }
}

impl SigningKey {
    /// Reads an RSA private key in PEM form (`BEGIN PRIVATE KEY`, PKCS#8, as Salesforce's
    /// docs create it with openssl; or `BEGIN RSA PRIVATE KEY`, PKCS#1). The error says what
    /// was wrong, never the key.
    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let der = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| format!("no private key in PEM form found ({e})"))?;
        let pair = match &der {
            PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
            PrivateKeyDer::Sec1(_) => {
                return Err("it is an elliptic-curve key; RS256 needs an RSA key".to_owned());
            }
            _ => return Err("it is not an RSA private key".to_owned()),
        }
        .map_err(|e| format!("the RSA key was refused ({e})"))?;
        Ok(Self(Arc::new(pair)))
    }

    /// `header.claims.signature`, each part base64url without padding, signed RS256.
    pub fn assertion(&self, claims: &impl Serialize) -> Result<String, String> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
        let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims));
        let mut signature = vec![0; self.0.public().modulus_len()];
        self.0
            .sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                signed.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "the RSA signature failed".to_owned())?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

    const KEY: &str = include_str!("../../tickets-fakes/src/salesforce/test_key.pem");

    #[test]
    fn the_assertion_verifies_with_the_public_key() {
        let key = SigningKey::from_pem(KEY.as_bytes()).unwrap();
        let jwt = key
            .assertion(&serde_json::json!({"iss": "c", "sub": "u", "aud": "a", "exp": 1}))
            .unwrap();
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let (header, claims) = signed.split_once('.').unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header).unwrap(),
            br#"{"alg":"RS256","typ":"JWT"}"#
        );
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["sub"], "u");
        let public = key.0.public().as_ref().to_vec();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public)
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .expect("a valid RS256 signature");
        assert_eq!(format!("{key:?}"), "SigningKey(RSA 2048 bits)");
    }

    #[test]
    fn what_is_not_an_rsa_key_is_refused_clearly() {
        let e = SigningKey::from_pem(b"not a key").unwrap_err();
        assert!(e.contains("no private key"), "{e}");
        let ec = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIGk=\n-----END EC PRIVATE KEY-----\n";
        assert!(SigningKey::from_pem(ec.as_bytes()).is_err());
    }
}
