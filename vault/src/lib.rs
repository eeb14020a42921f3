//! Portcullis secrets vault: envelope encryption of secret values.
//!
//! Every secret version is encrypted (AES-256-GCM) under a fresh random data key and nonce;
//! the data key is itself encrypted (wrapped) under the current master key, named by a key
//! id. Both ciphertexts are bound by their associated data to the tenant, the NHI, the
//! secret and the version they belong to: a ciphertext copied to another row does not
//! decrypt. Master keys rotate: older keys still open what they wrapped, the current one
//! wraps everything new, and [`MasterKeys::rewrap`] moves a version forward without touching
//! its value's ciphertext. Key material and opened values are zeroized when dropped.

mod keys;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use keys::MasterKeys;

/// Why the vault cannot do what was asked. Messages never contain key material or values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// No master key is configured.
    #[error(
        "the vault has no master key: set VAULT_MASTER_KEY (32 bytes, base64) or `vault.master_key_file`"
    )]
    NoMasterKey,
    /// A master key (or key file) that cannot be used.
    #[error("the vault master key is unusable: {0}")]
    BadMasterKey(String),
    /// A version wrapped under a master key that is no longer configured.
    #[error("master key `{0}` is not configured: it is needed to open this secret")]
    UnknownKeyId(String),
    /// Authentication failed: the ciphertext was altered, belongs elsewhere, or the key is wrong.
    #[error("the secret does not decrypt: altered, moved from another record, or another key")]
    Decrypt,
    /// A stored value that is not a sealed secret.
    #[error("the stored secret is malformed: {0}")]
    Malformed(String),
}

/// What a ciphertext belongs to; it is the associated data of both encryptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    pub tenant: &'a str,
    pub nhi: &'a str,
    pub secret: &'a str,
    pub version: u64,
}

impl Binding<'_> {
    /// The associated data for `purpose`: length-prefixed fields, so no two bindings share
    /// bytes.
    fn aad(&self, purpose: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        for field in [
            "portcullis vault v1",
            purpose,
            self.tenant,
            self.nhi,
            self.secret,
        ] {
            out.extend_from_slice(&(field.len() as u64).to_le_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        out.extend_from_slice(&self.version.to_le_bytes());
        out
    }
}

/// One sealed secret version, as stored: base64 fields, nothing secret in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The master key that wrapped the data key.
    pub key_id: String,
    /// The data key, encrypted under the master key.
    pub wrapped_key: String,
    pub key_nonce: String,
    /// The value, encrypted under the data key.
    pub ciphertext: String,
    pub nonce: String,
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn unb64(what: &str, text: &str) -> Result<Vec<u8>, VaultError> {
    STANDARD
        .decode(text)
        .map_err(|_| VaultError::Malformed(format!("`{what}` is not base64")))
}

fn nonce_of(what: &str, text: &str) -> Result<[u8; 12], VaultError> {
    unb64(what, text)?
        .try_into()
        .map_err(|_| VaultError::Malformed(format!("`{what}` is not 12 bytes")))
}

/// Encrypts `plain` under `key` with a fresh nonce; (ciphertext, nonce).
fn encrypt(key: &[u8; 32], plain: &[u8], aad: &[u8]) -> Result<(Vec<u8>, [u8; 12]), VaultError> {
    let cipher = Aes256Gcm::new_from_slice(key)
        .map_err(|_| VaultError::BadMasterKey("not 32 bytes".into()))?;
    let nonce: [u8; 12] = rand::random();
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: plain, aad })
        .map_err(|_| VaultError::Decrypt)?;
    Ok((sealed, nonce))
}

fn decrypt(
    key: &[u8; 32],
    sealed: &[u8],
    nonce: [u8; 12],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let cipher = Aes256Gcm::new_from_slice(key)
        .map_err(|_| VaultError::BadMasterKey("not 32 bytes".into()))?;
    cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad })
        .map(Zeroizing::new)
        .map_err(|_| VaultError::Decrypt)
}

impl MasterKeys {
    /// Seals `value` for `binding`: a fresh data key and nonce, the data key wrapped under the
    /// current master key.
    pub fn seal(&self, binding: &Binding<'_>, value: &[u8]) -> Result<Sealed, VaultError> {
        let data_key: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
        let (ciphertext, nonce) = encrypt(&data_key, value, &binding.aad("value"))?;
        let (key_id, master) = self.current()?;
        let (wrapped, key_nonce) =
            encrypt(master, data_key.as_ref(), &self.wrap_aad(binding, key_id))?;
        Ok(Sealed {
            key_id: key_id.to_owned(),
            wrapped_key: b64(&wrapped),
            key_nonce: b64(&key_nonce),
            ciphertext: b64(&ciphertext),
            nonce: b64(&nonce),
        })
    }

    /// The value `sealed` holds, if it was sealed for exactly `binding` under a configured
    /// master key and not altered since.
    pub fn open(
        &self,
        binding: &Binding<'_>,
        sealed: &Sealed,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let data_key = self.unwrap_key(binding, sealed)?;
        let data_key: Zeroizing<[u8; 32]> = Zeroizing::new(
            data_key
                .as_slice()
                .try_into()
                .map_err(|_| VaultError::Malformed("the data key is not 32 bytes".into()))?,
        );
        decrypt(
            &data_key,
            &unb64("ciphertext", &sealed.ciphertext)?,
            nonce_of("nonce", &sealed.nonce)?,
            &binding.aad("value"),
        )
    }

    /// `sealed` with its data key wrapped under the current master key (its value's
    /// ciphertext unchanged); `None` when it already is.
    pub fn rewrap(
        &self,
        binding: &Binding<'_>,
        sealed: &Sealed,
    ) -> Result<Option<Sealed>, VaultError> {
        let (current, master) = self.current()?;
        if sealed.key_id == current {
            return Ok(None);
        }
        let data_key = self.unwrap_key(binding, sealed)?;
        let (wrapped, key_nonce) = encrypt(master, &data_key, &self.wrap_aad(binding, current))?;
        Ok(Some(Sealed {
            key_id: current.to_owned(),
            wrapped_key: b64(&wrapped),
            key_nonce: b64(&key_nonce),
            ..sealed.clone()
        }))
    }

    fn unwrap_key(
        &self,
        binding: &Binding<'_>,
        sealed: &Sealed,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let master = self
            .get(&sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKeyId(sealed.key_id.clone()))?;
        decrypt(
            master,
            &unb64("wrapped_key", &sealed.wrapped_key)?,
            nonce_of("key_nonce", &sealed.key_nonce)?,
            &self.wrap_aad(binding, &sealed.key_id),
        )
    }

    /// The wrapping's associated data also names the master key, so a wrapped key cannot be
    /// relabelled as another key's.
    fn wrap_aad(&self, binding: &Binding<'_>, key_id: &str) -> Vec<u8> {
        let mut aad = binding.aad("data key");
        aad.extend_from_slice(key_id.as_bytes());
        aad
    }
}

#[cfg(test)]
mod tests;
