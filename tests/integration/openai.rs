//! The OpenAI API of the pods, through real HTTP: answers in vLLM's shapes (read back
//! with async-openai's response types, as its client would), requests that move the
//! pod's metrics, errors that leave the server serving.

use std::io::{BufRead, BufReader};

use async_openai::types::chat::{CreateChatCompletionResponse, CreateChatCompletionStreamResponse};
use async_openai::types::completions::CreateCompletionResponse;
use serde_json::{Value, json};
use vllm_sim::scenario::builtin;
use vllm_sim_tests::{Sim, get};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn post(url: &str, body: &str) -> (u16, Value) {
    let mut response = agent()
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_json().unwrap())
}

/// The value of a sample of the pod's 0.0.4 exposition, 0 if absent.
fn metric(sim: &Sim, pod: &str, sample: &str) -> f64 {
    let (_, _, body) = get(&format!("http://{}/metrics", sim.addr(pod)), "text/plain");
    body.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn completions_answer_in_vllm_shape_and_count_in_the_metrics() {
    let sim = Sim::start(builtin("healthy").unwrap(), 1.0);
    let base = format!("http://{}", sim.addr("mistral-7b-awq"));
    let tokens = r#"vllm:request_generation_tokens_sum{model_name="mistral-7b-awq"}"#;
    let before = metric(&sim, "mistral-7b-awq", tokens);
    let request = json!({"model": "mistral-7b-awq", "prompt": "Quantize me", "max_tokens": 12, "ignore_eos": true, "top_k": 5});
    let (status, body) = post(&format!("{base}/v1/completions"), &request.to_string());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(body["usage"]["completion_tokens"], 12);
    assert_eq!(
        body["usage"]["total_tokens"],
        body["usage"]["prompt_tokens"].as_u64().unwrap() + 12
    );
    assert!(!body["choices"][0]["text"].as_str().unwrap().is_empty());
    let typed: CreateCompletionResponse =
        serde_json::from_value(body.clone()).expect("async-openai reads the completion");
    assert_eq!(typed.usage.map(|u| u.completion_tokens), Some(12));
    // The request went through the engine: its 12 tokens show in the histogram.
    assert!(metric(&sim, "mistral-7b-awq", tokens) >= before + 12.0);

    let (status, models) = {
        let (status, _, body) = get(&format!("{base}/v1/models"), "*/*");
        (status, serde_json::from_str::<Value>(&body).unwrap())
    };
    assert_eq!(
        (status, models["data"][0]["id"].as_str()),
        (200, Some("mistral-7b-awq"))
    );
}

#[test]
fn chat_streams_server_sent_events() {
    let sim = Sim::start(builtin("healthy").unwrap(), 1.0);
    let url = format!(
        "http://{}/v1/chat/completions",
        sim.addr("mistral-7b-judge")
    );
    let request = json!({
        "model": "mistral-7b-judge",
        "messages": [{"role": "user", "content": "Score this answer."}],
        "max_tokens": 6, "ignore_eos": true, "stream": true, "stream_options": {"include_usage": true}
    });
    let response = agent().post(&url).send(request.to_string()).unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    let lines: Vec<String> = BufReader::new(response.into_body().into_reader())
        .lines()
        .map(Result::unwrap)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.last().map(String::as_str), Some("data: [DONE]"));
    let chunks: Vec<Value> = lines[..lines.len() - 1]
        .iter()
        .map(|l| serde_json::from_str(l.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let content: Vec<_> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(content.len(), 6);
    let finish: Vec<_> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["finish_reason"].as_str())
        .collect();
    assert_eq!(finish, ["length"]);
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 6);
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    for chunk in &chunks {
        let typed: Result<CreateChatCompletionStreamResponse, _> =
            serde_json::from_value(chunk.clone());
        assert!(typed.is_ok(), "async-openai cannot read {chunk}: {typed:?}");
    }
    let request = json!({"model": "mistral-7b-judge", "messages": [{"role": "user", "content": "Score."}], "max_tokens": 3});
    let (status, body) = post(&url, &request.to_string());
    assert_eq!(status, 200, "{body}");
    let typed: CreateChatCompletionResponse =
        serde_json::from_value(body).expect("async-openai reads the chat completion");
    assert_eq!(
        typed.choices[0].message.role,
        async_openai::types::chat::Role::Assistant
    );
}

#[test]
fn a_client_that_hangs_up_aborts_its_request_uncounted() {
    let quiet = vllm_sim::scenario::load(include_str!("../../bench/quiet.yaml"), "quiet.yaml")
        .expect("bench/quiet.yaml");
    let sim = Sim::start(quiet, 1.0);
    let url = format!("http://{}/v1/completions", sim.addr("mistral-7b-fp16"));
    let request = json!({"model": "mistral-7b-fp16", "prompt": "Go on", "max_tokens": 2000, "ignore_eos": true, "stream": true});
    let response = agent().post(&url).send(request.to_string()).unwrap();
    let mut reader = BufReader::new(response.into_body().into_reader());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.starts_with("data: "));
    let running = r#"vllm:num_requests_running{model_name="mistral-7b-fp16"}"#;
    assert_eq!(metric(&sim, "mistral-7b-fp16", running), 1.0);
    drop(reader);
    // The hang-up frees the batch at once, and vLLM counts an aborted request in no
    // success counter and no latency histogram.
    let left = vllm_sim_tests::eventually(std::time::Duration::from_secs(10), || {
        (metric(&sim, "mistral-7b-fp16", running) == 0.0).then_some(())
    });
    assert!(left.is_some(), "the request was not aborted");
    let (_, _, body) = get(
        &format!("http://{}/metrics", sim.addr("mistral-7b-fp16")),
        "text/plain",
    );
    assert!(!body.contains("vllm:request_success_total{"), "{body}");
    assert!(
        !body.contains("vllm:e2e_request_latency_seconds_count{"),
        "{body}"
    );
}

