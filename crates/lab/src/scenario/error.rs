//! Errors in scenario files, located to the line, column and field.

use std::fmt;

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file (or built-in scenario) name.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// The field, as a path like `pods[1].engine.max_model_len`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ScenarioError {
    /// An error whose field and message are kept to one line: control characters a
    /// file's keys or values carry into them (a key spanning lines, say) are escaped,
    /// and a field that is only blanks (a key of spaces) is quoted.
    pub fn new(
        file: &str,
        (line, column): (u64, u64),
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let mut field = one_line(field.into());
        if field.trim().is_empty() {
            field = format!("{field:?}");
        }
        ScenarioError {
            file: file.to_owned(),
            line,
            column,
            field,
            message: one_line(message.into()),
        }
    }
}

/// `text` with its control characters escaped (`\n`, `\u{7}`).
fn one_line(text: String) -> String {
    if !text.contains(char::is_control) {
        return text;
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.field, self.message
        )
    }
}

/// Every problem found in one scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_messages_stay_on_one_line() {
        let e = ScenarioError::new("f.yaml", (1, 2), "---\n!!str", "unknown field `a\r\nb`\t");
        assert_eq!(e.field, "---\\n!!str");
        assert_eq!(
            e.to_string(),
            "f.yaml:1:2: ---\\n!!str: unknown field `a\\r\\nb`\\t"
        );
        assert_eq!(e.to_string().lines().count(), 1);
        let e = ScenarioError::new("f.yaml", (1, 1), "  ", "unknown field `  `");
        assert_eq!(e.field, "\"  \"");
    }
}
