//! Scope index: which policies can possibly apply to a request.
//!
//! Cedar evaluates every policy of the set it is given, so a flat set costs time linear in
//! its size. Each policy is filed under the most selective part of its scope (a principal,
//! a resource, a type, an action); a request gathers the policies filed under its own
//! principal, resource and action (and their ancestors), and Cedar evaluates only that
//! slice. Over-inclusion is harmless, since Cedar still checks every scope it is given;
//! the index never leaves out a policy whose scope matches.
//!
//! Slices are cached by their contents: requests of the same shape share one `PolicySet`.

use std::collections::HashMap;
use std::sync::Arc;

use cedar_policy::{
    ActionConstraint, Entities, Entity, EntityTypeName, EntityUid, Policy, PolicySet,
    PrincipalConstraint, ResourceConstraint,
};

/// Where one policy is filed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Anchor {
    /// `principal == U`, `principal in U`, `principal is T in U`
    Principal(EntityUid),
    /// `resource == U`, `resource in U`, `resource is T in U`
    Resource(EntityUid),
    PrincipalType(EntityTypeName),
    ResourceType(EntityTypeName),
    /// `action == A` or `action in [A, ...]` (one anchor per listed action)
    Action(EntityUid),
    /// No scope at all: applies to every request.
    Everything,
}

/// The ancestors-aware view of one request that the index needs.
#[derive(Debug)]
pub(crate) struct Scope<'a> {
    pub(crate) principal: &'a EntityUid,
    pub(crate) principal_ancestors: &'a [EntityUid],
    pub(crate) action: &'a EntityUid,
    pub(crate) resource: &'a EntityUid,
    pub(crate) resource_ancestors: &'a [EntityUid],
}

#[derive(Debug)]
pub(crate) struct PolicyIndex {
    filed: HashMap<Anchor, Vec<u32>>,
    action_ancestors: HashMap<EntityUid, Vec<EntityUid>>,
    policies: Vec<Policy>,
    slices: moka::sync::Cache<Arc<[u32]>, Arc<PolicySet>>,
}

impl PolicyIndex {
    pub(crate) fn new(policies: &[Policy], action_entities: &[Entity]) -> Self {
        let mut filed: HashMap<Anchor, Vec<u32>> = HashMap::new();
        for (i, policy) in policies.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            for anchor in anchors(policy) {
                filed.entry(anchor).or_default().push(i);
            }
        }
        // Action groups come from the schema; `Entities` computes their transitive closure.
        let actions = Entities::from_entities(action_entities.iter().cloned(), None)
            .unwrap_or_else(|_| Entities::empty());
        let action_ancestors = action_entities
            .iter()
            .map(|e| {
                let uid = e.uid();
                let ancestors = actions
                    .ancestors(&uid)
                    .map(|a| a.cloned().collect())
                    .unwrap_or_default();
                (uid, ancestors)
            })
            .collect();
        Self {
            filed,
            action_ancestors,
            policies: policies.to_vec(),
            slices: moka::sync::Cache::new(16_384),
        }
    }

    /// Whether the schema groups actions (`action in Group` then needs the action entities).
    pub(crate) fn has_action_groups(&self) -> bool {
        self.action_ancestors.values().any(|a| !a.is_empty())
    }

    /// The policies whose scope may match, as one cached `PolicySet`.
    pub(crate) fn slice(&self, scope: &Scope<'_>) -> Result<Arc<PolicySet>, String> {
        let mut ids: Vec<u32> = Vec::with_capacity(32);
        let mut take = |anchor: &Anchor| {
            if let Some(list) = self.filed.get(anchor) {
                ids.extend_from_slice(list);
            }
        };
        take(&Anchor::Everything);
        take(&Anchor::Action(scope.action.clone()));
        if let Some(groups) = self.action_ancestors.get(scope.action) {
            for g in groups {
                take(&Anchor::Action(g.clone()));
            }
        }
        for uid in std::iter::once(scope.principal).chain(scope.principal_ancestors) {
            take(&Anchor::Principal(uid.clone()));
        }
        take(&Anchor::PrincipalType(scope.principal.type_name().clone()));
        for uid in std::iter::once(scope.resource).chain(scope.resource_ancestors) {
            take(&Anchor::Resource(uid.clone()));
        }
        take(&Anchor::ResourceType(scope.resource.type_name().clone()));
        ids.sort_unstable();
        ids.dedup();
        let key: Arc<[u32]> = ids.into();
        if let Some(set) = self.slices.get(&key) {
            return Ok(set);
        }
        let set = PolicySet::from_policies(
            key.iter()
                .filter_map(|&i| self.policies.get(i as usize).cloned()),
        )
        .map_err(|e| format!("cannot assemble the policy slice: {e}"))?;
        let set = Arc::new(set);
        self.slices.insert(key, set.clone());
        Ok(set)
    }
}

/// The most selective anchor(s) of a policy's scope.
fn anchors(policy: &Policy) -> Vec<Anchor> {
    match policy.principal_constraint() {
        PrincipalConstraint::Eq(uid) | PrincipalConstraint::In(uid) => {
            return vec![Anchor::Principal(uid)];
        }
        PrincipalConstraint::IsIn(_, uid) => return vec![Anchor::Principal(uid)],
        PrincipalConstraint::Is(_) | PrincipalConstraint::Any => {}
    }
    match policy.resource_constraint() {
        ResourceConstraint::Eq(uid) | ResourceConstraint::In(uid) => {
            return vec![Anchor::Resource(uid)];
        }
        ResourceConstraint::IsIn(_, uid) => return vec![Anchor::Resource(uid)],
        ResourceConstraint::Is(_) | ResourceConstraint::Any => {}
    }
    match policy.action_constraint() {
        ActionConstraint::Eq(uid) => return vec![Anchor::Action(uid)],
        ActionConstraint::In(uids) if !uids.is_empty() => {
            return uids.into_iter().map(Anchor::Action).collect();
        }
        ActionConstraint::In(_) | ActionConstraint::Any => {}
    }
    if let PrincipalConstraint::Is(t) = policy.principal_constraint() {
        return vec![Anchor::PrincipalType(t)];
    }
    if let ResourceConstraint::Is(t) = policy.resource_constraint() {
        return vec![Anchor::ResourceType(t)];
    }
    vec![Anchor::Everything]
}
