//! OpenAI request bodies as vLLM accepts them: lenient, unknown fields ignored.

use serde::Deserialize;
use serde_json::Value;

use crate::lab::prompt::text_tokens;

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
    #[serde(default, deserialize_with = "max_completion_tokens")]
    pub(super) max_completion_tokens: Option<i64>,
    #[serde(flatten)]
    pub(super) sampling: Sampling,
}

/// The fields both endpoints share. Being flattened, they lose their names in serde's
/// errors, so each is read by a function that names it. Numbers and booleans are read
/// as pydantic's lax mode reads them (vLLM's request models): `"2"` and `2.0` are 2,
/// `"true"` is true; their ranges are checked later, after the model, as vLLM does.
#[derive(Debug, Deserialize)]
pub(super) struct Sampling {
    #[serde(default, deserialize_with = "max_tokens")]
    pub(super) max_tokens: Option<i64>,
    #[serde(default, deserialize_with = "stream")]
    pub(super) stream: bool,
    #[serde(default, deserialize_with = "stream_options")]
    pub(super) stream_options: Option<StreamOptions>,
    #[serde(default, deserialize_with = "n")]
    pub(super) n: Option<i64>,
    /// vLLM's extension: generate `max_tokens` whatever the model would say.
    #[serde(default, deserialize_with = "ignore_eos")]
    pub(super) ignore_eos: bool,
}

/// A function that deserializes a field of [`Sampling`], naming it in its errors.
macro_rules! named {
    ($field:ident: $ty:ty) => {
        named!($field: $ty => $ty, |v| v);
    };
    ($field:ident: $ty:ty => $out:ty, $map:expr) => {
        fn $field<'de, D: serde::Deserializer<'de>>(d: D) -> Result<$out, D::Error> {
            <$ty>::deserialize(d)
                .map($map)
                .map_err(|e| serde::de::Error::custom(format_args!("{}: {e}", stringify!($field))))
        }
    };
}
named!(max_tokens: Option<LaxInt> => Option<i64>, |v| v.map(|LaxInt(i)| i));
named!(max_completion_tokens: Option<LaxInt> => Option<i64>, |v| v.map(|LaxInt(i)| i));
named!(n: Option<LaxInt> => Option<i64>, |v| v.map(|LaxInt(i)| i));
named!(stream: Option<LaxBool> => bool, |v| v.is_some_and(|LaxBool(b)| b));
named!(ignore_eos: Option<LaxBool> => bool, |v| v.is_some_and(|LaxBool(b)| b));
named!(stream_options: Option<StreamOptions>);

/// An integer as pydantic's lax mode reads one: a JSON integer, a float without a
/// fraction, or a string holding an integer.
struct LaxInt(i64);

impl<'de> Deserialize<'de> for LaxInt {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let integer =
            |f: f64| (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64);
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().and_then(integer))
                .map(LaxInt)
                .ok_or_else(|| D::Error::custom(format_args!("{n} is not a valid integer"))),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(LaxInt)
                .map_err(|_| D::Error::custom(format_args!("{s:?} is not a valid integer"))),
            other => Err(D::Error::custom(format_args!(
                "expected an integer, got {other}"
            ))),
        }
    }
}

/// A boolean as pydantic's lax mode reads one: `true`/`false`, 0/1, or one of the
/// strings it knows (`"true"`, `"off"`, `"1"`, ...).
struct LaxBool(bool);

impl<'de> Deserialize<'de> for LaxBool {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(d)?;
        let b = match &value {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_f64() {
                Some(0.0) => Some(false),
                Some(1.0) => Some(true),
                _ => None,
            },
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
                "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
                _ => None,
            },
            _ => None,
        };
        b.map(LaxBool)
            .ok_or_else(|| D::Error::custom(format_args!("{value} is not a valid boolean")))
    }
}

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
