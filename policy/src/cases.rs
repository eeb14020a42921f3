//! Decision test cases: entities, requests and the decisions a policy set must give them.
//!
//! A case file (YAML or JSON) holds one registry and a list of cases:
//!
//! ```yaml
//! entities:
//!   tenants: [{id: acme}]
//!   servers: [{id: files}]
//!   tools: [{id: read_file, tenant: acme, server: files}]
//!   agents: [{id: reader, tenant: acme, tools: [read_file]}]
//! cases:
//!   - name: allowed grant
//!     request: {tenant: acme, principal: {agent: reader}, action: call_tool, resource: {tool: read_file}}
//!     expect: {decision: allow, reasons: [tool-grant]}
//! ```

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::decision::{Decision, Obligation};
use crate::engine::{Engine, EngineConfig};
use crate::entities::{Agent, Directory, McpServer, ServiceAccount, Tenant, Tool, User};
use crate::load::PolicyBundle;
use crate::request::Request;

/// A registry, written out.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EntitySpec {
    pub tenants: Vec<Tenant>,
    pub users: Vec<User>,
    pub servers: Vec<McpServer>,
    pub tools: Vec<Tool>,
    pub agents: Vec<Agent>,
    pub service_accounts: Vec<ServiceAccount>,
}

impl EntitySpec {
    pub fn directory(&self, revision: u64) -> Result<Directory, crate::EntityError> {
        let mut b = Directory::builder(revision);
        for t in &self.tenants {
            b.tenant(t)?;
        }
        for u in &self.users {
            b.user(u)?;
        }
        for s in &self.servers {
            b.server(s)?;
        }
        for t in &self.tools {
            b.tool(t)?;
        }
        for a in &self.agents {
            b.agent(a)?;
        }
        for s in &self.service_accounts {
            b.service_account(s)?;
        }
        Ok(b.build())
    }
}

/// The expected outcome of a case.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub decision: Verdict,
    /// When given, the exact set of determining policy ids.
    #[serde(default)]
    pub reasons: Option<Vec<String>>,
    /// The obligations the decision must carry (none when omitted).
    #[serde(default)]
    pub obligations: Vec<Obligation>,
    /// Whether evaluation errors are expected (none when omitted).
    #[serde(default)]
    pub errors: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub request: Request,
    pub expect: Expectation,
}

/// One file of cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    #[serde(default)]
    pub entities: EntitySpec,
    pub cases: Vec<Case>,
}

impl CaseFile {
    /// Reads a YAML (or JSON, which is YAML) case file.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub name: String,
    /// `None` when the case passed, otherwise what differed.
    pub failure: Option<String>,
    pub decision: Decision,
}

/// The results of one case file.
#[derive(Debug, Clone, Default)]
pub struct CaseReport {
    pub outcomes: Vec<CaseOutcome>,
}

impl CaseReport {
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.failure.is_none()).count()
    }

    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }
}

/// Runs every case of `file` against the policies in `bundle`.
///
/// Each case is decided twice through the decision cache (a miss, then a hit) and once
/// without it; all three answers must agree and match the expectation.
pub fn run_case_file(bundle: PolicyBundle, file: &CaseFile) -> Result<CaseReport, String> {
    let directory = file
        .entities
        .directory(1)
        .map_err(|e| format!("entities: {e}"))?;
    let engine = Engine::new(bundle, EngineConfig::default());
    engine.set_directory(Arc::new(directory));
    let mut report = CaseReport::default();
    for case in &file.cases {
        let first = engine.decide(&case.request);
        let cached = engine.decide(&case.request);
        let uncached = engine.decide_uncached(&case.request);
        let failure = if *first != *cached || *first != uncached {
            Some(format!(
                "cached and uncached decisions differ: {first:?} / {cached:?} / {uncached:?}"
            ))
        } else {
            check(&case.expect, &first)
        };
        report.outcomes.push(CaseOutcome {
            name: case.name.clone(),
            failure,
            decision: (*first).clone(),
        });
    }
    Ok(report)
}

fn check(expect: &Expectation, d: &Decision) -> Option<String> {
    let mut problems = Vec::new();
    let got = if d.allow {
        Verdict::Allow
    } else {
        Verdict::Deny
    };
    if got != expect.decision {
        problems.push(format!("expected {:?}, got {got:?}", expect.decision));
    }
    if let Some(reasons) = &expect.reasons {
        let mut want = reasons.clone();
        let mut have = d.reasons.clone();
        want.sort();
        have.sort();
        if want != have {
            problems.push(format!("expected reasons {want:?}, got {have:?}"));
        }
    }
    let mut obligations = expect.obligations.clone();
    obligations.sort();
    if obligations != d.obligations {
        problems.push(format!(
            "expected obligations {obligations:?}, got {:?}",
            d.obligations
        ));
    }
    let erred = !d.errors.is_empty();
    if expect.errors != erred {
        problems.push(if expect.errors {
            "expected evaluation errors, got none".to_owned()
        } else {
            format!("unexpected evaluation errors: {:?}", d.errors)
        });
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{CaseFile, run_case_file};
    use crate::load::PolicyBundle;

    /// The shipped decision cases pass against the shipped policies.
    #[test]
    fn shipped_cases_pass() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let mut total = 0;
        for entry in std::fs::read_dir(root.join("tests")).expect("tests dir") {
            let path = entry.expect("entry").path();
            let file = CaseFile::read(&path).expect("case file parses");
            let bundle = PolicyBundle::load(&root).expect("policies load");
            let report = run_case_file(bundle, &file).expect("entities build");
            for o in &report.outcomes {
                assert!(
                    o.failure.is_none(),
                    "{}: {}: {:?}",
                    path.display(),
                    o.name,
                    o.failure
                );
            }
            total += report.outcomes.len();
        }
        assert!(total >= 11);
    }

    /// A case whose expectation is wrong fails: the runner can tell.
    #[test]
    fn a_wrong_expectation_fails() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let file: CaseFile = serde_yaml::from_str(
            r#"
entities:
  tenants: [{id: acme}]
  servers: [{id: s}]
  tools: [{id: t, tenant: acme, server: s}]
  agents: [{id: a, tenant: acme, tools: [t]}]
cases:
  - name: wrong on purpose
    request: {tenant: acme, principal: {agent: a}, action: call_tool, resource: {tool: t}}
    expect: {decision: deny}
  - name: right
    request: {tenant: acme, principal: {agent: a}, action: call_tool, resource: {tool: t}}
    expect: {decision: allow, reasons: [tool-grant]}
"#,
        )
        .expect("yaml");
        let report = run_case_file(PolicyBundle::load(&root).expect("load"), &file).expect("run");
        assert_eq!((report.passed(), report.failed()), (1, 1));
    }
}
