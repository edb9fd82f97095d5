//! Checks against schemas that packages publish, run with the pinned tools that
//! `scripts/test` installs:
//! - Grafana's dashboard model, the TypeScript types of npm's `@grafana/schema`,
//!   checked by `tests/grafana-schema/check.mjs` (what it covers: `model.ts` there);
//! - the Compose Specification, as PyPI's `check-jsonschema` ships it.
//!
//! Each helper returns `None` after a `SKIP:` line when its tool is missing (a failure
//! under CI, see [`crate::skip`]), else the problems found, empty when there are none.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{repo_root, skip};

/// The folder of the dashboard model check: its package.json pins the packages.
fn grafana_schema_dir() -> PathBuf {
    repo_root().join("tests/grafana-schema")
}

/// The problems Grafana's dashboard model finds in each of `files`, in order, each
/// naming the panel (id and title) and the JSON path.
pub fn grafana_dashboard_file_errors(files: &[&Path]) -> Option<Vec<Vec<String>>> {
    let dir = grafana_schema_dir();
    let setup = format!(
        "install Node.js and npm (apt-get install nodejs npm), then run `npm ci` in {}",
        dir.display()
    );
    let out = match Command::new("node")
        .arg(dir.join("check.mjs"))
        .arg("--json")
        .args(files)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            skip(&format!("`node` is not installed ({e}): {setup}"));
            return None;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0 | 1) => {}
        Some(2) => {
            skip(&format!("the dashboard model check {}", stderr.trim()));
            return None;
        }
        _ => panic!("check.mjs failed ({}):\n{stderr}", out.status),
    }
    let results: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check.mjs printed no JSON ({e}):\n{stderr}"));
    Some(
        results
            .iter()
            .map(|r| {
                r["errors"]
                    .as_array()
                    .expect("errors")
                    .iter()
                    .map(|e| e.as_str().expect("an error line").to_owned())
                    .collect()
            })
            .collect(),
    )
}

/// Like [`grafana_dashboard_file_errors`], for dashboards in memory.
pub fn grafana_dashboard_errors(dashboards: &[&Value]) -> Option<Vec<Vec<String>>> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let files: Vec<PathBuf> = dashboards
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let file = dir.path().join(format!("dashboard-{i}.json"));
            std::fs::write(&file, serde_json::to_string_pretty(d).unwrap()).expect("write");
            file
        })
        .collect();
    grafana_dashboard_file_errors(&files.iter().map(PathBuf::as_path).collect::<Vec<_>>())
}

/// The `check-jsonschema` version that tests/python-requirements.txt pins.
fn pinned_check_jsonschema() -> String {
    let file = repo_root().join("tests/python-requirements.txt");
    let text = std::fs::read_to_string(&file).expect("tests/python-requirements.txt");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("check-jsonschema=="))
        .expect("tests/python-requirements.txt pins check-jsonschema")
        .to_owned()
}

/// What the Compose Specification (check-jsonschema's `vendor.compose-spec`) finds
/// wrong in the Compose file `file` (YAML or JSON), one line each.
pub fn compose_errors(file: &Path) -> Option<Vec<String>> {
    let pinned = pinned_check_jsonschema();
    let setup = "python3 -m pip install -r tests/python-requirements.txt";
    let version = Command::new("python3")
        .args(["-m", "check_jsonschema", "--version"])
        .output();
    let installed = match &version {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_owned(),
        _ => {
            skip(&format!("check-jsonschema is not installed ({setup})"));
            return None;
        }
    };
    if installed != pinned {
        skip(&format!(
            "check-jsonschema {installed} is installed, {pinned} is pinned ({setup})"
        ));
        return None;
    }
    let out = Command::new("python3")
        .args([
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
        ])
        .arg(file)
        .output()
        .expect("run check-jsonschema");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => Some(Vec::new()),
        Some(1) => Some(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        _ => panic!("check-jsonschema failed ({}):\n{text}", out.status),
    }
}
