use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Binding, MasterKeys, Sealed, VaultError};

fn key(byte: u8) -> String {
    STANDARD.encode([byte; 32])
}

const BINDING: Binding<'static> = Binding {
    tenant: "acme",
    nhi: "0190-agent",
    secret: "s-1",
    version: 1,
};

#[test]
fn a_value_round_trips_and_nothing_of_it_shows() {
    let keys = MasterKeys::from_base64(&key(1)).unwrap();
    let sealed = keys.seal(&BINDING, b"canary-4f1d sk-live").unwrap();
    let stored = serde_json::to_string(&sealed).unwrap();
    assert!(!stored.contains("canary"), "{stored}");
    assert_eq!(
        keys.open(&BINDING, &sealed).unwrap().as_slice(),
        b"canary-4f1d sk-live"
    );
    // A fresh data key and nonces every time.
    let again = keys.seal(&BINDING, b"canary-4f1d sk-live").unwrap();
    assert_ne!(sealed.ciphertext, again.ciphertext);
    assert_ne!(sealed.wrapped_key, again.wrapped_key);
    assert!(!format!("{keys:?}").contains(&key(1)));
}

#[test]
fn tampering_moving_or_another_key_fails() {
    let keys = MasterKeys::from_base64(&key(1)).unwrap();
    let sealed = keys.seal(&BINDING, b"value").unwrap();
    let flip = |text: &str| {
        let mut bytes = STANDARD.decode(text).unwrap();
        bytes[0] ^= 1;
        STANDARD.encode(bytes)
    };
    for altered in [
        Sealed {
            ciphertext: flip(&sealed.ciphertext),
            ..sealed.clone()
        },
        Sealed {
            wrapped_key: flip(&sealed.wrapped_key),
            ..sealed.clone()
        },
        Sealed {
            nonce: flip(&sealed.nonce),
            ..sealed.clone()
        },
    ] {
        assert_eq!(
            keys.open(&BINDING, &altered).unwrap_err(),
            VaultError::Decrypt
        );
    }
    for elsewhere in [
        Binding {
            tenant: "globex",
            ..BINDING
        },
        Binding {
            nhi: "0190-other",
            ..BINDING
        },
        Binding {
            secret: "s-2",
            ..BINDING
        },
        Binding {
            version: 2,
            ..BINDING
        },
    ] {
        assert_eq!(
            keys.open(&elsewhere, &sealed).unwrap_err(),
            VaultError::Decrypt,
            "{elsewhere:?}"
        );
    }
    // Another master key under the same id does not open it; an unknown id says so.
    let other = MasterKeys::parse_file(&format!("{} {}", sealed.key_id, key(2))).unwrap();
    assert_eq!(
        other.open(&BINDING, &sealed).unwrap_err(),
        VaultError::Decrypt
    );
    let unknown = MasterKeys::from_base64(&key(3)).unwrap();
    assert!(matches!(
        unknown.open(&BINDING, &sealed),
        Err(VaultError::UnknownKeyId(_))
    ));
    // Relabelling a wrapped key as another configured key's fails too.
    let both = MasterKeys::parse_file(&format!("old {}\nnew {}", key(1), key(1))).unwrap();
    let under_new = both.seal(&BINDING, b"v").unwrap();
    assert_eq!(under_new.key_id, "new");
    // The same key bytes under another id: only the bound id tells them apart.
    let relabelled = Sealed {
        key_id: "old".into(),
        ..under_new
    };
    assert_eq!(
        both.open(&BINDING, &relabelled).unwrap_err(),
        VaultError::Decrypt
    );
}

#[test]
fn master_keys_rotate_and_rewrap() {
    let before = MasterKeys::parse_file(&format!("2026-01 {}\n", key(1))).unwrap();
    let old = before.seal(&BINDING, b"value").unwrap();
    assert_eq!(old.key_id, "2026-01");
    // A new key is added: it is current, the old one still opens what it wrapped.
    let after = MasterKeys::parse_file(&format!(
        "# rotated\n2026-01 {}\n2026-06 {}\n",
        key(1),
        key(2)
    ))
    .unwrap();
    assert_eq!(after.current_id(), "2026-06");
    assert_eq!(after.open(&BINDING, &old).unwrap().as_slice(), b"value");
    assert_eq!(after.seal(&BINDING, b"new").unwrap().key_id, "2026-06");
    // Rewrap moves the version forward without re-encrypting the value.
    let moved = after.rewrap(&BINDING, &old).unwrap().expect("moved");
    assert_eq!(moved.key_id, "2026-06");
    assert_eq!(moved.ciphertext, old.ciphertext);
    assert!(
        after.rewrap(&BINDING, &moved).unwrap().is_none(),
        "already current"
    );
    // Once rewrapped, the old key can go.
    let only_new = MasterKeys::parse_file(&format!("2026-06 {}", key(2))).unwrap();
    assert_eq!(
        only_new.open(&BINDING, &moved).unwrap().as_slice(),
        b"value"
    );
    assert!(matches!(
        only_new.open(&BINDING, &old),
        Err(VaultError::UnknownKeyId(_))
    ));
}

#[test]
fn keys_load_from_the_environment_and_a_file() {
    assert_eq!(
        MasterKeys::load(None, None).unwrap_err(),
        VaultError::NoMasterKey
    );
    assert_eq!(
        MasterKeys::load(Some("  "), None).unwrap_err(),
        VaultError::NoMasterKey
    );
    for bad in ["not base64!", &STANDARD.encode([1u8; 16])] {
        let err = MasterKeys::load(Some(bad), None).unwrap_err();
        assert!(matches!(err, VaultError::BadMasterKey(_)), "{err}");
        assert!(!err.to_string().contains(bad) || bad.len() < 8, "{err}");
    }
    let env = MasterKeys::load(Some(&key(1)), None).unwrap();
    assert_eq!(
        env.current_id(),
        MasterKeys::from_base64(&key(1)).unwrap().current_id()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vault.keys");
    std::fs::write(&file, format!("old {}\n", key(2))).unwrap();
    let both = MasterKeys::load(Some(&key(1)), Some(&file)).unwrap();
    assert_eq!(
        both.current_id(),
        env.current_id(),
        "the variable's key is current"
    );
    assert_eq!(both.ids().count(), 2);
    let file_only = MasterKeys::load(None, Some(&file)).unwrap();
    assert_eq!(file_only.current_id(), "old");
    for bad in [
        "",
        "lonely-id",
        &format!("a {}\na {}", key(1), key(2)),
        &format!("bad/id {}", key(1)),
    ] {
        std::fs::write(&file, bad).unwrap();
        assert!(
            matches!(
                MasterKeys::load(None, Some(&file)),
                Err(VaultError::BadMasterKey(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        MasterKeys::load(None, Some(&dir.path().join("missing"))),
        Err(VaultError::BadMasterKey(_))
    ));
}

#[test]
fn a_new_key_line_parses_and_differs_each_time() {
    let a = MasterKeys::new_key_line("k-2027").unwrap();
    let b = MasterKeys::new_key_line("k-2027").unwrap();
    assert_ne!(*a, *b, "fresh randomness per key");
    let keys = MasterKeys::parse_file(&format!("{}\n", *a)).unwrap();
    assert_eq!(keys.current_id(), "k-2027");
    assert!(MasterKeys::new_key_line("has space").is_err());
}
