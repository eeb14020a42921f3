//! A decision with the place of each policy behind it, for people (`policy explain`) and for
//! programs (`policy explain --json`): both show the same facts.

use serde::Serialize;

use crate::decision::{Decision, Obligation};
use crate::load::PolicyBundle;

/// A [`Decision`] whose reasons carry the file and line of each policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub allow: bool,
    /// The policies that determined the outcome (see [`Decision::reasons`]).
    pub reasons: Vec<Reason>,
    pub obligations: Vec<Obligation>,
    /// Evaluation errors; any error denies.
    pub errors: Vec<String>,
}

/// One determining policy and where it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The policy's `@id`.
    pub policy: String,
    /// The file it is in, as loaded (`None` only for an id the bundle does not hold).
    pub file: Option<String>,
    /// The 1-based line where it starts.
    pub line: Option<usize>,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{} ({file}:{line})", self.policy),
            (Some(file), None) => write!(f, "{} ({file})", self.policy),
            _ => f.write_str(&self.policy),
        }
    }
}

impl Explanation {
    /// `decision`, its reasons looked up in `bundle` (the policies that decided it).
    pub fn new(bundle: &PolicyBundle, decision: &Decision) -> Self {
        Self {
            allow: decision.allow,
            reasons: decision
                .reasons
                .iter()
                .map(|id| {
                    let info = bundle.policy(id);
                    Reason {
                        policy: id.clone(),
                        file: info.map(|p| p.file.display().to_string()),
                        line: info.map(|p| p.line),
                    }
                })
                .collect(),
            obligations: decision.obligations.clone(),
            errors: decision.errors.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::Explanation;
    use crate::cases::EntitySpec;
    use crate::engine::{Engine, EngineConfig};
    use crate::load::PolicyBundle;
    use crate::request::Request;

    /// Every reason names its policy, file and line, in the JSON form too.
    #[test]
    fn reasons_carry_their_file_and_line() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let bundle = PolicyBundle::load(&root).expect("policies load");
        let engine = Engine::new(bundle, EngineConfig::default());
        let entities: EntitySpec = serde_yaml::from_str(
            "tenants: [{id: acme}]\nservers: [{id: bank}]\n\
             tools: [{id: pay, tenant: acme, server: bank, category: payments}]\n\
             agents: [{id: treasurer, tenant: acme, tools: [pay]}]\n",
        )
        .expect("entities");
        engine.set_directory(Arc::new(entities.directory(1).expect("directory")));
        let request: Request = serde_yaml::from_str(
            "{tenant: acme, principal: {agent: treasurer}, action: call_tool, \
             resource: {tool: pay}, arguments: {amount: 50000}}",
        )
        .expect("request");
        let decision = engine.decide_uncached(&request);
        let explained = engine.with_bundle(|b| Explanation::new(b, &decision));
        let [reason] = explained.reasons.as_slice() else {
            panic!("one reason expected: {explained:?}");
        };
        assert_eq!(reason.policy, "large-payment-approval");
        assert!(
            reason
                .file
                .as_deref()
                .is_some_and(|f| f.ends_with("arguments.cedar")),
            "{reason:?}"
        );
        assert_eq!(reason.line, Some(4));
        let json = serde_json::to_value(&explained).expect("json");
        assert_eq!(json["allow"], false);
        assert_eq!(json["reasons"][0]["policy"], "large-payment-approval");
        assert_eq!(json["reasons"][0]["line"], 4);
        assert!(
            json["reasons"][0]["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("arguments.cedar"))
        );
        assert_eq!(json["obligations"][0], "human_approval");
        assert!(reason.to_string().starts_with("large-payment-approval ("));
    }
}
