//! The engine: the current policy bundle and registry snapshot, and cached decisions.
//!
//! [`Engine::decide`] is the hot path: it builds the exact cache key of a request (policy
//! epoch, registry revision, principal, chain, action, resource, context facts) and returns
//! the cached decision, or evaluates the request and caches the answer.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use cedar_policy::{Authorizer, Entities, Entity, EntityUid};

use crate::context::{CallFacts, push_str};
use crate::decision::{Decision, Obligation};
use crate::entities::Directory;
use crate::error::LoadError;
use crate::index::Scope;
use crate::load::PolicyBundle;
use crate::request::{Action, EntityKind, EntityRef, Request};
use crate::tenant::{check_tenant_id, user_entity_id};
use crate::watch::ReloadStatus;

/// Tuning of the engine.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Most decisions kept in the decision cache.
    pub cache_capacity: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            cache_capacity: 100_000,
        }
    }
}

/// Decision cache counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub entries: u64,
}

/// A policy bundle and the epoch it was installed under.
#[derive(Debug)]
struct Installed {
    epoch: u64,
    bundle: PolicyBundle,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DecisionKey {
    epoch: u64,
    revision: u64,
    request: Box<[u8]>,
}

/// The policy engine. Cheap to share (`Arc<Engine>`); every method takes `&self`.
pub struct Engine {
    installed: ArcSwap<Installed>,
    directory: ArcSwap<Directory>,
    cache: moka::sync::Cache<DecisionKey, Arc<Decision>>,
    hits: AtomicU64,
    misses: AtomicU64,
    epochs: AtomicU64,
    authorizer: Authorizer,
    status: Mutex<ReloadStatus>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("epoch", &self.epoch())
            .field("revision", &self.directory.load().revision())
            .field("cache", &self.cache_stats())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine serving `bundle` over an empty registry.
    pub fn new(bundle: PolicyBundle, config: EngineConfig) -> Self {
        Self {
            installed: ArcSwap::from_pointee(Installed { epoch: 1, bundle }),
            directory: ArcSwap::from_pointee(Directory::default()),
            cache: moka::sync::Cache::new(config.cache_capacity),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            epochs: AtomicU64::new(1),
            authorizer: Authorizer::new(),
            status: Mutex::new(ReloadStatus {
                epoch: 1,
                ..ReloadStatus::default()
            }),
        }
    }

    /// Loads `dir` and serves it.
    pub fn from_dir(dir: &Path, config: EngineConfig) -> Result<Self, LoadError> {
        PolicyBundle::load(dir).map(|b| Self::new(b, config))
    }

