//! OpenAI request bodies as vLLM accepts them: lenient, unknown fields ignored.

use serde::Deserialize;
use serde_json::Value;

/// `POST /v1/completions`.
#[derive(Debug, Deserialize)]
pub(super) struct CompletionRequest {
    pub(super) model: String,
    /// A string, a list of strings, or token ids.
    pub(super) prompt: Value,
    #[serde(flatten)]
    pub(super) sampling: Sampling,
}

/// `POST /v1/chat/completions`.
#[derive(Debug, Deserialize)]
pub(super) struct ChatRequest {
    pub(super) model: String,
    pub(super) messages: Vec<Message>,
    /// The newer name of `max_tokens`, which wins when both are given.
    pub(super) max_completion_tokens: Option<u32>,
    #[serde(flatten)]
    pub(super) sampling: Sampling,
}

/// The fields both endpoints share. Being flattened, they lose their names in serde's
/// errors, so each is read by a function that names it.
#[derive(Debug, Deserialize)]
pub(super) struct Sampling {
    #[serde(default, deserialize_with = "max_tokens")]
    pub(super) max_tokens: Option<u32>,
    #[serde(default, deserialize_with = "stream")]
    pub(super) stream: bool,
    #[serde(default, deserialize_with = "stream_options")]
    pub(super) stream_options: Option<StreamOptions>,
    #[serde(default, deserialize_with = "n")]
    pub(super) n: Option<u32>,
    /// vLLM's extension: generate `max_tokens` whatever the model would say.
    #[serde(default, deserialize_with = "ignore_eos")]
    pub(super) ignore_eos: bool,
}

/// A function that deserializes a field of [`Sampling`], naming it in its errors.
macro_rules! named {
    ($field:ident: $ty:ty) => {
        fn $field<'de, D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
            <$ty>::deserialize(d)
                .map_err(|e| serde::de::Error::custom(format_args!("{}: {e}", stringify!($field))))
        }
    };
}
named!(max_tokens: Option<u32>);
named!(stream: bool);
named!(stream_options: Option<StreamOptions>);
named!(n: Option<u32>);
named!(ignore_eos: bool);

/// A chat message; only its text matters here.
#[derive(Debug, Deserialize)]
pub(super) struct Message {
    #[allow(dead_code)]
    pub(super) role: String,
    /// A string or a list of content parts.
    #[serde(default)]
    pub(super) content: Value,
}

/// `stream_options`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct StreamOptions {
    #[serde(default)]
    pub(super) include_usage: bool,
}

/// Approximate prompt tokens of some text: about four characters a token, as
/// OpenAI's rule of thumb for English (the simulator has no tokenizer).
pub(super) fn text_tokens(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(4))
        .unwrap_or(u32::MAX)
        .max(1)
}

/// Prompt tokens of a completion `prompt`: a string, strings, or token ids.
pub(super) fn prompt_tokens(prompt: &Value) -> Option<u32> {
    match prompt {
        Value::String(s) => Some(text_tokens(s)),
        Value::Array(items) if items.iter().all(Value::is_u64) => {
            u32::try_from(items.len()).ok().filter(|&n| n > 0)
        }
        Value::Array(items) => items.iter().map(|i| i.as_str().map(text_tokens)).sum(),
        _ => None,
    }
}

/// Prompt tokens of a conversation, with a few tokens per message for the chat template.
pub(super) fn chat_tokens(messages: &[Message]) -> u32 {
    let text: u32 = messages
        .iter()
        .map(|m| match &m.content {
            Value::String(s) => text_tokens(s),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .map(text_tokens)
                .sum(),
            _ => 0,
        })
        .sum();
    text + 4 * u32::try_from(messages.len()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prompts_of_every_shape_are_counted() {
        assert_eq!(prompt_tokens(&json!("abcdefgh")), Some(2));
        assert_eq!(prompt_tokens(&json!([1, 2, 3])), Some(3));
        assert_eq!(prompt_tokens(&json!(["abcd", "abcdefgh"])), Some(3));
        assert_eq!(prompt_tokens(&json!(42)), None);
        assert_eq!(prompt_tokens(&json!([])), None);
        let messages: Vec<Message> = serde_json::from_value(json!([
            {"role": "system", "content": "abcd"},
            {"role": "user", "content": [{"type": "text", "text": "abcdefgh"}]}
        ]))
        .unwrap();
        assert_eq!(chat_tokens(&messages), 3 + 8);
    }
}
