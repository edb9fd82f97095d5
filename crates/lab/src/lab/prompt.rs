//! What a request's prompt is to a pod's engine: how many tokens its text makes, and
//! the seed of its answers' lengths. The API server and the battery's past runs (which
//! submit to pods without HTTP) read prompts alike through here.

use serde_json::Value;

/// Approximate prompt tokens of some text: about four characters a token, as
/// OpenAI's rule of thumb for English (the simulator has no tokenizer).
pub(crate) fn text_tokens(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(4))
        .unwrap_or(u32::MAX)
        .max(1)
}

/// A stable hash of a prompt's JSON values: the same prompt gets answers of the same
/// lengths.
pub(crate) fn seed_of<'a>(parts: impl IntoIterator<Item = &'a Value>) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    for part in parts {
        part.to_string().hash(&mut hasher);
    }
    hasher.finish()
}

/// The prompt tokens and seed of a completion request whose `prompt` is the string
/// `text` (as the battery sends it).
pub(crate) fn completion_prompt(text: &str) -> (u32, u64) {
    (
        text_tokens(text),
        seed_of([&Value::String(text.to_owned())]),
    )
}
