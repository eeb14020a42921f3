//! A2A task ownership: which principal created each task an agent runs behind the gateway.
//!
//! An agent server knows nothing of the gateway's callers: any client that names a task id
//! may read, cancel or subscribe to it there. The gateway records the creator of every task
//! id an agent returns ([`TaskOwner`]) and lets only that principal, or an agent it
//! delegated to, touch the task again. Ownership records are not registry records: writing
//! one moves no revision and reaches no snapshot.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The longest task id the gateway accepts from an agent, in bytes.
pub const MAX_TASK_ID: usize = 256;

/// Who created one task at one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskOwner {
    pub tenant_id: String,
    /// The registry id of the agent the task runs at.
    pub agent_id: String,
    /// The task's id as the agent chose it (see [`check_task_id`]).
    pub task_id: String,
    /// The principal that created it.
    pub principal_id: String,
    /// The delegation chain it acted through, the originator first.
    #[serde(default)]
    pub chain: Vec<String>,
    /// The user it was created for, if any.
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl TaskOwner {
    /// Whether `principal` (acting through `chain`) may touch the task: it is the creator,
    /// or the creator is one of the agents it acts for.
    pub fn allows(&self, principal: &str, chain: &[String]) -> bool {
        self.principal_id == principal || chain.contains(&self.principal_id)
    }
}

/// Checks a task id an agent or a caller names: 1 to [`MAX_TASK_ID`] bytes, no control
/// characters.
pub fn check_task_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_TASK_ID {
        return Err(format!("a task id must be 1 to {MAX_TASK_ID} bytes"));
    }
    if id.chars().any(char::is_control) {
        return Err("a task id must not contain control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> TaskOwner {
        TaskOwner {
            tenant_id: "t".into(),
            agent_id: "a".into(),
            task_id: "task-1".into(),
            principal_id: "planner".into(),
            chain: vec![],
            on_behalf_of: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_creator_and_its_delegates_only() {
        let o = owner();
        assert!(o.allows("planner", &[]));
        assert!(o.allows("researcher", &["planner".into()]));
        assert!(!o.allows("researcher", &[]));
        assert!(!o.allows("researcher", &["someone".into()]));
    }

    #[test]
    fn task_ids_are_bounded() {
        assert!(check_task_id("3f2c").is_ok());
        assert!(check_task_id("").is_err());
        assert!(check_task_id(&"x".repeat(MAX_TASK_ID + 1)).is_err());
        assert!(check_task_id("a\nb").is_err());
    }
}
