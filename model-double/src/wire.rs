//! The three wire protocols: what to read from a request and how to write
//! a streamed answer. Each answer is a list of complete SSE events so the
//! server can pace them and cut them short for faults.

use serde_json::{Value, json};

use crate::scenario::{FaultKind, Protocol, Turn};

/// Tool names that carry a structured answer rather than review work.
pub const STRUCTURED_TOOL: &str = "StructuredOutput";

/// What the double reads from a request, whatever its protocol.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    pub model: String,
    /// How many of the model's tool-call turns the conversation already
    /// holds: the index of the turn to answer with.
    pub turn: usize,
    pub effort: Option<Value>,
    pub tools: Vec<String>,
    pub tool_results: Vec<String>,
}

pub fn facts(protocol: Protocol, path: &str, body: &Value) -> RequestFacts {
    match protocol {
        Protocol::Anthropic => anthropic_facts(body),
        Protocol::Openai => openai_facts(body),
        Protocol::Gemini => gemini_facts(path, body),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.get("text").map(text_of).unwrap_or_else(|| text_of(i)))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn anthropic_facts(body: &Value) -> RequestFacts {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let turn = messages
        .iter()
        .filter(|m| m["role"] == "assistant")
        .filter(|m| {
            m["content"]
                .as_array()
                .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_use"))
        })
        .count();
    let tool_results = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .filter(|b| b["type"] == "tool_result")
        .map(|b| text_of(&b["content"]))
        .collect();
    RequestFacts {
        model: body["model"].as_str().unwrap_or_default().to_string(),
        turn,
        effort: body
            .pointer("/output_config/effort")
            .cloned()
            .or_else(|| body.get("thinking").cloned()),
        tools: names(&body["tools"], "/name"),
        tool_results,
    }
}

fn openai_facts(body: &Value) -> RequestFacts {
    let input = body["input"].as_array().cloned().unwrap_or_default();
    // Call ids carry their turn ("call_t3_0"), so tool calls made in one
    // turn count once however many there were.
    let mut turns: Vec<&str> = input
        .iter()
        .filter(|i| i["type"] == "function_call" || i["type"] == "custom_tool_call")
        .filter_map(|i| i["call_id"].as_str())
        .filter_map(|id| id.strip_prefix("call_t"))
        .filter_map(|rest| rest.split('_').next())
        .collect();
    turns.sort_unstable();
    turns.dedup();
    let tool_results = input
        .iter()
        .filter(|i| i["type"] == "function_call_output" || i["type"] == "custom_tool_call_output")
        .map(|i| text_of(&i["output"]))
        .collect();
    RequestFacts {
        model: body["model"].as_str().unwrap_or_default().to_string(),
        turn: turns.len(),
        effort: body.pointer("/reasoning/effort").cloned(),
        tools: names(&body["tools"], "/name"),
        tool_results,
    }
}

fn gemini_facts(path: &str, body: &Value) -> RequestFacts {
    let contents = body["contents"].as_array().cloned().unwrap_or_default();
    let turn = contents
        .iter()
        .filter(|c| c["role"] == "model")
        .filter(|c| {
            c["parts"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p.get("functionCall").is_some()))
        })
        .count();
    let tool_results = contents
        .iter()
        .filter_map(|c| c["parts"].as_array())
        .flatten()
        .filter_map(|p| p.get("functionResponse"))
        .map(|r| {
            let resp = &r["response"];
            resp.get("output")
                .map(text_of)
                .unwrap_or_else(|| resp.to_string())
        })
        .collect();
    let tools = body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| names(&t["functionDeclarations"], "/name"))
        .collect();
    RequestFacts {
        model: gemini_model(path),
        turn,
        effort: body.pointer("/generationConfig/thinkingConfig").cloned(),
        tools,
        tool_results,
    }
}

