//! Step 5: validate the arguments against the tool's pinned input schema.
//!
//! Schemas are compiled once per tool version. The validator is built without network or
//! file access, so a tool definition can never make the gateway fetch a `$ref`.

use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;
use crate::lookup::ToolEntry;

#[derive(Debug)]
pub(crate) struct Validators {
    compiled: moka::sync::Cache<(String, u64), Arc<jsonschema::Validator>>,
}

impl Default for Validators {
    fn default() -> Self {
        Self {
            compiled: moka::sync::Cache::new(10_000),
        }
    }
}

impl Validators {
    /// `Ok` when the arguments fit the schema; otherwise a message naming the offending
    /// field, for an `isError: true` result a model can correct itself from.
    pub(crate) fn check(&self, tool: &ToolEntry, arguments: &Value) -> Result<(), Error> {
        let key = (tool.id.clone(), tool.version);
        let validator = match self.compiled.get(&key) {
            Some(v) => v,
            None => {
                let v = jsonschema::validator_for(&tool.input_schema)
                    .map(Arc::new)
                    .map_err(|e| {
                        Error::InvalidArguments(format!(
                            "the input schema of `{}` does not compile: {e}",
                            tool.exposed_name
                        ))
                    })?;
                self.compiled.insert(key, v.clone());
                v
            }
        };
        let problems: Vec<String> = validator
            .iter_errors(arguments)
            .take(5)
            .map(|e| {
                let path = e.instance_path().to_string();
                if path.is_empty() {
                    format!("arguments: {e}")
                } else {
                    format!(
                        "argument `{}`: {e}",
                        path.trim_start_matches('/').replace('/', ".")
                    )
                }
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArguments(format!(
                "invalid arguments for tool `{}`: {}",
                tool.exposed_name,
                problems.join("; ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Validators;
    use crate::lookup::ToolEntry;

    fn tool(schema: serde_json::Value, version: u64) -> ToolEntry {
        ToolEntry {
            id: "t1".into(),
            exposed_name: "files_read".into(),
            upstream_name: "read".into(),
            upstream: "files".into(),
            version,
            input_schema: schema,
            description: String::new(),
            pinned: None,
            rate_limit: None,
        }
    }

    #[test]
    fn names_the_offending_field() {
        let v = Validators::default();
        let t = tool(
            json!({"type": "object", "properties": {"path": {"type": "string"}, "opts": {"type": "object", "properties": {"depth": {"type": "integer"}}}}, "required": ["path"]}),
            1,
        );
        assert!(v.check(&t, &json!({"path": "/a"})).is_ok());
        let e = v.check(&t, &json!({"path": 5})).unwrap_err().to_string();
        assert!(e.contains("argument `path`") && e.contains("string"), "{e}");
        let e = v
            .check(&t, &json!({"path": "/a", "opts": {"depth": "deep"}}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("argument `opts.depth`"), "{e}");
        let e = v.check(&t, &json!({})).unwrap_err().to_string();
        assert!(e.contains("path") && e.contains("required"), "{e}");
    }

    #[test]
    fn a_new_version_recompiles() {
        let v = Validators::default();
        let strict = tool(json!({"type": "object", "additionalProperties": false}), 1);
        assert!(v.check(&strict, &json!({"x": 1})).is_err());
        let loose = tool(json!({"type": "object"}), 2);
        assert!(v.check(&loose, &json!({"x": 1})).is_ok());
    }

    #[test]
    fn remote_refs_are_never_fetched() {
        // A listener the schema points at: if the validator fetched, it would connect here.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let v = Validators::default();
        let t = tool(
            json!({"$ref": format!("http://127.0.0.1:{port}/schema.json")}),
            1,
        );
        assert!(
            v.check(&t, &json!({})).is_err(),
            "an unresolvable remote $ref is refused"
        );
        let connection = listener.accept();
        assert!(
            matches!(&connection, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "the validator must not connect to fetch a $ref: {connection:?}"
        );
    }
}
