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
use crate::request::{EntityKind, Request};

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

    /// Names in these entities and in `request` that refer to nothing written here — most
    /// likely typos — one line each, naming the field, the name and what it should be one of.
    ///
    /// A misspelt name is otherwise not an error but a different question: a tool granted
    /// under a wrong id is simply not granted, a request in a misspelt tenant is refused by
    /// tenant isolation (besides any other policy that applies), an unknown actor fails
    /// every step it takes part in. Checked: the request's principal, resource and chain,
    /// grants (`tools`) and edges (`can_call`, `can_delegate_to`) always; tenants, servers
    /// and users (the request's `tenant` and `on_behalf_of`, records' `tenant`, `server` and
    /// `owner`) when the file lists any of that kind.
    pub fn unknown_references(&self, request: &Request) -> Vec<String> {
        let tenants = Known::new(
            "tenant",
            "tenants",
            self.tenants.iter().map(|t| t.id.as_str()),
        );
        let servers = Known::new(
            "server",
            "servers",
            self.servers.iter().map(|s| s.id.as_str()),
        );
        let tools = Known::new("tool", "tools", self.tools.iter().map(|t| t.id.as_str()));
        let agents = Known::new("agent", "agents", self.agents.iter().map(|a| a.id.as_str()));
        let service_accounts = Known::new(
            "service account",
            "service_accounts",
            self.service_accounts.iter().map(|s| s.id.as_str()),
        );
        // Users are per tenant; listing any user (of any tenant) turns their check on. In a
        // tenant that is itself unknown they are not checked: one typo, one problem.
        let users = |tenant: &str| Known {
            tenant: Some(tenant.to_owned()),
            listed: !self.users.is_empty() && tenants.unknown(tenant, false).is_none(),
            ..Known::new(
                "user",
                "users",
                self.users
                    .iter()
                    .filter(|u| u.tenant == tenant)
                    .map(|u| u.id.as_str()),
            )
        };
        let mut problems = Vec::new();
        let mut check = |field: &str, known: &Known<'_>, name: &str, always: bool| {
            if let Some(problem) = known.unknown(name, always) {
                problems.push(format!("{field}: {problem}"));
            }
        };

        check("request.tenant", &tenants, &request.tenant, false);
        for (field, r) in [
            ("request.principal", &request.principal),
            ("request.resource", &request.resource),
        ] {
            let known = match r.kind {
                EntityKind::Agent => &agents,
                EntityKind::ServiceAccount => &service_accounts,
                EntityKind::Tool => &tools,
                EntityKind::McpServer => &servers,
                EntityKind::Tenant => &tenants,
                EntityKind::User | EntityKind::Lifecycle | EntityKind::RiskLevel => continue,
            };
            check(field, known, &r.id, true);
        }
        for (i, actor) in request.chain.iter().enumerate() {
            check(&format!("request.chain[{i}]"), &agents, actor, true);
        }
        if let Some(user) = &request.on_behalf_of {
            check("request.on_behalf_of", &users(&request.tenant), user, false);
        }
        for (i, u) in self.users.iter().enumerate() {
            let at = format!("entities.users[{i}] (`{}`)", u.id);
            check(&format!("{at}.tenant"), &tenants, &u.tenant, false);
        }
        for (i, t) in self.tools.iter().enumerate() {
            let at = format!("entities.tools[{i}] (`{}`)", t.id);
            check(&format!("{at}.tenant"), &tenants, &t.tenant, false);
            check(&format!("{at}.server"), &servers, &t.server, false);
        }
        for (i, a) in self.agents.iter().enumerate() {
            let at = format!("entities.agents[{i}] (`{}`)", a.id);
            check(&format!("{at}.tenant"), &tenants, &a.tenant, false);
            if let Some(owner) = &a.owner {
                check(&format!("{at}.owner"), &users(&a.tenant), owner, false);
            }
            for tool in &a.tools {
                check(&format!("{at}.tools"), &tools, tool, true);
            }
            for agent in &a.can_call {
                check(&format!("{at}.can_call"), &agents, agent, true);
            }
            for agent in &a.can_delegate_to {
                check(&format!("{at}.can_delegate_to"), &agents, agent, true);
            }
        }
        for (i, sa) in self.service_accounts.iter().enumerate() {
            let at = format!("entities.service_accounts[{i}] (`{}`)", sa.id);
            check(&format!("{at}.tenant"), &tenants, &sa.tenant, false);
            if let Some(owner) = &sa.owner {
                check(&format!("{at}.owner"), &users(&sa.tenant), owner, false);
            }
            for tool in &sa.tools {
                check(&format!("{at}.tools"), &tools, tool, true);
            }
            for agent in &sa.can_call {
                check(&format!("{at}.can_call"), &agents, agent, true);
            }
        }
        problems
    }
}

/// The ids of one kind of entity a file lists.
struct Known<'a> {
    kind: &'static str,
    list: &'static str,
    ids: Vec<&'a str>,
    /// Whether the file lists any entity of this kind.
    listed: bool,
    /// For users: the tenant whose users these are.
    tenant: Option<String>,
}

