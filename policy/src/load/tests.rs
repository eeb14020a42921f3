use std::path::{Path, PathBuf};

use super::PolicyBundle;
use crate::error::LoadError;

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

fn schema() -> (PathBuf, String) {
    let path = shipped().join("portcullis.cedarschema");
    let text = std::fs::read_to_string(&path).expect("shipped schema");
    (path, text)
}

fn load_with(policy: &str) -> Result<PolicyBundle, LoadError> {
    let file = (PathBuf::from("team/extra.cedar"), policy.to_owned());
    PolicyBundle::from_sources(&[schema()], &[file])
}

fn only_problem(policy: &str) -> crate::Problem {
    let err = load_with(policy).expect_err("the policy must not load");
    assert!(!err.problems.is_empty());
    err.problems[0].clone()
}

#[test]
fn shipped_policies_load_with_stable_ids() {
    let bundle = PolicyBundle::load(&shipped()).expect("shipped policies load");
    assert!(bundle.len() >= 10);
    let grant = bundle.policy("tool-grant").expect("tool-grant is shipped");
    assert!(grant.file.ends_with("grants/tools.cedar"));
    assert!(!grant.forbid);
    let approval = bundle
        .policy("tool-requires-approval")
        .expect("approval policy");
    assert_eq!(approval.obligation, Some(crate::Obligation::HumanApproval));
    let fields: Vec<_> = bundle.argument_fields().collect();
    assert!(fields.contains(&"amount"));
}

#[test]
fn attribute_typo_names_file_line_and_policy() {
    let p = only_problem(
        "@id(\"typo\")\npermit (principal, action == Portcullis::Action::\"call_tool\", resource)\nwhen { principal.toolz.contains(resource) };\n",
    );
    assert_eq!(p.file.as_deref(), Some(Path::new("team/extra.cedar")));
    assert_eq!(p.line, Some(3));
    assert_eq!(p.policy_id.as_deref(), Some("typo"));
    assert!(p.message.contains("toolz"), "{}", p.message);
}

#[test]
fn unknown_entity_type_is_an_error() {
    let p = only_problem(
        "\n\n@id(\"robot\")\npermit (principal == Portcullis::Robot::\"r2\", action, resource);\n",
    );
    assert_eq!(p.line, Some(4));
    assert!(p.message.contains("Portcullis::Robot"), "{}", p.message);
}

#[test]
fn missing_id_is_an_error_at_the_policy() {
    let p = only_problem(
        "@id(\"fine\")\npermit (principal, action, resource);\n\npermit (principal, action, resource);\n",
    );
    assert_eq!(p.line, Some(4));
    assert!(p.message.contains("@id"), "{}", p.message);
}

#[test]
fn syntax_error_names_the_line() {
    let p = only_problem(
        "@id(\"broken\")\npermit (principal, action, resource)\nwhen { principal.lifecycle == };\n",
    );
    assert_eq!(p.line, Some(3));
    assert_eq!(p.file.as_deref(), Some(Path::new("team/extra.cedar")));
}

#[test]
fn duplicate_id_names_both_places() {
    let p = only_problem(
        "@id(\"twice\")\npermit (principal, action, resource);\n@id(\"twice\")\nforbid (principal, action, resource);\n",
    );
    assert_eq!(p.line, Some(3));
    assert!(p.message.contains("team/extra.cedar:1"), "{}", p.message);
}

#[test]
fn enum_typo_fails_validation() {
    let p = only_problem(
        "@id(\"x\")\nforbid (principal, action, resource)\nunless { principal.lifecycle == Portcullis::Lifecycle::\"actve\" };\n",
    );
    assert!(p.message.contains("actve"), "{}", p.message);
}

#[test]
fn obligations_are_checked() {
    let unknown = only_problem(
        "@id(\"x\")\n@obligation(\"coffee\")\nforbid (principal, action, resource);\n",
    );
    assert!(unknown.message.contains("coffee"));
    let on_permit = only_problem(
        "@id(\"x\")\n@obligation(\"human_approval\")\npermit (principal, action, resource);\n",
    );
    assert!(
        on_permit.message.contains("forbid"),
        "{}",
        on_permit.message
    );
}

#[test]
fn templates_are_refused() {
    let p = only_problem("@id(\"t\")\npermit (principal == ?principal, action, resource);\n");
    assert!(p.message.contains("templates"), "{}", p.message);
}

#[test]
fn argument_fields_must_be_optional_and_simple() {
    let (path, text) = schema();
    let required = text.replace("amount?: Long", "amount: Long");
    let err =
        PolicyBundle::from_sources(&[(path.clone(), required)], &[]).expect_err("required field");
    assert!(err.problems[0].message.contains("must be optional"));
    let record = text.replace("amount?: Long", "amount?: { value: Long }");
    let err = PolicyBundle::from_sources(&[(path, record)], &[]).expect_err("record field");
    assert!(err.problems[0].message.contains("unsupported type"));
}

#[test]
fn a_directory_without_schema_does_not_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("a.cedar"),
        "@id(\"a\")\npermit (principal, action, resource);\n",
    )
    .expect("write");
    let err = PolicyBundle::load(dir.path()).expect_err("no schema");
    assert!(err.problems[0].message.contains("cedarschema"));
}

#[test]
fn schema_syntax_error_names_the_schema_file() {
    let (path, text) = schema();
    let broken = text.replacen("entity Tenant;", "entity Tenant", 1);
    let err =
        PolicyBundle::from_sources(&[(path.clone(), broken)], &[]).expect_err("broken schema");
    assert_eq!(err.problems[0].file.as_deref(), Some(path.as_path()));
    assert!(err.problems[0].line.is_some());
}
