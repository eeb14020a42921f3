//! Loading a policy directory: the schema, every `@id`-annotated policy, strict validation.
//!
//! A load either produces a complete [`PolicyBundle`] or a [`LoadError`] listing every
//! problem with its file and line; it never produces half a policy set.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    Effect, Entity, Policy, PolicyId, PolicySet, Schema, SchemaFragment, ValidationMode, Validator,
};

use crate::context::ArgumentFields;
use crate::decision::Obligation;
use crate::error::{LoadError, Problem, describe, line_of};
use crate::index::PolicyIndex;

/// Where a policy came from and what it means to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    /// The `@id` annotation: the policy's stable name in decisions and audit records.
    pub id: Arc<str>,
    pub file: PathBuf,
    /// 1-based line where the policy starts.
    pub line: usize,
    pub forbid: bool,
    /// The `@obligation` annotation, for forbids that ask for something instead of refusing.
    pub obligation: Option<Obligation>,
}

/// A validated policy set with everything the engine derives from it.
#[derive(Debug)]
pub struct PolicyBundle {
    pub(crate) schema: Schema,
    pub(crate) policies: Vec<Policy>,
    pub(crate) info: Vec<PolicyInfo>,
    pub(crate) by_id: HashMap<Arc<str>, usize>,
    pub(crate) index: PolicyIndex,
    pub(crate) arguments: ArgumentFields,
    pub(crate) action_entities: Vec<Entity>,
    warnings: Vec<Problem>,
}

/// A source file and its text.
type Source = (PathBuf, String);

impl PolicyBundle {
    /// Loads `dir/*.cedarschema` and every `dir/**/*.cedar`.
    pub fn load(dir: &Path) -> Result<Self, LoadError> {
        let (schemas, policies) = read_dir(dir)?;
        if schemas.is_empty() {
            return Err(LoadError::one(Problem::in_file(
                dir,
                None,
                "no `*.cedarschema` file: policies are always validated against a schema",
            )));
        }
        Self::from_sources(&schemas, &policies)
    }

    /// Builds a bundle from in-memory sources (the paths only name them in errors).
    pub fn from_sources(schemas: &[Source], policies: &[Source]) -> Result<Self, LoadError> {
        let mut problems = Vec::new();
        let mut warnings = Vec::new();

        let mut fragments = Vec::new();
        for (path, text) in schemas {
            match SchemaFragment::from_cedarschema_str(text) {
                Ok((fragment, schema_warnings)) => {
                    for w in schema_warnings {
                        let (line, message) = describe(&w, text);
                        warnings.push(Problem::in_file(path, line, message));
                    }
                    fragments.push((path.clone(), fragment));
                }
                Err(e) => {
                    let (line, message) = describe(&e, text);
                    problems.push(Problem::in_file(path, line, message));
                }
            }
        }
        let schema_file = schemas
            .first()
            .map(|(p, _)| p.as_path())
            .unwrap_or(Path::new("."));
        let mut argument_json = Vec::new();
        for (path, fragment) in &fragments {
            let json = fragment
                .to_json_string()
                .map_err(|e| e.to_string())
                .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()));
            match json {
                Ok(json) => argument_json.push((path.clone(), json)),
                Err(e) => problems.push(Problem::in_file(path, None, e)),
            }
        }
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }
        let schema =
            Schema::from_schema_fragments(fragments.into_iter().map(|(_, f)| f)).map_err(|e| {
                let (_, message) = describe(&e, "");
                LoadError::one(Problem::in_file(schema_file, None, message))
            })?;
        let arguments = ArgumentFields::from_schema_json(&argument_json)?;

        let parsed = parse_policies(policies, &mut problems);
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }

        let mut set = PolicySet::new();
        for (policy, _) in &parsed {
            if let Err(e) = set.add(policy.clone()) {
                problems.push(Problem {
                    file: None,
                    line: None,
                    policy_id: Some(policy.id().to_string()),
                    message: e.to_string(),
                });
            }
        }
        let texts: HashMap<&Path, &str> = policies
            .iter()
            .map(|(p, t)| (p.as_path(), t.as_str()))
            .collect();
        let at = |id: &PolicyId| parsed.iter().find(|(p, _)| p.id() == id).map(|(_, i)| i);
        let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
        for e in result.validation_errors() {
            problems.push(locate(e, e.policy_id(), at(e.policy_id()), &texts));
        }
        for w in result.validation_warnings() {
            warnings.push(locate(w, w.policy_id(), at(w.policy_id()), &texts));
        }
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }

        let action_entities = schema
            .action_entities()
            .map_err(|e| LoadError::one(Problem::in_file(schema_file, None, e.to_string())))?
            .into_iter()
            .collect::<Vec<_>>();
        let (policies, info): (Vec<_>, Vec<_>) = parsed.into_iter().unzip();
        let by_id = info
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let index = PolicyIndex::new(&policies, &action_entities);
        Ok(Self {
            schema,
            policies,
            info,
            by_id,
            index,
            arguments,
            action_entities,
            warnings,
        })
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Every policy, in file order.
    pub fn policies(&self) -> &[PolicyInfo] {
        &self.info
    }

    pub fn policy(&self, id: &str) -> Option<&PolicyInfo> {
        self.by_id.get(id).and_then(|&i| self.info.get(i))
    }

    /// Non-fatal findings of the validator (for example a policy that can never apply).
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The argument fields policies may read (declared in `Portcullis::Arguments`).
    pub fn argument_fields(&self) -> impl Iterator<Item = &str> {
        self.arguments.names()
    }
}

