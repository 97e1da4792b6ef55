//! A scripted model server for testing deep-review against the real agent
//! CLIs: it speaks Anthropic Messages, OpenAI Responses and Gemini
//! `streamGenerateContent` on a loopback port, plays a [`Scenario`] and
//! records every request it receives.

pub mod scenario;
pub mod wire;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde::Serialize;
use serde_json::Value;

pub use scenario::{AgentScript, Fault, FaultKind, Protocol, Scenario, ToolCall, Turn, Usage};

/// One request the double received, as tests assert on it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// Order of arrival, from 0.
    pub seq: usize,
    /// Milliseconds since the double started.
    pub at_ms: u64,
    /// The script that answered, or `side` / `unmatched`.
    pub agent: String,
    pub protocol: Option<Protocol>,
    pub path: String,
    pub model: String,
    pub turn: usize,
    pub effort: Option<Value>,
    pub tools: Vec<String>,
    pub tool_results: Vec<String>,
    /// The fault played, if any.
    pub fault: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    log: Vec<RecordedRequest>,
    /// Faults already played, per (script, turn), for `times`.
    faults_played: HashMap<(usize, usize), u32>,
}

struct Shared {
    scenario: std::sync::RwLock<Scenario>,
    started: Instant,
    state: Mutex<State>,
    /// Woken on every request, for `wait_for`.
    arrived: tokio::sync::Notify,
}

/// A running double. Dropping it stops the listener.
pub struct ModelDouble {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl ModelDouble {
    /// Serves `scenario` on an ephemeral port of 127.0.0.1.
    pub async fn start(scenario: Scenario) -> std::io::Result<Self> {
        Self::start_on(scenario, 0).await
    }

    pub async fn start_on(scenario: Scenario, port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            scenario: std::sync::RwLock::new(scenario),
            started: Instant::now(),
            state: Mutex::new(State::default()),
            arrived: tokio::sync::Notify::new(),
        });
        let app = Router::new().fallback({
            let shared = shared.clone();
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let shared = shared.clone();
                async move { handle(shared, method, uri, headers, body).await }
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request so far, in order of arrival.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state.lock().unwrap().log.clone()
    }

    /// Waits until every named script has received a request; false if
    /// `timeout` passes first. Lets tests act once agents are running
    /// without sleeping.
    pub async fn wait_for(&self, agents: &[&str], timeout: Duration) -> bool {
        let names: Vec<String> = agents.iter().map(|a| a.to_string()).collect();
        let all_here =
            |log: &[RecordedRequest]| names.iter().all(|n| log.iter().any(|r| &r.agent == n));
        tokio::time::timeout(timeout, wait_until(&self.shared, all_here))
            .await
            .is_ok()
    }

    /// Waits (up to `timeout`) until the script `agent` has answered
    /// `count` requests in all.
    pub async fn wait_for_count(&self, agent: &str, count: usize, timeout: Duration) -> bool {
        let enough =
            |log: &[RecordedRequest]| log.iter().filter(|r| r.agent == agent).count() >= count;
        tokio::time::timeout(timeout, wait_until(&self.shared, enough))
            .await
            .is_ok()
    }

    /// Plays `scenario` from now on (a later round of a review, say).
    /// Fault counters start over.
    pub fn set_scenario(&self, scenario: Scenario) {
        *self.shared.scenario.write().unwrap() = scenario;
        self.shared.state.lock().unwrap().faults_played.clear();
    }

    /// Requests answered by the named script.
    pub fn requests_for(&self, agent: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.agent == agent)
            .collect()
    }
}

impl Drop for ModelDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn protocol_of(method: &Method, path: &str) -> Option<Protocol> {
    if method != Method::POST {
        return None;
    }
    if path.ends_with("/messages") {
        Some(Protocol::Anthropic)
    } else if path.ends_with("/responses") {
        Some(Protocol::Openai)
    } else if path.contains("/models/") && path.contains(":streamGenerateContent") {
        Some(Protocol::Gemini)
    } else {
        None
    }
}

fn pick_script(scenario: &Scenario, protocol: Protocol, model: &str, raw: &str) -> Option<usize> {
    scenario.agents.iter().position(|s| {
        s.protocol == protocol
            && s.match_model.as_deref().is_none_or(|m| model.contains(m))
            && s.match_text.as_deref().is_none_or(|t| raw.contains(t))
    })
}

