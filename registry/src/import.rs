//! Bulk import and export: the registry as JSON lines, one `{"nhi": …}` (a record as stored)
//! or `{"relation": …}` per line. An import is checked whole before anything is written.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use portcullis_policy::check_tenant_id;

use crate::model::{Nhi, NhiKind, Relation, RelationKind, validate_input_schema};
use crate::snapshot::Snapshot;

/// The longest name the admin API accepts; imports hold to the same.
const MAX_NAME: usize = 200;

/// One line of an import or export file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Line {
    Nhi(Box<Nhi>),
    Relation(Relation),
}

/// What an import adds: new records and the relations between them (or existing ones).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub nhis: Vec<Nhi>,
    pub relations: Vec<Relation>,
}

/// Reads JSON lines (blank lines are skipped). An error names the line and what is wrong.
pub fn read(input: impl BufRead) -> Result<Batch, String> {
    let mut batch = Batch::default();
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(&line).map_err(|e| format!("line {}: {e}", n + 1))? {
            Line::Nhi(nhi) => batch.nhis.push(*nhi),
            Line::Relation(r) => batch.relations.push(r),
        }
    }
    Ok(batch)
}

/// Writes a snapshot as JSON lines: every record, then every relation.
pub fn write(snapshot: &Snapshot, mut out: impl Write) -> std::io::Result<()> {
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum LineRef<'a> {
        Nhi(&'a Nhi),
        Relation(&'a Relation),
    }
    for nhi in &snapshot.nhis {
        serde_json::to_writer(&mut out, &LineRef::Nhi(nhi))?;
        out.write_all(b"\n")?;
    }
    for r in &snapshot.relations {
        serde_json::to_writer(&mut out, &LineRef::Relation(r))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Checks a batch against itself and the registry it goes into: record ids are new and
/// unique (across tenants), tenant ids are valid ([`check_tenant_id`]), names are set, tool
/// input schemas compile, and every relation joins NHIs of its tenant (from the batch or the
/// registry) the way the admin API allows.
pub fn check(batch: &Batch, existing: &Snapshot) -> Result<(), String> {
    let mut kinds: HashMap<(&str, Uuid), NhiKind> = existing
        .nhis
        .iter()
        .map(|n| ((n.tenant(), n.id()), n.kind()))
        .collect();
    let mut ids: HashSet<Uuid> = existing.nhis.iter().map(Nhi::id).collect();
    for nhi in &batch.nhis {
        let c = nhi.common();
        let what = format!("{} `{}`", nhi.kind().label(), c.id);
        if !ids.insert(c.id) {
            return Err(format!("{what}: the id is already taken"));
        }
        if c.tenant_id.trim().is_empty() {
            return Err(format!("{what}: `tenant_id` must not be empty"));
        }
        check_tenant_id(&c.tenant_id).map_err(|e| format!("{what}: invalid `tenant_id`: {e}"))?;
        if c.name.trim().is_empty() || c.name.len() > MAX_NAME {
            return Err(format!("{what}: `name` must be 1 to {MAX_NAME} bytes"));
        }
        if let Nhi::Tool(t) = nhi {
            validate_input_schema(&t.fields.input_schema).map_err(|e| format!("{what}: {e}"))?;
        }
        kinds.insert((c.tenant_id.as_str(), c.id), nhi.kind());
    }
    for r in &batch.relations {
        let what = format!(
            "{} relation `{}` → `{}` in `{}`",
            r.kind.as_str(),
            r.source,
            r.target,
            r.tenant_id
        );
        check_tenant_id(&r.tenant_id).map_err(|e| format!("{what}: invalid `tenant_id`: {e}"))?;
        let kind_of = |id: &str| {
            Uuid::parse_str(id)
                .ok()
                .and_then(|id| kinds.get(&(r.tenant_id.as_str(), id)).copied())
        };
        let Some(source) = kind_of(&r.source) else {
            return Err(format!("{what}: no such NHI `{}` in the tenant", r.source));
        };
        let target = (r.kind != RelationKind::User)
            .then(|| kind_of(&r.target))
            .flatten();
        if !r.fits(Some(source), target) {
            return Err(format!(
                "{what}: not a valid {} relation (wrong kinds, an unknown target, or a user \
                 permission without a level)",
                r.kind.as_str()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