impl<'a> Known<'a> {
    fn new(kind: &'static str, list: &'static str, ids: impl Iterator<Item = &'a str>) -> Self {
        let ids: Vec<&str> = ids.collect();
        Self {
            kind,
            list,
            listed: !ids.is_empty(),
            ids,
            tenant: None,
        }
    }

    /// What is wrong with `name`, if it names nothing here and the check applies (`always`,
    /// or the file lists any entity of this kind).
    fn unknown(&self, name: &str, always: bool) -> Option<String> {
        if self.ids.contains(&name) || !(always || self.listed) {
            return None;
        }
        let whose = match &self.tenant {
            Some(t) => format!(" of tenant `{t}`"),
            None => String::new(),
        };
        let listed = if self.ids.is_empty() {
            format!("`entities.{}` lists none{whose}", self.list)
        } else {
            let mut shown: Vec<String> = self
                .ids
                .iter()
                .take(8)
                .map(|id| format!("`{id}`"))
                .collect();
            if self.ids.len() > shown.len() {
                shown.push("…".into());
            }
            format!("`entities.{}`{whose} has {}", self.list, shown.join(", "))
        };
        Some(format!(
            "{} `{name}` is not in the file ({listed})",
            self.kind
        ))
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

    use super::{CaseFile, EntitySpec, run_case_file};
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

    /// Each misspelt name of an explain file is one problem naming the field and the name;
    /// a file without typos has none.
    #[test]
    fn each_typo_is_one_problem_naming_what_is_wrong() {
        let entities = r#"
tenants: [{id: acme}]
users: [{id: alice, tenant: acme}]
servers: [{id: bank}]
tools: [{id: pay, tenant: acme, server: bank, category: payments}]
agents:
  - {id: treasurer, tenant: acme, owner: alice, tools: [pay], can_delegate_to: [clerk]}
  - {id: clerk, tenant: acme, tools: [pay]}
"#;
        let request = "{tenant: acme, principal: {agent: treasurer}, action: call_tool, \
                       resource: {tool: pay}, arguments: {amount: 50000}, on_behalf_of: alice}";
        let problems = |entities: &str, request: &str| {
            let spec: EntitySpec = serde_yaml::from_str(entities).expect("entities");
            let request: crate::Request = serde_yaml::from_str(request).expect("request");
            spec.unknown_references(&request)
        };
        assert_eq!(problems(entities, request), Vec::<String>::new());
        let typos = [
            (
                "request",
                "tenant: acme,",
                "tenant: acem,",
                "request.tenant: tenant `acem`",
            ),
            (
                "request",
                "{agent: treasurer}",
                "{agent: treasuer}",
                "request.principal: agent `treasuer`",
            ),
            (
                "request",
                "{tool: pay}",
                "{tool: pya}",
                "request.resource: tool `pya`",
            ),
            (
                "request",
                "on_behalf_of: alice",
                "on_behalf_of: alcie",
                "request.on_behalf_of: user `alcie`",
            ),
            (
                "request",
                "arguments:",
                "chain: [clrek], arguments:",
                "request.chain[0]: agent `clrek`",
            ),
            (
                "entities",
                "tenant: acme, server",
                "tenant: acem, server",
                "entities.tools[0] (`pay`).tenant: tenant `acem`",
            ),
            (
                "entities",
                "server: bank,",
                "server: bnak,",
                "entities.tools[0] (`pay`).server: server `bnak`",
            ),
            (
                "entities",
                "tools: [pay], can",
                "tools: [pya], can",
                "entities.agents[0] (`treasurer`).tools: tool `pya`",
            ),
            (
                "entities",
                "owner: alice",
                "owner: alcie",
                "entities.agents[0] (`treasurer`).owner: user `alcie`",
            ),
            (
                "entities",
                "can_delegate_to: [clerk]",
                "can_delegate_to: [clrek]",
                "entities.agents[0] (`treasurer`).can_delegate_to: agent `clrek`",
            ),
        ];
        for (part, right, wrong, expected) in typos {
            let (e, r) = if part == "request" {
                (entities.to_owned(), request.replacen(right, wrong, 1))
            } else {
                (entities.replacen(right, wrong, 1), request.to_owned())
            };
            assert!(e != entities || r != request, "{right} not found");
            let found = problems(&e, &r);
            assert_eq!(found.len(), 1, "{wrong}: {found:?}");
            assert!(found[0].starts_with(expected), "{wrong}: {found:?}");
            assert!(found[0].contains("is not in the file"), "{found:?}");
        }
        // Tenants, servers and users need not be listed at all.
        let bare = "tools: [{id: pay, tenant: acme, server: bank}]\n\
                    agents: [{id: treasurer, tenant: acme, owner: bob, tools: [pay]}]\n";
        assert_eq!(problems(bare, request), Vec::<String>::new());
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