    /// Reloads `dir`. On success the new set serves from the next decision on; on failure the
    /// current set keeps serving and the error is kept in [`Engine::reload_status`].
    pub fn reload(&self, dir: &Path) -> Result<u64, LoadError> {
        match PolicyBundle::load(dir) {
            Ok(bundle) => {
                let epoch = self.install(bundle);
                let mut status = lock(&self.status);
                status.epoch = epoch;
                status.reloads += 1;
                status.last_error = None;
                Ok(epoch)
            }
            Err(e) => {
                let mut status = lock(&self.status);
                status.failures += 1;
                status.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Serves `bundle` under a new epoch; earlier cached decisions become unreachable.
    pub fn install(&self, bundle: PolicyBundle) -> u64 {
        let epoch = self.epochs.fetch_add(1, Ordering::SeqCst) + 1;
        self.installed.store(Arc::new(Installed { epoch, bundle }));
        self.cache.invalidate_all();
        epoch
    }

    /// Serves decisions over a new registry snapshot.
    pub fn set_directory(&self, directory: Arc<Directory>) {
        self.directory.store(directory);
        self.cache.invalidate_all();
    }

    pub fn directory(&self) -> Arc<Directory> {
        self.directory.load_full()
    }

    pub fn epoch(&self) -> u64 {
        self.installed.load().epoch
    }

    /// Runs `f` with the bundle being served.
    pub fn with_bundle<T>(&self, f: impl FnOnce(&PolicyBundle) -> T) -> T {
        f(&self.installed.load().bundle)
    }

    pub fn reload_status(&self) -> ReloadStatus {
        lock(&self.status).clone()
    }

    /// The cache's counters; `entries` after its pending work is settled (read at a metrics
    /// scrape, not per decision).
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.run_pending_tasks();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.cache.entry_count(),
        }
    }

    /// Decides a request through the decision cache.
    pub fn decide(&self, request: &Request) -> Arc<Decision> {
        let installed = self.installed.load();
        let directory = self.directory.load();
        let key = DecisionKey {
            epoch: installed.epoch,
            revision: directory.revision(),
            request: request_key(&installed.bundle, request),
        };
        if let Some(hit) = self.cache.get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return hit;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let decision = Arc::new(evaluate(
            &self.authorizer,
            &installed.bundle,
            &directory,
            request,
        ));
        self.cache.insert(key, decision.clone());
        decision
    }

    /// Checks a request's principal and resource types against the schema's declaration of
    /// its action (a mistyped request can only ever be denied; this says why).
    pub fn validate_request(&self, r: &Request) -> Result<(), String> {
        let installed = self.installed.load();
        let context = cedar_policy::Context::empty();
        cedar_policy::Request::new(
            r.principal.uid(),
            r.action.uid(),
            r.resource.uid(),
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        let schema = &installed.bundle.schema;
        let principals: Vec<_> = schema
            .principals_for_action(&r.action.uid())
            .into_iter()
            .flatten()
            .collect();
        let resources: Vec<_> = schema
            .resources_for_action(&r.action.uid())
            .into_iter()
            .flatten()
            .collect();
        let p = r.principal.kind.type_name();
        let res = r.resource.kind.type_name();
        if !principals.contains(&p) {
            return Err(format!(
                "action `{}` does not apply to principal type `{p}`",
                r.action.as_str()
            ));
        }
        if !resources.contains(&res) {
            return Err(format!(
                "action `{}` does not apply to resource type `{res}`",
                r.action.as_str()
            ));
        }
        Ok(())
    }

    /// Decides only whether `principal` may act through `chain` (earliest first): `delegate`
    /// for every hop, each with its depth (hops from that delegator to the principal), as a
    /// token exchange must before it issues a token with that chain. Uncached.
    pub fn decide_delegation(&self, tenant: &str, chain: &[String], principal: &str) -> Decision {
        let installed = self.installed.load();
        let mut r = Request::new(
            tenant,
            EntityRef::agent(principal),
            Action::Delegate,
            EntityRef::agent(principal),
        );
        r.chain = chain.to_vec();
        evaluate_steps(
            &self.authorizer,
            &installed.bundle,
            &self.directory.load(),
            &r,
            true,
        )
    }

    /// Decides a request without the cache (for explanations and tests of the cache itself).
    pub fn decide_uncached(&self, request: &Request) -> Decision {
        let installed = self.installed.load();
        evaluate(
            &self.authorizer,
            &installed.bundle,
            &self.directory.load(),
            request,
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Everything a decision depends on besides the epoch and the revision, as exact bytes.
fn request_key(bundle: &PolicyBundle, r: &Request) -> Box<[u8]> {
    let mut out = Vec::with_capacity(128);
    out.push(r.principal.kind as u8);
    push_str(&mut out, &r.principal.id);
    out.extend_from_slice(&(r.chain.len() as u64).to_le_bytes());
    for actor in &r.chain {
        push_str(&mut out, actor);
    }
    out.push(r.action as u8);
    out.push(r.resource.kind as u8);
    push_str(&mut out, &r.resource.id);
    // With the tenant, the user below names exactly one (qualified) user.
    push_str(&mut out, &r.tenant);
    out.push(u8::from(r.input_valid));
    out.push(u8::from(r.approval.approved));
    match &r.on_behalf_of {
        Some(user) => {
            out.push(1);
            push_str(&mut out, user);
        }
        None => out.push(0),
    }
    push_str(&mut out, &r.target.name);
    push_str(&mut out, &r.target.uri);
    bundle.arguments.key_bytes(&r.arguments, &mut out);
    out.into_boxed_slice()
}

/// One Cedar evaluation within a request.
#[derive(Debug)]
struct Sub {
    allow: bool,
    reasons: Vec<String>,
    errors: Vec<String>,
}

/// A principal, action and resource to decide, and the delegation depth between them.
struct Step<'a> {
    principal: &'a EntityRef,
    action: Action,
    resource: &'a EntityRef,
    depth: usize,
}

fn evaluate(
    authorizer: &Authorizer,
    bundle: &PolicyBundle,
    dir: &Directory,
    r: &Request,
) -> Decision {
    evaluate_steps(authorizer, bundle, dir, r, false)
}

/// Decides the request; with `hops_only`, only the delegation hops of its chain (ending at
/// its principal), not the action itself.
fn evaluate_steps(
    authorizer: &Authorizer,
    bundle: &PolicyBundle,
    dir: &Directory,
    r: &Request,
    hops_only: bool,
) -> Decision {
    if let Err(e) = check_tenant_id(&r.tenant) {
        return Decision::deny_with_error(format!("the request names an invalid tenant: {e}"));
    }
    if !r.chain.is_empty() && r.principal.kind != EntityKind::Agent {
        return Decision::deny_with_error(format!(
            "delegation chains are made of agents, but the principal is `{}`",
            r.principal
        ));
    }
    let actors: Vec<EntityRef> = r
        .chain
        .iter()
        .map(|id| EntityRef::agent(id.clone()))
        .chain(std::iter::once(r.principal.clone()))
        .collect();
    let arguments = match CallFacts::arguments(&bundle.arguments, &r.arguments) {
        Ok(a) => a,
        Err(message) => return Decision::deny_with_error(message),
    };
    let facts = CallFacts {
        tenant: EntityKind::Tenant.uid(&r.tenant),
        input_valid: r.input_valid,
        arguments,
        chain: r.chain.iter().map(|id| EntityKind::Agent.uid(id)).collect(),
        approved: r.approval.approved,
        on_behalf_of: r
            .on_behalf_of
            .as_deref()
            .map(|u| EntityKind::User.uid(&user_entity_id(&r.tenant, u))),
        target: r.target.clone(),
    };

    // Every delegation hop, then the action for every actor: the intersection.
    let n = actors.len();
    let mut steps = Vec::with_capacity(2 * n);
    for (i, pair) in actors.windows(2).enumerate() {
        if let [from, to] = pair {
            steps.push(Step {
                principal: from,
                action: Action::Delegate,
                resource: to,
                depth: n - 1 - i,
            });
        }
    }
    for (i, actor) in actors.iter().enumerate().filter(|_| !hops_only) {
        steps.push(Step {
            principal: actor,
            action: r.action,
            resource: &r.resource,
            depth: n - 1 - i,
        });
    }
    if steps.is_empty() {
        return Decision::deny_with_error("there is no delegation to decide".into());
    }

    let run = |approved: bool| -> Vec<Sub> {
        steps
            .iter()
            .map(|s| decide_step(authorizer, bundle, dir, r, &facts, s, approved))
            .collect()
    };
    let subs = run(false);
    let mut decision = combine(&subs);
    if decision.allow || !decision.errors.is_empty() || r.approval.approved {
        return decision;
    }
    // A deny whose every determining policy is an obligation: would meeting it allow?
    let obligations = obligations_of(bundle, &subs);
    if !obligations.is_empty() && combine(&run(true)).allow {
        decision.obligations = obligations;
    }
    decision
}

fn decide_step(
    authorizer: &Authorizer,
    bundle: &PolicyBundle,
    dir: &Directory,
    r: &Request,
    facts: &CallFacts,
    step: &Step<'_>,
    approved: bool,
) -> Sub {
    let fail = |e: String| Sub {
        allow: false,
        reasons: Vec::new(),
        errors: vec![e],
    };
    let entities = match step_entities(bundle, dir, r, step) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let principal = step.principal.uid();
    let resource = step.resource.uid();
    let action = step.action.uid();
    let principal_ancestors = parents(dir, step.principal);
    let resource_ancestors = parents(dir, step.resource);
    let scope = Scope {
        principal: &principal,
        principal_ancestors: &principal_ancestors,
        action: &action,
        resource: &resource,
        resource_ancestors: &resource_ancestors,
    };
    let slice = match bundle.index.slice(&scope) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let context = match facts.context(step.depth, approved) {
        Ok(c) => c,
        Err(e) => return fail(format!("cannot build the request context: {e}")),
    };
    let request = match cedar_policy::Request::new(principal, action, resource, context, None) {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot build the request: {e}")),
    };
    let response = authorizer.is_authorized(&request, &slice, &entities);
    let diagnostics = response.diagnostics();
    // Cedar reports reasons as a set; sorted, equal requests give equal decisions.
    let mut reasons: Vec<String> = diagnostics.reason().map(ToString::to_string).collect();
    reasons.sort_unstable();
    let mut errors: Vec<String> = diagnostics.errors().map(ToString::to_string).collect();
    errors.sort_unstable();
    Sub {
        allow: response.decision() == cedar_policy::Decision::Allow,
        reasons,
        errors,
    }
}

/// Allow only if every step allows and nothing erred; reasons of the deciding steps.
///
/// An error is reported once however many steps it failed: an unknown actor of a delegation
/// chain fails its hop and its own step alike, one mistake.
fn combine(subs: &[Sub]) -> Decision {
    let mut errors: Vec<String> = Vec::new();
    for e in subs.iter().flat_map(|s| &s.errors) {
        if !errors.contains(e) {
            errors.push(e.clone());
        }
    }
    let allow = errors.is_empty() && subs.iter().all(|s| s.allow);
    let mut reasons = Vec::new();
    for s in subs.iter().filter(|s| s.allow == allow) {
        for id in &s.reasons {
            if !reasons.contains(id) {
                reasons.push(id.clone());
            }
        }
    }
    Decision {
        allow,
        reasons,
        obligations: Vec::new(),
        errors,
    }
}

/// The obligations of a deny, if every denying step was decided only by obligation forbids.
fn obligations_of(bundle: &PolicyBundle, subs: &[Sub]) -> Vec<Obligation> {
    let mut out = Vec::new();
    for s in subs.iter().filter(|s| !s.allow) {
        if s.reasons.is_empty() {
            return Vec::new(); // a default deny: no permit applies, nothing to approve
        }
        for id in &s.reasons {
            match bundle.policy(id).and_then(|p| p.obligation) {
                Some(o) if !out.contains(&o) => out.push(o),
                Some(_) => {}
                None => return Vec::new(),
            }
        }
    }
    out.sort();
    out
}

fn parents(dir: &Directory, r: &EntityRef) -> Vec<EntityUid> {
    dir.node(r.kind, &r.id)
        .map(|n| n.parents())
        .unwrap_or_default()
}

/// The entities Cedar needs for one step: its principal and resource (whose ancestors are
/// part of the entity), the user the call is made for (that id's user in the request's
/// tenant), and the schema's actions when it declares action groups. Nothing else: every
/// entity costs a share of the transitive closure Cedar computes per store, and reading an
/// attribute of an entity that is not here is an evaluation error, so a deny.
fn step_entities(
    bundle: &PolicyBundle,
    dir: &Directory,
    r: &Request,
    step: &Step<'_>,
) -> Result<Entities, String> {
    let mut picked: Vec<Entity> = Vec::with_capacity(3);
    let mut last = None;
    for (role, e) in [("principal", step.principal), ("resource", step.resource)] {
        if last != Some((e.kind, &e.id)) {
            let Some(entity) = dir.entity(e.kind, &e.id) else {
                return Err(format!("unknown {role} `{e}`: it is not in the registry"));
            };
            picked.push(entity.map_err(|e| e.to_string())?);
        }
        last = Some((e.kind, &e.id));
    }
    if let Some(u) = r
        .on_behalf_of
        .as_ref()
        .and_then(|u| dir.entity(EntityKind::User, &user_entity_id(&r.tenant, u)))
    {
        picked.push(u.map_err(|e| e.to_string())?);
    }
    if bundle.index.has_action_groups() {
        picked.extend(bundle.action_entities.iter().cloned());
    }
    Entities::from_entities(picked, None).map_err(|e| format!("cannot assemble entities: {e}"))
}

#[cfg(test)]
mod tests;
