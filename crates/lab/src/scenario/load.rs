//! Reading scenario text: YAML parsing with located errors, then validation.

use std::path::Path;

use super::error::{ScenarioError, ScenarioErrors};
use super::schema::ScenarioFile;
use super::{Scenario, validate};

/// Parses and validates a scenario; `file` names it in errors.
pub fn load(text: &str, file: &str) -> Result<Scenario, ScenarioErrors> {
    let mut path = String::new();
    let parsed: Result<ScenarioFile, serde_saphyr::Error> =
        serde_saphyr::with_deserializer_from_str(text, |de| {
            serde_path_to_error::deserialize(de).map_err(|e| {
                path = e.path().to_string();
                e.into_inner()
            })
        });
    match parsed {
        Ok(raw) => validate::validate(raw, file),
        Err(e) => Err(ScenarioErrors(vec![parse_error(&e, &path, file)])),
    }
}

/// Reads and loads a scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioErrors> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        let message = format!("cannot read: {e}");
        ScenarioErrors(vec![ScenarioError::new(&file, (0, 0), "(file)", message)])
    })?;
    load(&text, &file)
}

fn parse_error(e: &serde_saphyr::Error, path: &str, file: &str) -> ScenarioError {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    if let serde_saphyr::Error::Budget { breach, .. } = e {
        let message = budget_message(&format!("{breach:?}"));
        return ScenarioError::new(file, (line, column), "(document)", message);
    }
    let text = e.without_snippet().to_string();
    let message = match text.rsplit_once(" at line ") {
        Some((msg, _)) => msg,
        None => &text,
    };
    // The parser's limits, met inside a field, come as its Debug text.
    let budget;
    let message = match message.strip_prefix("budget breached: ") {
        Some(breach) => {
            budget = budget_message(breach);
            budget.as_str()
        }
        None => message,
    };
    // The parser's advice to its caller is no use to the author of the file.
    let message = message
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(message)
        .to_owned();
    // Spanned fields add a `.value` step to the path that the file does not have, and
    // steps the parser could not name show as `?`.
    let mut field = path
        .split('.')
        .filter(|step| !step.is_empty() && *step != "value" && *step != "?")
        .collect::<Vec<_>>()
        .join(".");
    if let Some(missing) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        field = if field.is_empty() {
            missing.to_owned()
        } else {
            format!("{field}.{missing}")
        };
    }
    if field.is_empty() {
        field = "(document)".to_owned();
    }
    ScenarioError::new(file, (line, column), field, message)
}

/// A sentence for a breach of the parser's limits, given as its Debug text
/// (`Nodes { nodes: 250001 }`).
fn budget_message(breach: &str) -> String {
    let (limit, count) = match breach.split_once(" {") {
        Some((name, rest)) => (
            name.to_lowercase(),
            rest.split(|c: char| !c.is_ascii_digit())
                .find(|n| !n.is_empty())
                .unwrap_or("too many")
                .to_owned(),
        ),
        None => (breach.to_lowercase(), "too many".to_owned()),
    };
    format!(
        "the file is larger than a scenario can be: {count} YAML {limit} reached the parser's limit (look for aliases that expand without end, or generated text)"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_breached_parser_limit_reads_as_a_sentence() {
        let builtin = crate::scenario::BUILTIN[0].1;
        let mut text = builtin[..builtin.find("expect:").unwrap()].to_owned();
        text.push_str("expect:\n");
        text.push_str(&"  - {panel: 1, skip: x}\n".repeat(60_000));
        let errors = super::load(&text, "big.yaml").unwrap_err().to_string();
        assert!(
            errors.contains(": the file is larger than a scenario can be: 250001 YAML nodes reached the parser's limit"),
            "{errors}"
        );
        assert!(!errors.contains("Nodes {"), "{errors}");
    }
}
