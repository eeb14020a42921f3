//! `portcullis policy validate | test | explain`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use portcullis_policy::{
    CaseFile, EngineConfig, EntitySpec, Explanation, PolicyBundle, Request, run_case_file,
};
use serde::Deserialize;

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Load and strictly validate a policy directory (schema + every `*.cedar` file).
    Validate {
        /// The policy directory.
        #[arg(default_value = "policies")]
        dir: PathBuf,
    },
    /// Run decision test cases (`*.yaml`, `*.yml`, `*.json`) against the policies.
    Test {
        /// A directory of case files, or one case file.
        #[arg(default_value = "policies/tests")]
        cases: PathBuf,
        /// The policy directory (default: the parent of a `tests` directory, else `policies`).
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// Decide one request and show the decision, the policies behind it (with file and line)
    /// and any errors. A name in the file that refers to nothing in its `entities` (a typo)
    /// is an error, found before anything is decided.
    Explain {
        /// A YAML or JSON file with `entities` and `request` (`-` reads standard input).
        input: PathBuf,
        /// The policy directory.
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
        /// Print the decision as JSON: `allow`, `reasons` (each `policy`, `file`, `line`),
        /// `obligations`, `errors`.
        #[arg(long)]
        json: bool,
    },
}

impl PolicyCommand {
    pub(crate) fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            Self::Validate { dir } => validate(&dir),
            Self::Test { cases, policies } => test(&cases, policies.as_deref()),
            Self::Explain {
                input,
                policies,
                json,
            } => explain(&input, &policies, json),
        }
    }
}

fn load(dir: &Path) -> Result<PolicyBundle, ExitCode> {
    PolicyBundle::load(dir).map_err(|e| {
        for p in &e.problems {
            eprintln!("error: {p}");
        }
        eprintln!(
            "{} problem(s): {} does not load",
            e.problems.len(),
            dir.display()
        );
        ExitCode::FAILURE
    })
}

fn validate(dir: &Path) -> anyhow::Result<ExitCode> {
    let bundle = match load(dir) {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    for w in bundle.warnings() {
        eprintln!("warning: {w}");
    }
    println!(
        "{}: {} policies valid against the schema ({} warning(s))",
        dir.display(),
        bundle.len(),
        bundle.warnings().len()
    );
    Ok(ExitCode::SUCCESS)
}

fn test(cases: &Path, policies: Option<&Path>) -> anyhow::Result<ExitCode> {
    let policy_dir = match policies {
        Some(p) => p.to_path_buf(),
        None if cases.is_dir() && cases.file_name().is_some_and(|n| n == "tests") => {
            cases.parent().unwrap_or(Path::new(".")).to_path_buf()
        }
        None => PathBuf::from("policies"),
    };
    let files = case_files(cases)?;
    if files.is_empty() {
        anyhow::bail!(
            "no case files (*.yaml, *.yml, *.json) in {}",
            cases.display()
        );
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let bundle = match load(&policy_dir) {
            Ok(b) => b,
            Err(code) => return Ok(code),
        };
        let parsed = match CaseFile::read(file) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("FAIL {e}");
                failed += 1;
                continue;
            }
        };
        let report = match run_case_file(bundle, &parsed) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("FAIL {}: {e}", file.display());
                failed += 1;
                continue;
            }
        };
        for o in &report.outcomes {
            match &o.failure {
                None => println!("ok   {} :: {}", file.display(), o.name),
                Some(why) => println!("FAIL {} :: {}: {why}", file.display(), o.name),
            }
        }
        passed += report.passed();
        failed += report.failed();
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn case_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in
        std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))?
    {
        let p = entry?.path();
        if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// The input of `policy explain`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExplainInput {
    #[serde(default)]
    entities: EntitySpec,
    request: Request,
}

fn explain(input: &Path, policies: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let text = if input == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(input)
            .with_context(|| format!("cannot read {}", input.display()))?
    };
    let parsed: ExplainInput =
        serde_yaml::from_str(&text).with_context(|| format!("{}", input.display()))?;
    // A misspelt name is not an error to the engine but another question (a grant of a tool
    // that does not exist, a request in a tenant nobody is in), answered with reasons that
    // send the reader elsewhere: refuse it first, naming it.
    let unknown = parsed.entities.unknown_references(&parsed.request);
    if !unknown.is_empty() {
        for problem in &unknown {
            eprintln!("error: {}: {problem}", input.display());
        }
        return Ok(ExitCode::FAILURE);
    }
    let bundle = match load(policies) {
        Ok(b) => b,
        Err(code) => return Ok(code),
    };
    let declared: Vec<String> = bundle.argument_fields().map(str::to_owned).collect();
    for name in parsed.request.arguments.keys() {
        if !declared.contains(name) {
            eprintln!(
                "note: argument `{name}` is not declared in the schema's `Arguments` ({}): no policy reads it",
                declared.join(", ")
            );
        }
    }
    let engine = portcullis_policy::Engine::new(bundle, EngineConfig::default());
    engine.set_directory(std::sync::Arc::new(parsed.entities.directory(1)?));
    if let Err(e) = engine.validate_request(&parsed.request) {
        anyhow::bail!("the request does not fit the schema: {e}");
    }
    let decision = engine.decide_uncached(&parsed.request);
    let explained = engine.with_bundle(|b| Explanation::new(b, &decision));
    if json {
        println!("{}", serde_json::to_string_pretty(&explained)?);
    } else {
        print_explanation(&explained);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_explanation(d: &Explanation) {
    println!("decision: {}", if d.allow { "allow" } else { "deny" });
    if d.reasons.is_empty() {
        if !d.allow && d.errors.is_empty() {
            println!("reasons: none (default deny: no permit policy applies)");
        }
    } else {
        println!("reasons:");
        for reason in &d.reasons {
            println!("  {reason}");
        }
    }
    if !d.obligations.is_empty() {
        let names: Vec<_> = d.obligations.iter().map(|o| o.as_str()).collect();
        println!("obligations: {} (allowed once met)", names.join(", "));
    }
    if !d.errors.is_empty() {
        println!("errors (any error denies):");
        for e in &d.errors {
            println!("  {e}");
        }
    }
}