fn read_dir(dir: &Path) -> Result<(Vec<Source>, Vec<Source>), LoadError> {
    let mut schemas = Vec::new();
    let mut policies = Vec::new();
    let mut problems = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(Problem::in_file(
                    &current,
                    None,
                    format!("cannot read: {e}"),
                ));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.starts_with('#') {
                continue;
            }
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let top_level = current == dir;
            let list = match path.extension().and_then(|e| e.to_str()) {
                _ if is_dir => {
                    pending.push(path);
                    continue;
                }
                Some("cedar") => &mut policies,
                Some("cedarschema") if top_level => &mut schemas,
                _ => continue,
            };
            match std::fs::read_to_string(&path) {
                Ok(text) => list.push((path, text)),
                Err(e) => problems.push(Problem::in_file(&path, None, format!("cannot read: {e}"))),
            }
        }
    }
    if !problems.is_empty() {
        return Err(LoadError { problems });
    }
    schemas.sort();
    policies.sort();
    Ok((schemas, policies))
}

/// Parses every file, names each policy by its `@id`, and checks the annotations.
fn parse_policies(sources: &[Source], problems: &mut Vec<Problem>) -> Vec<(Policy, PolicyInfo)> {
    let mut out: Vec<(Policy, PolicyInfo)> = Vec::new();
    let mut seen: HashMap<String, (PathBuf, usize)> = HashMap::new();
    for (path, text) in sources {
        let set = match PolicySet::from_str(text) {
            Ok(set) => set,
            Err(errors) => {
                for e in errors.iter() {
                    let (line, message) = describe(e, text);
                    problems.push(Problem::in_file(path, line, message));
                }
                continue;
            }
        };
        if let Some(t) = set.templates().next() {
            let line = text.find(&t.to_cedar()).map(|o| line_of(text, o));
            problems.push(Problem::in_file(
                path,
                line,
                "templates (`?principal`, `?resource`) are not supported: keep grants in entity data",
            ));
        }
        // The parser names policies `policy0`, `policy1`, ... in file order.
        let mut in_file: Vec<&Policy> = set.policies().collect();
        in_file.sort_by_key(|p| {
            p.id()
                .to_string()
                .trim_start_matches("policy")
                .parse::<usize>()
                .unwrap_or(0)
        });
        let mut cursor = 0;
        for policy in in_file {
            let offset = policy.to_cedar().and_then(|src| {
                text.get(cursor..)
                    .and_then(|rest| rest.find(&src))
                    .map(|o| (o + cursor, src.len()))
            });
            let line = offset.map_or(1, |(o, _)| line_of(text, o));
            if let Some((o, len)) = offset {
                cursor = o + len;
            }
            let at = |message: String| Problem::in_file(path, Some(line), message);
            let Some(id) = policy.annotation("id") else {
                problems.push(at(
                    "policy has no `@id(\"...\")` annotation: every policy needs a stable id"
                        .into(),
                ));
                continue;
            };
            if !valid_id(id) {
                problems.push(at(format!(
                    "`@id(\"{id}\")` is not a valid id: use letters, digits, `-`, `_`, `.`, `:` or `/`"
                )));
                continue;
            }
            if let Some((first_file, first_line)) = seen.get(id) {
                problems.push(at(format!(
                    "duplicate `@id(\"{id}\")`: first used at {}:{first_line}",
                    first_file.display()
                )));
                continue;
            }
            seen.insert(id.to_owned(), (path.clone(), line));
            let forbid = policy.effect() == Effect::Forbid;
            let obligation = match policy.annotation("obligation") {
                None => None,
                Some(name) => match Obligation::from_name(name) {
                    Some(o) if forbid => Some(o),
                    Some(_) => {
                        problems.push(at(format!(
                            "`@obligation` only applies to forbid policies (policy `{id}` is a permit)"
                        )));
                        continue;
                    }
                    None => {
                        problems.push(at(format!(
                            "unknown obligation `{name}`: the engine knows `human_approval`"
                        )));
                        continue;
                    }
                },
            };
            let info = PolicyInfo {
                id: Arc::from(id),
                file: path.clone(),
                line,
                forbid,
                obligation,
            };
            out.push((policy.new_id(PolicyId::new(id)), info));
        }
    }
    out
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'))
}

/// A validation finding, placed at its file and line.
fn locate(
    diag: &dyn miette::Diagnostic,
    id: &PolicyId,
    info: Option<&PolicyInfo>,
    texts: &HashMap<&Path, &str>,
) -> Problem {
    let text = info
        .and_then(|i| texts.get(i.file.as_path()))
        .copied()
        .unwrap_or("");
    let (line, message) = describe(diag, text);
    Problem {
        file: info.map(|i| i.file.clone()),
        line: line.or(info.map(|i| i.line)),
        policy_id: Some(id.to_string()),
        message,
    }
}

#[cfg(test)]
mod tests;