#[test]
fn bad_requests_get_openai_errors_and_the_pod_keeps_serving() {
    let sim = Sim::start(builtin("healthy").unwrap(), 1.0);
    let base = format!("http://{}", sim.addr("mistral-7b-lora"));
    let cases = [
        ("{not json", 400, "BadRequestError"),
        (r#"{"prompt": "no model"}"#, 400, "BadRequestError"),
        (r#"{"model": "gpt-4", "prompt": "x"}"#, 404, "NotFoundError"),
        (
            r#"{"model": "mistral-7b-lora", "prompt": "x", "max_tokens": 100000}"#,
            400,
            "BadRequestError",
        ),
        (
            r#"{"model": "mistral-7b-lora", "prompt": "x", "n": 0}"#,
            400,
            "BadRequestError",
        ),
    ];
    for (body, status, kind) in cases {
        let (got, error) = post(&format!("{base}/v1/completions"), body);
        assert_eq!(
            (got, error["type"].as_str()),
            (status, Some(kind)),
            "{body}: {error}"
        );
        assert_eq!(error["object"], "error");
    }
    let huge = format!(
        r#"{{"model": "mistral-7b-lora", "prompt": "{}"}}"#,
        "a".repeat(2 << 20)
    );
    assert_eq!(post(&format!("{base}/v1/completions"), &huge).0, 413);
    // The same without a Content-Length (chunked), and larger than what is read of a
    // declared body: still the 413, not a broken pipe.
    let chunked = format!(
        r#"{{"model": "mistral-7b-lora", "prompt": "{}"}}"#,
        "a".repeat(20 << 20)
    );
    let mut response = agent()
        .post(&format!("{base}/v1/completions"))
        .header("Content-Type", "application/json")
        .send(ureq::SendBody::from_reader(&mut chunked.as_bytes()))
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let error: Value = response.body_mut().read_json().unwrap();
    assert_eq!(error["type"], "BadRequestError");
    let (status, _) = post(
        &format!("{base}/v1/completions"),
        r#"{"model": "mistral-7b-lora", "prompt": "still here?", "max_tokens": 2}"#,
    );
    assert_eq!(status, 200);
}

#[test]
fn a_prompt_gets_the_same_answer_length_from_every_model() {
    // FP16, AWQ and LoRA share the healthy scenario's workload, so where a prompt's
    // answer would end by itself is the same on each: tokens/s compare like for like.
    let sim = Sim::start(builtin("healthy").unwrap(), 20.0);
    let lengths = |prompt: &str| -> Vec<u64> {
        ["mistral-7b-fp16", "mistral-7b-awq", "mistral-7b-lora"]
            .iter()
            .map(|model| {
                let url = format!("http://{}/v1/completions", sim.addr(model));
                let request = json!({"model": model, "prompt": prompt, "max_tokens": 40});
                let (status, body) = post(&url, &request.to_string());
                assert_eq!(status, 200, "{body}");
                body["usage"]["completion_tokens"].as_u64().unwrap()
            })
            .collect()
    };
    let prompts = [
        "What is 17 * 23?",
        "Summarise the AWQ paper.",
        "Write a haiku.",
    ];
    let all: Vec<Vec<u64>> = prompts.iter().map(|p| lengths(p)).collect();
    for (prompt, l) in prompts.iter().zip(&all) {
        assert!(l.iter().all(|&n| n == l[0]), "{prompt}: {l:?}");
    }
}

/// A pod given a Hugging Face id as its served model name (vLLM's
/// `--served-model-name`) answers to it, lists it and labels its metrics with it, as
/// load generators that load a tokenizer by the model's name (guidellm) need.
#[test]
fn a_served_model_name_is_what_the_pod_answers_to() {
    let hf = "mistralai/Mistral-7B-Instruct-v0.2";
    let text = vllm_sim::scenario::BUILTIN
        .iter()
        .find(|(name, _)| *name == "healthy")
        .unwrap()
        .1
        .replacen(
            "  - name: mistral-7b-awq\n",
            &format!("  - name: mistral-7b-awq\n    served_model_name: {hf}\n"),
            1,
        );
    let scenario = vllm_sim::scenario::load(&text, "hf.yaml").unwrap();
    let sim = Sim::start(scenario, 1.0);
    let base = format!("http://{}", sim.addr("mistral-7b-awq"));
    let (_, _, models) = get(&format!("{base}/v1/models"), "application/json");
    let models: Value = serde_json::from_str(&models).unwrap();
    assert_eq!(models["data"][0]["id"], hf);
    let request = json!({"model": hf, "prompt": "Hello", "max_tokens": 4});
    let (status, body) = post(&format!("{base}/v1/completions"), &request.to_string());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], hf);
    let (status, _) = post(
        &format!("{base}/v1/completions"),
        &json!({"model": "mistral-7b-awq", "prompt": "Hello", "max_tokens": 4}).to_string(),
    );
    assert_eq!(status, 404, "the pod name is not the served name");
    let (_, _, metrics) = get(&format!("{base}/metrics"), "text/plain");
    assert!(
        metrics.contains(&format!("model_name=\"{hf}\"")),
        "{metrics}"
    );
}
