//! Tenant ids, and the ids of the entities a tenant names itself (users).
//!
//! Records the registry creates have globally unique ids; a user id is chosen by whoever
//! grants a permission, so two tenants may both have a user `alice`. Such an entity's
//! Cedar id is therefore qualified with its tenant: `Portcullis::User::"acme/alice"`.
//! Tenant ids never contain `/`, so the qualified id is unambiguous.

/// The longest tenant id, in bytes.
pub const MAX_TENANT_ID: usize = 128;

/// Checks a tenant id: 1 to [`MAX_TENANT_ID`] bytes, no `/`, no control characters, no
/// white space at either end.
/// The error says what is wrong without repeating the id.
pub fn check_tenant_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("the tenant id is empty".into());
    }
    if id.len() > MAX_TENANT_ID {
        return Err(format!(
            "the tenant id is {} bytes long, the limit is {MAX_TENANT_ID}",
            id.len()
        ));
    }
    if id.contains('/') {
        return Err("the tenant id contains `/`".into());
    }
    if id.trim() != id {
        return Err("the tenant id begins or ends with white space".into());
    }
    if id.chars().any(char::is_control) {
        return Err("the tenant id contains a control character".into());
    }
    Ok(())
}

/// The Cedar entity id of user `user` of `tenant`: `<tenant>/<user>`.
pub fn user_entity_id(tenant: &str, user: &str) -> String {
    let mut id = String::with_capacity(tenant.len() + 1 + user.len());
    id.push_str(tenant);
    id.push('/');
    id.push_str(user);
    id
}

#[cfg(test)]
mod tests {
    use super::{MAX_TENANT_ID, check_tenant_id, user_entity_id};

    #[test]
    fn tenant_ids_are_checked() {
        assert!(check_tenant_id("acme").is_ok());
        assert!(check_tenant_id("acme-eu.1_x").is_ok());
        assert!(check_tenant_id(&"t".repeat(MAX_TENANT_ID)).is_ok());
        for (bad, why) in [
            ("", "empty"),
            ("a/b", "`/`"),
            ("a\nb", "control"),
            ("a\u{7f}", "control"),
            (" ", "white space"),
            ("acme ", "white space"),
        ] {
            let err = check_tenant_id(bad).expect_err(bad);
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        let long = "t".repeat(MAX_TENANT_ID + 1);
        assert!(
            check_tenant_id(&long)
                .expect_err("long")
                .contains("129 bytes")
        );
    }

    #[test]
    fn user_ids_are_qualified_with_their_tenant() {
        assert_eq!(user_entity_id("acme", "alice"), "acme/alice");
        assert_ne!(
            user_entity_id("acme", "alice"),
            user_entity_id("globex", "alice")
        );
        // A user id may contain `/`; the tenant id may not, so the split is unambiguous.
        assert_eq!(user_entity_id("acme", "ops/alice"), "acme/ops/alice");
    }
}