async fn handle(
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let raw = String::from_utf8_lossy(&body).to_string();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let at_ms = shared.started.elapsed().as_millis() as u64;

    if method == Method::GET && path == "/__double/requests" {
        let log = shared.state.lock().unwrap().log.clone();
        let mut response =
            Response::new(Body::from(serde_json::to_string(&log).unwrap_or_default()));
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return response;
    }
    let Some(protocol) = protocol_of(&method, &path) else {
        return side_request(&shared, &method, &path, json, at_ms);
    };
    let facts = wire::facts(protocol, &path, &json);
    // Claude Code's own housekeeping requests offer no tools; they are not
    // part of the scripted conversation.
    let is_side = protocol == Protocol::Anthropic && facts.tools.is_empty();
    let script = if is_side {
        None
    } else {
        pick_script(
            &shared.scenario.read().unwrap(),
            protocol,
            &facts.model,
            &raw,
        )
    };
    let Some(script_index) = script else {
        let agent = if is_side { "side" } else { "unmatched" };
        record(
            &shared,
            agent,
            Some(protocol),
            &path,
            &facts,
            None,
            json,
            at_ms,
        );
        let done = Turn {
            text: Some("OK".into()),
            ..Turn::default()
        };
        return stream_response(wire::answer(protocol, &done, facts.turn, &facts), 0, None);
    };
    // A copy, so no lock is held while the answer streams.
    let script = shared.scenario.read().unwrap().agents[script_index].clone();
    let script = &script;
    let done = Turn {
        text: Some("Done.".into()),
        ..Turn::default()
    };
    let turn = script.turns.get(facts.turn).unwrap_or(&done);

    let fault = turn.fault.as_ref().filter(|fault| {
        let mut state = shared.state.lock().unwrap();
        let played = state
            .faults_played
            .entry((script_index, facts.turn))
            .or_default();
        let fire = fault.times.is_none_or(|t| *played < t);
        if fire {
            *played += 1;
        }
        fire
    });
    record(
        &shared,
        &script.name,
        Some(protocol),
        &path,
        &facts,
        fault.map(|f| f.kind.label()),
        json,
        at_ms,
    );

    if !turn.wait_for.is_empty() {
        // A barrier between agents, bounded so the server never hangs; a
        // test that relies on it asserts the order from the log.
        let all_here = |log: &[RecordedRequest]| {
            turn.wait_for
                .iter()
                .all(|a| log.iter().any(|r| &r.agent == a))
        };
        let _ = tokio::time::timeout(Duration::from_secs(60), wait_until(&shared, all_here)).await;
    }
    if turn.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(turn.delay_ms)).await;
    }
    let events = wire::answer(protocol, turn, facts.turn, &facts);
    match fault.map(|f| &f.kind) {
        None => stream_response(events, script.chunk_delay_ms, None),
        Some(FaultKind::HangBeforeHeaders) => std::future::pending().await,
        Some(FaultKind::HangMidStream) => {
            let head = events.into_iter().take(1).collect();
            stream_response(head, script.chunk_delay_ms, Some(Tail::Hang))
        }
        Some(FaultKind::Malformed) => {
            let head = events.into_iter().take(1).collect();
            stream_response(head, script.chunk_delay_ms, Some(Tail::Garbage))
        }
        Some(FaultKind::ErrorMidStream) => {
            let mut head: Vec<String> = events.into_iter().take(1).collect();
            head.push(wire::error_event(protocol, facts.turn));
            stream_response(head, script.chunk_delay_ms, None)
        }
        Some(FaultKind::LengthStop) => {
            let events = wire::length_stop(protocol, turn, facts.turn, &facts);
            stream_response(events, script.chunk_delay_ms, None)
        }
        Some(kind) => {
            let (status, body, retry_after) = wire::error_response(protocol, kind);
            let mut response = Response::new(Body::from(body.to_string()));
            *response.status_mut() =
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let headers = response.headers_mut();
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            if let Some(seconds) = retry_after {
                headers.insert("retry-after", HeaderValue::from(seconds));
            }
            response
        }
    }
}

/// Returns once `done` holds for the request log, woken by each request
/// that arrives (the caller bounds the wait).
async fn wait_until(shared: &Shared, done: impl Fn(&[RecordedRequest]) -> bool) {
    loop {
        let notified = shared.arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if done(&shared.state.lock().unwrap().log) {
            return;
        }
        notified.await;
    }
}

/// Requests outside the three streaming endpoints: Gemini's non-streamed
/// side calls and token counting, and anything unexpected (logged, 404).
fn side_request(shared: &Shared, method: &Method, path: &str, json: Value, at_ms: u64) -> Response {
    let model = wire::gemini_model(path);
    let facts = wire::RequestFacts {
        model: model.clone(),
        ..Default::default()
    };
    let (status, body) = if path.contains(":generateContent") {
        (StatusCode::OK, wire::gemini_side_answer(&model))
    } else if path.contains(":countTokens") {
        (StatusCode::OK, serde_json::json!({"totalTokens": 1}))
    } else if path.ends_with("/messages/count_tokens") {
        (StatusCode::OK, serde_json::json!({"input_tokens": 1}))
    } else {
        (
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": {"message": format!("model double: no route for {method} {path}")}}),
        )
    };
    record(shared, "side", None, path, &facts, None, json, at_ms);
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

#[allow(clippy::too_many_arguments)]
fn record(
    shared: &Shared,
    agent: &str,
    protocol: Option<Protocol>,
    path: &str,
    facts: &wire::RequestFacts,
    fault: Option<String>,
    body: Value,
    at_ms: u64,
) {
    let mut state = shared.state.lock().unwrap();
    let seq = state.log.len();
    state.log.push(RecordedRequest {
        seq,
        at_ms,
        agent: agent.to_string(),
        protocol,
        path: path.to_string(),
        model: facts.model.clone(),
        turn: facts.turn,
        effort: facts.effort.clone(),
        tools: facts.tools.clone(),
        tool_results: facts.tool_results.clone(),
        fault,
        body,
    });
    drop(state);
    shared.arrived.notify_waiters();
}

enum Tail {
    Hang,
    Garbage,
}

fn stream_response(events: Vec<String>, chunk_delay_ms: u64, tail: Option<Tail>) -> Response {
    let stream = async_stream::stream! {
        for (i, event) in events.into_iter().enumerate() {
            if i > 0 && chunk_delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(chunk_delay_ms)).await;
            }
            yield Ok::<Bytes, std::io::Error>(Bytes::from(event));
        }
        match tail {
            Some(Tail::Hang) => std::future::pending::<()>().await,
            Some(Tail::Garbage) => yield Ok(Bytes::from_static(b"event: message_delta\ndata: {\"type\": \"garbage\", oops\n\n")),
            None => {}
        }
    };
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    response
}
