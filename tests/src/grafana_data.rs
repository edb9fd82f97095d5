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

/// The differential tests' cases, seeded: xorshift64*, the same cases on every run.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.bits() % n as u64) as usize
    }
    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.bits() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
    /// A value a panel might hold: small integers (repeats), round numbers, floats of
    /// any size and sign, zero and the infinities.
    pub fn value(&mut self) -> f64 {
        match self.below(10) {
            0 => self.below(5) as f64,
            1 => self.pick(&[0.0, 1.0, -1.0, 0.5, 2.25, 50.0, 80.0, 90.0, 100.0]),
            2 => self.pick(&[f64::INFINITY, f64::NEG_INFINITY]),
            3 => (self.unit() * 200.0 - 100.0).round() / 4.0,
            _ => {
                let magnitude = 10f64.powi(self.below(24) as i32 - 9);
                let v = self.unit() * 10.0 * magnitude;
                if self.chance(20) { -v } else { v }
            }
        }
    }
    /// A series: 0-8 values, some null (NaN).
    pub fn series(&mut self) -> Vec<f64> {
        let n = self.below(9);
        (0..n)
            .map(|_| {
                if self.chance(15) {
                    f64::NAN
                } else {
                    self.value()
                }
            })
            .collect()
    }
}
