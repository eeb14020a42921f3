//! The answer of the engine: allow or deny, the policies that decided, obligations, errors.

use serde::{Deserialize, Serialize};

/// Something a deny asks for instead of refusing outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Obligation {
    /// A human must approve this exact call; once approved it is allowed.
    HumanApproval,
}

impl Obligation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HumanApproval => "human_approval",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "human_approval" => Some(Self::HumanApproval),
            _ => None,
        }
    }
}

/// The outcome of [`crate::Engine::decide`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Decision {
    pub allow: bool,
    /// The `@id`s of the policies that determined the outcome: the permits of an allow, the
    /// forbids of a deny (empty for a default deny, when no permit applied).
    pub reasons: Vec<String>,
    /// Set on a deny that every determining policy marks with an obligation and that would
    /// be allowed once the obligation is met.
    pub obligations: Vec<Obligation>,
    /// Evaluation errors. Any error makes the decision a deny.
    pub errors: Vec<String>,
}

impl Decision {
    pub(crate) fn deny_with_error(message: String) -> Self {
        Self {
            allow: false,
            reasons: Vec::new(),
            obligations: Vec::new(),
            errors: vec![message],
        }
    }

    /// A deny that a human approval would turn into an allow.
    pub fn needs_approval(&self) -> bool {
        !self.allow && self.obligations.contains(&Obligation::HumanApproval)
    }
}
