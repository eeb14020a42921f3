//! The Cedar context of a call, built from typed values, and the exact cache-key bytes of
//! everything the context holds.
//!
//! Only the argument fields declared in `Portcullis::Arguments` reach Cedar, so only they
//! take part in the cache key: calls that differ in other arguments share decisions.

use std::path::PathBuf;

use cedar_policy::{Context, EntityUid, RestrictedExpression};
use serde_json::Value;

use crate::error::{LoadError, Problem};
use crate::request::NAMESPACE;

/// The Cedar type of one declared argument field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ArgType {
    Long,
    String,
    Bool,
    Set(Box<ArgType>),
}

impl ArgType {
    fn name(&self) -> String {
        match self {
            Self::Long => "Long".into(),
            Self::String => "String".into(),
            Self::Bool => "Bool".into(),
            Self::Set(inner) => format!("Set<{}>", inner.name()),
        }
    }

    /// Reads a type from the schema's JSON form.
    fn from_json(ty: &Value) -> Option<Self> {
        let kind = ty.get("type")?.as_str()?;
        let name = match kind {
            "EntityOrCommon" => ty.get("name")?.as_str()?,
            other => other,
        };
        match name.trim_start_matches("__cedar::") {
            "Long" => Some(Self::Long),
            "String" => Some(Self::String),
            "Bool" | "Boolean" => Some(Self::Bool),
            "Set" => Self::from_json(ty.get("element")?).map(|t| Self::Set(Box::new(t))),
            _ => None,
        }
    }

    fn to_cedar(&self, v: &Value) -> Option<RestrictedExpression> {
        match (self, v) {
            (Self::Long, Value::Number(n)) => n.as_i64().map(RestrictedExpression::new_long),
            (Self::String, Value::String(s)) => Some(RestrictedExpression::new_string(s.clone())),
            (Self::Bool, Value::Bool(b)) => Some(RestrictedExpression::new_bool(*b)),
            (Self::Set(inner), Value::Array(items)) => items
                .iter()
                .map(|i| inner.to_cedar(i))
                .collect::<Option<Vec<_>>>()
                .map(RestrictedExpression::new_set),
            _ => None,
        }
    }
}

/// The argument fields policies may read, sorted by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct ArgumentFields {
    fields: Vec<(String, ArgType)>,
}

impl ArgumentFields {
    /// Finds `Portcullis::Arguments` in the schema fragments (JSON form).
    pub(crate) fn from_schema_json(fragments: &[(PathBuf, Value)]) -> Result<Self, LoadError> {
        let mut problems = Vec::new();
        let mut fields = Vec::new();
        for (path, json) in fragments {
            let Some(attrs) = json
                .get(NAMESPACE)
                .and_then(|ns| ns.get("commonTypes"))
                .and_then(|types| types.get("Arguments"))
                .and_then(|args| args.get("attributes"))
                .and_then(Value::as_object)
            else {
                continue;
            };
            for (name, ty) in attrs {
                let at = |message: String| Problem::in_file(path, None, message);
                if ty.get("required").and_then(Value::as_bool) != Some(false) {
                    problems.push(at(format!(
                        "argument field `{name}` must be optional (`{name}?: ...`): a call may omit it"
                    )));
                    continue;
                }
                match ArgType::from_json(ty) {
                    Some(t) => fields.push((name.clone(), t)),
                    None => problems.push(at(format!(
                        "argument field `{name}` has an unsupported type: use Long, String, Bool or a Set of those"
                    ))),
                }
            }
        }
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Self { fields })
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(n, _)| n.as_str())
    }

    /// The `arguments` record, or an error naming the argument whose type is wrong.
    fn to_cedar(
        &self,
        args: &serde_json::Map<String, Value>,
    ) -> Result<RestrictedExpression, String> {
        let mut record = Vec::new();
        for (name, ty) in &self.fields {
            let Some(value) = args.get(name) else {
                continue;
            };
            let Some(expr) = ty.to_cedar(value) else {
                return Err(format!(
                    "argument `{name}` is {}, but policies read it as {}",
                    json_kind(value),
                    ty.name()
                ));
            };
            record.push((name.clone(), expr));
        }
        RestrictedExpression::new_record(record).map_err(|e| e.to_string())
    }

    /// Appends the declared arguments, canonically, to a cache key.
    pub(crate) fn key_bytes(&self, args: &serde_json::Map<String, Value>, out: &mut Vec<u8>) {
        for (name, _) in &self.fields {
            if let Some(value) = args.get(name) {
                push_str(out, name);
                // Declared fields are scalars or arrays of scalars: this rendering is canonical.
                push_str(out, &value.to_string());
            }
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() => "an integer",
        Value::Number(_) => "a number that is not a 64-bit integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A length-prefixed string in a cache key: no two different inputs share bytes.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The facts of one call, shared by every sub-decision of a request.
#[derive(Debug)]
pub(crate) struct CallFacts {
    pub(crate) tenant: EntityUid,
    pub(crate) input_valid: bool,
    pub(crate) arguments: RestrictedExpression,
    pub(crate) chain: Vec<EntityUid>,
    pub(crate) approved: bool,
    pub(crate) on_behalf_of: Option<EntityUid>,
    pub(crate) target: crate::request::Target,
}

impl CallFacts {
    pub(crate) fn arguments(
        fields: &ArgumentFields,
        args: &serde_json::Map<String, Value>,
    ) -> Result<RestrictedExpression, String> {
        fields.to_cedar(args)
    }

    /// The context for one sub-decision: `depth` hops between its principal and the caller.
    pub(crate) fn context(&self, depth: usize, approved: bool) -> Result<Context, String> {
        let delegation = RestrictedExpression::new_record([
            (
                "depth".to_owned(),
                RestrictedExpression::new_long(i64::try_from(depth).unwrap_or(i64::MAX)),
            ),
            (
                "chain".to_owned(),
                RestrictedExpression::new_set(
                    self.chain
                        .iter()
                        .cloned()
                        .map(RestrictedExpression::new_entity_uid),
                ),
            ),
        ])
        .map_err(|e| e.to_string())?;
        let approval = RestrictedExpression::new_record([(
            "approved".to_owned(),
            RestrictedExpression::new_bool(approved || self.approved),
        )])
        .map_err(|e| e.to_string())?;
        let target = RestrictedExpression::new_record([
            (
                "name".to_owned(),
                RestrictedExpression::new_string(self.target.name.clone()),
            ),
            (
                "uri".to_owned(),
                RestrictedExpression::new_string(self.target.uri.clone()),
            ),
        ])
        .map_err(|e| e.to_string())?;
        let mut pairs = vec![
            (
                "tenant".to_owned(),
                RestrictedExpression::new_entity_uid(self.tenant.clone()),
            ),
            (
                "input_valid".to_owned(),
                RestrictedExpression::new_bool(self.input_valid),
            ),
            ("arguments".to_owned(), self.arguments.clone()),
            ("delegation".to_owned(), delegation),
            ("approval".to_owned(), approval),
            ("target".to_owned(), target),
        ];
        if let Some(user) = &self.on_behalf_of {
            pairs.push((
                "on_behalf_of".to_owned(),
                RestrictedExpression::new_entity_uid(user.clone()),
            ));
        }
        Context::from_pairs(pairs).map_err(|e| e.to_string())
    }
}
