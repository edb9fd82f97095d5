//! The OpenAI response bodies as vLLM's server writes them, field for field (its
//! `null`s included): completions and chat completions, whole or as stream chunks,
//! and the model list.

use serde::Serialize;

/// `GET /v1/models`: the pod's one model.
#[derive(Serialize)]
pub(super) struct ModelList<'a> {
    pub(super) object: &'static str,
    pub(super) data: [ModelCard<'a>; 1],
}

/// One model of [`ModelList`].
#[derive(Serialize)]
pub(super) struct ModelCard<'a> {
    pub(super) id: &'a str,
    pub(super) object: &'static str,
    pub(super) created: u64,
    pub(super) owned_by: &'static str,
    pub(super) root: &'a str,
    pub(super) parent: Option<()>,
    pub(super) max_model_len: u32,
}

/// A completion or chat completion, whole or one stream chunk.
#[derive(Serialize)]
pub(super) struct Completion<'a> {
    pub(super) id: &'a str,
    pub(super) object: &'static str,
    pub(super) created: u64,
    pub(super) model: &'a str,
    pub(super) choices: Vec<Choice<'a>>,
    /// Always on a whole answer; on a stream, only its last chunk when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) usage: Option<Usage>,
}

/// One choice of a [`Completion`], in the shape of its endpoint and delivery.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum Choice<'a> {
    /// `/v1/completions`, whole.
    Text {
        index: u32,
        text: &'a str,
        logprobs: Option<()>,
        finish_reason: &'static str,
        stop_reason: Option<()>,
        prompt_logprobs: Option<()>,
    },
    /// `/v1/chat/completions`, whole.
    Message {
        index: u32,
        message: Message<'a>,
        logprobs: Option<()>,
        finish_reason: &'static str,
        stop_reason: Option<()>,
    },
    /// `/v1/completions`, a stream chunk.
    TextChunk {
        index: u32,
        text: &'a str,
        logprobs: Option<()>,
        finish_reason: Option<&'static str>,
        stop_reason: Option<()>,
    },
    /// `/v1/chat/completions`, a stream chunk.
    Delta {
        index: u32,
        delta: Delta<'a>,
        logprobs: Option<()>,
        finish_reason: Option<&'static str>,
    },
}

/// The assistant's message of a whole chat completion.
#[derive(Serialize)]
pub(super) struct Message<'a> {
    pub(super) role: &'static str,
    pub(super) reasoning_content: Option<()>,
    pub(super) content: &'a str,
    pub(super) tool_calls: [(); 0],
}

/// What a chat stream chunk adds: the role on the first, text after it.
#[derive(Serialize)]
pub(super) struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) role: Option<&'static str>,
    pub(super) content: &'a str,
}

/// Token counts of an answer.
#[derive(Serialize)]
pub(super) struct Usage {
    pub(super) prompt_tokens: u32,
    pub(super) total_tokens: u32,
    pub(super) completion_tokens: u32,
    pub(super) prompt_tokens_details: Option<()>,
}
