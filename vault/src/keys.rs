//! Master keys: where they come from, their ids, which one is current.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::VaultError;

/// The configured master keys by id; one of them wraps new data keys.
pub struct MasterKeys {
    current: String,
    keys: BTreeMap<String, Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKeys")
            .field("current", &self.current)
            .field("ids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A 32-byte key from its base64 text.
fn decode(what: &str, text: &str) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let bytes = Zeroizing::new(
        STANDARD
            .decode(text.trim())
            .map_err(|_| VaultError::BadMasterKey(format!("{what} is not base64")))?,
    );
    let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        VaultError::BadMasterKey(format!("{what} is {} bytes, not 32", bytes.len()))
    })?;
    Ok(Zeroizing::new(key))
}

/// The id of a key given without one: derived from the key, so the same key always has the
/// same id (a hash prefix: it says nothing usable about the key).
fn derived_id(key: &[u8; 32]) -> String {
    let digest = Sha256::new()
        .chain_update(b"portcullis vault key id\0")
        .chain_update(key)
        .finalize();
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("k-{hex}")
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl MasterKeys {
    /// One key (base64 of 32 bytes), current, its id derived from it.
    pub fn from_base64(text: &str) -> Result<Self, VaultError> {
        let key = decode("the master key", text)?;
        let id = derived_id(&key);
        Ok(Self {
            current: id.clone(),
            keys: BTreeMap::from([(id, key)]),
        })
    }

    /// A key file: one key per line, `<id> <base64 of 32 bytes>` (blank lines and `#`
    /// comments ignored). The last key is current; the others open what they wrapped.
    pub fn parse_file(text: &str) -> Result<Self, VaultError> {
        let mut keys = BTreeMap::new();
        let mut current = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at =
                |why: &str| VaultError::BadMasterKey(format!("key file line {}: {why}", n + 1));
            let (id, key) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| at("expected `<id> <base64 key>`"))?;
            if !valid_id(id) {
                return Err(at("a key id is 1 to 64 letters, digits, `-`, `_` or `.`"));
            }
            let key = decode(&format!("key `{id}`"), key).map_err(|e| at(&e.to_string()))?;
            if keys.insert(id.to_owned(), key).is_some() {
                return Err(at(&format!("key id `{id}` appears twice")));
            }
            current = Some(id.to_owned());
        }
        let current =
            current.ok_or_else(|| VaultError::BadMasterKey("the key file holds no key".into()))?;
        Ok(Self { current, keys })
    }

    /// The vault's keys from the environment's `VAULT_MASTER_KEY` (`env`) and a key file: the
    /// variable's key is current and the file's keys open older versions; without the
    /// variable, the file's last key is current. Neither: [`VaultError::NoMasterKey`].
    pub fn load(env: Option<&str>, file: Option<&Path>) -> Result<Self, VaultError> {
        let from_file = file
            .map(|path| {
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                    VaultError::BadMasterKey(format!("cannot read {}: {e}", path.display()))
                })?);
                Self::parse_file(&text)
            })
            .transpose()?;
        let from_env = env
            .filter(|v| !v.trim().is_empty())
            .map(Self::from_base64)
            .transpose()?;
        match (from_env, from_file) {
            (Some(mut current), Some(older)) => {
                for (id, key) in older.keys {
                    if id != current.current {
                        current.keys.insert(id, key);
                    }
                }
                Ok(current)
            }
            (Some(one), None) | (None, Some(one)) => Ok(one),
            (None, None) => Err(VaultError::NoMasterKey),
        }
    }

    /// A line for a key file holding a new random key under `id`: `<id> <base64 key>`.
    pub fn new_key_line(id: &str) -> Result<Zeroizing<String>, VaultError> {
        if !valid_id(id) {
            return Err(VaultError::BadMasterKey(
                "a key id is 1 to 64 letters, digits, `-`, `_` or `.`".into(),
            ));
        }
        let key: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
        Ok(Zeroizing::new(format!(
            "{id} {}",
            STANDARD.encode(key.as_ref())
        )))
    }

    /// The id of the key that wraps new data keys.
    pub fn current_id(&self) -> &str {
        &self.current
    }

    /// Every configured key id.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    pub(crate) fn current(&self) -> Result<(&str, &[u8; 32]), VaultError> {
        let key = self.get(&self.current).ok_or_else(|| {
            VaultError::BadMasterKey(format!("the current key `{}` is missing", self.current))
        })?;
        Ok((&self.current, key))
    }

    pub(crate) fn get(&self, id: &str) -> Option<&[u8; 32]> {
        self.keys.get(id).map(|k| &**k)
    }
}
