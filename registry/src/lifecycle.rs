//! The lifecycle of an NHI and the transitions allowed between states.
//!
//! ```text
//! active ──► inactive, suspended, deprecated
//! inactive ──► active, suspended, deprecated, archived
//! suspended ──► active (reactivate), inactive, archived
//! deprecated ──► active, archived
//! archived: final
//! ```

use portcullis_policy::Lifecycle;

/// `Ok` when `from -> to` is allowed (staying in the same state is not a transition).
pub fn check_transition(from: Lifecycle, to: Lifecycle) -> Result<(), String> {
    use Lifecycle::{Active, Archived, Deprecated, Inactive, Suspended};
    let allowed: &[Lifecycle] = match from {
        Active => &[Inactive, Suspended, Deprecated],
        Inactive => &[Active, Suspended, Deprecated, Archived],
        Suspended => &[Active, Inactive, Archived],
        Deprecated => &[Active, Archived],
        Archived => &[],
    };
    if allowed.contains(&to) {
        Ok(())
    } else {
        Err(format!(
            "illegal lifecycle transition from `{}` to `{}`",
            from.as_str(),
            to.as_str()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::check_transition;
    use portcullis_policy::Lifecycle::*;

    #[test]
    fn transitions() {
        assert!(check_transition(Active, Suspended).is_ok());
        assert!(check_transition(Suspended, Active).is_ok());
        assert!(check_transition(Active, Archived).is_err());
        assert!(check_transition(Archived, Active).is_err());
        assert!(check_transition(Active, Active).is_err());
        let e = check_transition(Archived, Active).expect_err("archived is final");
        assert!(e.contains("`archived`") && e.contains("`active`"));
    }
}
