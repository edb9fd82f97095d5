//! Asking Grafana's own frontend code: the Node scripts of `tests/grafana-data`, which
//! run the npm packages its package.json pins (`@grafana/data`, `@grafana/lezer-logql`),
//! as `scripts/test` installs them with `npm ci`.
//!
//! Each script reads one JSON document on stdin and prints one on stdout; exit status 2
//! means it cannot run (Node.js or the pinned packages missing), which [`ask`] turns
//! into a `SKIP:` line (a failure under CI, see [`crate::skip`]).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{repo_root, skip};

/// What `tests/grafana-data/<script>` answers to `input`, or `None` after a SKIP line
/// when Node.js or the pinned packages are missing. Panics, with the script's stderr,
/// when the script fails otherwise.
pub fn ask(script: &str, input: &Value) -> Option<Value> {
    let dir = repo_root().join("tests/grafana-data");
    let setup = format!(
        "install Node.js and npm (apt-get install nodejs npm), then run `npm ci` in {}",
        dir.display()
    );
    let child = Command::new("node")
        .arg(dir.join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            skip(&format!("`node` is not installed ({e}): {setup}"));
            return None;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("write {script}'s input: {e}"));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => {}
        Some(2) => {
            skip(&format!("tests/grafana-data/{script} {}", stderr.trim()));
            return None;
        }
        _ => panic!("{script} failed ({}):\n{stderr}", out.status),
    }
    Some(
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{stderr}")),
    )
}

/// One syntax error that Grafana's LogQL parser finds: an error node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogqlError {
    /// Where the error node starts, in characters from the expression's start.
    pub at: usize,
    /// The expression's text from there (up to 20 characters).
    pub near: String,
}

impl std::fmt::Display for LogqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "syntax error at character {}, near {:?}",
            self.at, self.near
        )
    }
}

/// The error nodes `@grafana/lezer-logql` puts in each of `exprs`' syntax trees, in
/// order (empty where one parses), or `None` after a SKIP line.
pub fn logql_errors(exprs: &[&str]) -> Option<Vec<Vec<LogqlError>>> {
    let answers = ask("logql.mjs", &Value::from(exprs.to_vec()))?;
    let answers = answers.as_array().expect("logql.mjs answers with an array");
    assert_eq!(answers.len(), exprs.len(), "one parse per expression");
    Some(
        answers
            .iter()
            .map(|a| {
                a["errors"]
                    .as_array()
                    .unwrap_or_else(|| panic!("no errors list in {a}"))
                    .iter()
                    .map(|e| LogqlError {
                        at: e["at"].as_u64().expect("an offset") as usize,
                        near: e["near"].as_str().expect("a text").to_owned(),
                    })
                    .collect()
            })
            .collect(),
    )
}