/// `/v1beta/models/gemini-2.5-pro:streamGenerateContent` → `gemini-2.5-pro`.
pub fn gemini_model(path: &str) -> String {
    path.rsplit('/')
        .next()
        .and_then(|last| last.split(':').next())
        .unwrap_or_default()
        .to_string()
}

fn names(list: &Value, pointer: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.pointer(pointer).and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

fn sse(event: Option<&str>, data: &Value) -> String {
    match event {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

/// The streamed answer for one turn, as complete SSE events.
pub fn answer(
    protocol: Protocol,
    turn: &Turn,
    turn_index: usize,
    facts: &RequestFacts,
) -> Vec<String> {
    match protocol {
        Protocol::Anthropic => anthropic_answer(turn, turn_index, facts),
        Protocol::Openai => openai_answer(turn, turn_index, facts),
        Protocol::Gemini => gemini_answer(turn, turn_index, facts),
    }
}

/// The final text of a turn: its text, else its structured answer as JSON.
fn final_text(turn: &Turn) -> Option<String> {
    turn.text
        .clone()
        .or_else(|| turn.structured.as_ref().map(Value::to_string))
}

fn chunks(text: &str) -> Vec<String> {
    pieces(text, 64)
}

/// Gemini's stream carries larger pieces of text than the others' deltas
/// (whole sentences and more); 64-character pieces made Gemini CLI, which
/// works on every piece, take minutes over a 10 MB answer.
fn gemini_chunks(text: &str) -> Vec<String> {
    pieces(text, 2048)
}

fn pieces(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// Tool arguments as the services stream them: in pieces that are not
/// JSON on their own (cut every 7 characters, so even `{}` is whole but
/// any real argument is split mid-token); past the first 448 characters
/// in pieces of 512, or a 10 MB answer takes a million events.
fn arg_pieces(args: &Value) -> Vec<String> {
    let text = args.to_string();
    let chars: Vec<char> = text.chars().collect();
    let head = chars.len().min(448);
    let mut out: Vec<String> = chars[..head]
        .chunks(7)
        .map(|c| c.iter().collect())
        .collect();
    out.extend(
        chars[head..]
            .chunks(512)
            .map(|c| c.iter().collect::<String>()),
    );
    out
}

fn anthropic_answer(turn: &Turn, t: usize, facts: &RequestFacts) -> Vec<String> {
    let mut out = vec![sse(
        Some("message_start"),
        &json!({"type": "message_start", "message": {
            "id": format!("msg_t{t}"), "type": "message", "role": "assistant",
            "model": facts.model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": turn.usage.input.saturating_sub(turn.usage.cached),
                      "cache_read_input_tokens": turn.usage.cached,
                      "cache_creation_input_tokens": 0, "output_tokens": 1}}}),
    )];
    let mut index = 0;
    let mut calls: Vec<(String, Value)> = turn
        .tool_calls
        .iter()
        .map(|c| (c.name.clone(), c.args.clone()))
        .collect();
    let mut text = turn.text.clone();
    if let Some(structured) = &turn.structured {
        if facts.tools.iter().any(|n| n == STRUCTURED_TOOL) {
            calls.push((STRUCTURED_TOOL.to_string(), structured.clone()));
        } else if text.is_none() {
            text = Some(structured.to_string());
        }
    }
    if let Some(thinking) = &turn.thinking {
        out.push(sse(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": index, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        ));
        for piece in chunks(thinking) {
            out.push(sse(
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": piece}}),
            ));
        }
        out.push(sse(
            Some("content_block_delta"),
            &json!({"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": format!("sig-t{t}")}}),
        ));
        out.push(sse(
            Some("content_block_stop"),
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    if let Some(text) = text {
        out.push(sse(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        ));
        for piece in chunks(&text) {
            out.push(sse(
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        out.push(sse(
            Some("content_block_stop"),
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    let stop_reason = if calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    };
    for (i, (name, args)) in calls.iter().enumerate() {
        out.push(sse(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": format!("toolu_t{t}_{i}"), "name": name, "input": {}}}),
        ));
        for piece in arg_pieces(args) {
            out.push(sse(
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": index, "delta": {
                    "type": "input_json_delta", "partial_json": piece}}),
            ));
        }
        out.push(sse(
            Some("content_block_stop"),
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    out.push(sse(
        Some("message_delta"),
        &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                "usage": {"output_tokens": turn.usage.output}}),
    ));
    out.push(sse(Some("message_stop"), &json!({"type": "message_stop"})));
    out
}

fn openai_answer(turn: &Turn, t: usize, facts: &RequestFacts) -> Vec<String> {
    let id = format!("resp_t{t}");
    let mut out = vec![sse(
        Some("response.created"),
        &json!({"type": "response.created", "response": {"id": id, "object": "response",
                "status": "in_progress", "model": facts.model, "output": []}}),
    )];
    let mut index = 0;
    if let Some(thinking) = &turn.thinking {
        let item_id = format!("rs_t{t}");
        out.push(sse(
            Some("response.output_item.added"),
            &json!({"type": "response.output_item.added", "output_index": index, "item": {
                "type": "reasoning", "id": item_id, "summary": []}}),
        ));
        for piece in chunks(thinking) {
            out.push(sse(
                Some("response.reasoning_summary_text.delta"),
                &json!({"type": "response.reasoning_summary_text.delta", "item_id": item_id,
                        "output_index": index, "summary_index": 0, "delta": piece}),
            ));
        }
        out.push(sse(
            Some("response.output_item.done"),
            &json!({"type": "response.output_item.done", "output_index": index, "item": {
                "type": "reasoning", "id": item_id,
                "summary": [{"type": "summary_text", "text": thinking}]}}),
        ));
        index += 1;
    }
    for (i, call) in turn.tool_calls.iter().enumerate() {
        let item_id = format!("fc_t{t}_{i}");
        let call_id = format!("call_t{t}_{i}");
        out.push(sse(
            Some("response.output_item.added"),
            &json!({"type": "response.output_item.added", "output_index": index, "item": {
                "type": "function_call", "id": item_id, "call_id": call_id, "name": call.name,
                "arguments": "", "status": "in_progress"}}),
        ));
        for piece in arg_pieces(&call.args) {
            out.push(sse(
                Some("response.function_call_arguments.delta"),
                &json!({"type": "response.function_call_arguments.delta", "item_id": item_id,
                        "output_index": index, "delta": piece}),
            ));
        }
        let item = json!({"type": "function_call", "id": item_id,
            "call_id": call_id, "name": call.name,
            "arguments": call.args.to_string(), "status": "completed"});
        out.push(sse(
            Some("response.output_item.done"),
            &json!({"type": "response.output_item.done", "output_index": index, "item": item}),
        ));
        index += 1;
    }
    if let Some(text) = final_text(turn) {
        let item_id = format!("msg_t{t}");
        out.push(sse(
            Some("response.output_item.added"),
            &json!({"type": "response.output_item.added", "output_index": index, "item": {
                "type": "message", "id": item_id, "role": "assistant", "status": "in_progress", "content": []}}),
        ));
        for piece in chunks(&text) {
            out.push(sse(
                Some("response.output_text.delta"),
                &json!({"type": "response.output_text.delta", "item_id": item_id,
                        "output_index": index, "content_index": 0, "delta": piece}),
            ));
        }
        let item = json!({"type": "message", "id": item_id, "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]});
        out.push(sse(
            Some("response.output_item.done"),
            &json!({"type": "response.output_item.done", "output_index": index, "item": item}),
        ));
    }
    let u = turn.usage;
    out.push(sse(
        Some("response.completed"),
        &json!({"type": "response.completed", "response": {"id": id, "object": "response",
            "status": "completed", "model": facts.model, "output": [],
            "usage": {"input_tokens": u.input, "input_tokens_details": {"cached_tokens": u.cached},
                      "output_tokens": u.output, "output_tokens_details": {"reasoning_tokens": u.reasoning},
                      "total_tokens": u.input + u.output}}}),
    ));
    out
}

fn gemini_answer(turn: &Turn, _t: usize, facts: &RequestFacts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(thinking) = &turn.thinking {
        for piece in chunks(thinking) {
            out.push(sse(
                None,
                &json!({"candidates": [{"content": {"role": "model", "parts": [{"text": piece, "thought": true}]}, "index": 0}],
                        "modelVersion": facts.model}),
            ));
        }
    }
    let text = final_text(turn);
    if let Some(text) = &text {
        for piece in gemini_chunks(text) {
            out.push(sse(
                None,
                &json!({"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}],
                        "modelVersion": facts.model}),
            ));
        }
    }
    let parts: Vec<Value> = turn
        .tool_calls
        .iter()
        .map(|c| json!({"functionCall": {"name": c.name, "args": c.args}}))
        .collect();
    let u = turn.usage;
    let usage = json!({"promptTokenCount": u.input, "candidatesTokenCount": u.output,
        "cachedContentTokenCount": u.cached, "thoughtsTokenCount": u.reasoning,
        "totalTokenCount": u.input + u.output + u.reasoning});
    let last_parts = if parts.is_empty() {
        vec![json!({"text": ""})]
    } else {
        parts
    };
    out.push(sse(
        None,
        &json!({"candidates": [{"content": {"role": "model", "parts": last_parts},
                "finishReason": "STOP", "index": 0}], "usageMetadata": usage, "modelVersion": facts.model}),
    ));
    out
}

/// The non-streamed `generateContent` side calls Gemini CLI makes (e.g.
/// its next-speaker check) get a short JSON text answer.
pub fn gemini_side_answer(model: &str) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": [{"text":
        "{\"next_speaker\": \"user\", \"reasoning\": \"The answer is complete.\"}"}]},
        "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2},
        "modelVersion": model})
}

/// Status and JSON body of an HTTP-level fault, in the protocol's shape.
pub fn error_response(protocol: Protocol, fault: &FaultKind) -> (u16, Value, Option<u64>) {
    let (status, kind, message, retry_after) = match fault {
        FaultKind::RateLimit { retry_after } => (
            429,
            "rate_limit",
            "Number of request tokens has exceeded your per-minute rate limit",
            *retry_after,
        ),
        FaultKind::Quota => match protocol {
            Protocol::Anthropic => (
                400,
                "billing_error",
                "Your credit balance is too low to access the Anthropic API.",
                None,
            ),
            Protocol::Openai => (
                429,
                "insufficient_quota",
                "You exceeded your current quota, please check your plan and billing details.",
                None,
            ),
            Protocol::Gemini => (
                429,
                "quota",
                "You exceeded your current quota, please check your plan and billing details.",
                None,
            ),
        },
        FaultKind::Server => (500, "api_error", "Internal server error", None),
        FaultKind::Auth => (401, "authentication_error", "invalid x-api-key", None),
        FaultKind::Status {
            status,
            body,
            retry_after,
        } => {
            return (
                *status,
                body.clone()
                    .unwrap_or_else(|| json!({"error": {"message": "scripted"}})),
                *retry_after,
            );
        }
        FaultKind::HangBeforeHeaders
        | FaultKind::HangMidStream
        | FaultKind::Malformed
        | FaultKind::ErrorMidStream
        | FaultKind::LengthStop => {
            unreachable!("stream faults have no error body")
        }
    };
    let body = match protocol {
        Protocol::Anthropic => {
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
        Protocol::Openai => {
            json!({"error": {"type": kind, "code": kind, "message": message, "param": null}})
        }
        Protocol::Gemini => {
            let mut error =
                json!({"code": status, "message": message, "status": gemini_status(status)});
            if matches!(fault, FaultKind::Quota) {
                error["details"] = json!([{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                                    "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}]);
            }
            json!({"error": error})
        }
    };
    (status, body, retry_after)
}

fn gemini_status(status: u16) -> &'static str {
    match status {
        429 => "RESOURCE_EXHAUSTED",
        401 => "UNAUTHENTICATED",
        400 => "INVALID_ARGUMENT",
        _ => "INTERNAL",
    }
}

/// The service's error event inside a stream that had begun.
pub fn error_event(protocol: Protocol, t: usize) -> String {
    match protocol {
        Protocol::Anthropic => sse(
            Some("error"),
            &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
        Protocol::Openai => sse(
            Some("response.failed"),
            &json!({"type": "response.failed", "response": {"id": format!("resp_t{t}"), "object": "response",
                "status": "failed", "output": [],
                "error": {"code": "server_error", "message": "The server had an error while processing your request."}}}),
        ),
        Protocol::Gemini => sse(
            None,
            &json!({"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}),
        ),
    }
}

/// A turn's answer cut at the output limit: the start of its text, then
/// the service's way of saying it stopped there.
pub fn length_stop(protocol: Protocol, turn: &Turn, t: usize, facts: &RequestFacts) -> Vec<String> {
    let text = final_text(turn).unwrap_or_default();
    let cut: String = text.chars().take(text.chars().count() / 2).collect();
    let u = turn.usage;
    match protocol {
        Protocol::Anthropic => vec![
            sse(
                Some("message_start"),
                &json!({"type": "message_start", "message": {
                    "id": format!("msg_t{t}"), "type": "message", "role": "assistant",
                    "model": facts.model, "content": [], "stop_reason": null, "stop_sequence": null,
                    "usage": {"input_tokens": u.input, "output_tokens": 1}}}),
            ),
            sse(
                Some("content_block_start"),
                &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            sse(
                Some("content_block_delta"),
                &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": cut}}),
            ),
            sse(
                Some("content_block_stop"),
                &json!({"type": "content_block_stop", "index": 0}),
            ),
            sse(
                Some("message_delta"),
                &json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens", "stop_sequence": null},
                        "usage": {"output_tokens": u.output}}),
            ),
            sse(Some("message_stop"), &json!({"type": "message_stop"})),
        ],
        Protocol::Openai => {
            let item_id = format!("msg_t{t}");
            let item = json!({"type": "message", "id": item_id, "role": "assistant", "status": "incomplete",
                "content": [{"type": "output_text", "text": cut, "annotations": []}]});
            vec![
                sse(
                    Some("response.created"),
                    &json!({"type": "response.created", "response": {"id": format!("resp_t{t}"), "object": "response",
                            "status": "in_progress", "model": facts.model, "output": []}}),
                ),
                sse(
                    Some("response.output_text.delta"),
                    &json!({"type": "response.output_text.delta", "item_id": item_id,
                            "output_index": 0, "content_index": 0, "delta": cut}),
                ),
                sse(
                    Some("response.output_item.done"),
                    &json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
                ),
                sse(
                    Some("response.incomplete"),
                    &json!({"type": "response.incomplete", "response": {"id": format!("resp_t{t}"), "object": "response",
                        "status": "incomplete", "model": facts.model, "output": [],
                        "incomplete_details": {"reason": "max_output_tokens"},
                        "usage": {"input_tokens": u.input, "input_tokens_details": {"cached_tokens": 0},
                                  "output_tokens": u.output, "output_tokens_details": {"reasoning_tokens": 0},
                                  "total_tokens": u.input + u.output}}}),
                ),
            ]
        }
        Protocol::Gemini => vec![sse(
            None,
            &json!({"candidates": [{"content": {"role": "model", "parts": [{"text": cut}]},
                    "finishReason": "MAX_TOKENS", "index": 0}],
                    "usageMetadata": {"promptTokenCount": u.input, "candidatesTokenCount": u.output,
                                      "totalTokenCount": u.input + u.output},
                    "modelVersion": facts.model}),
        )],
    }
}
