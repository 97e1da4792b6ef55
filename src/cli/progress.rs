//! Live progress on stderr: one line per agent under indicatif when stderr
//! is a terminal, plain periodic lines when it is not, nothing with
//! `--quiet`.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::{AgentProgress, Progress, ProgressEvent, Silent};
use crate::report::markdown::plural;

pub fn sink(quiet: bool) -> Arc<dyn Progress> {
    if quiet {
        Arc::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Arc::new(Bars::new())
    } else {
        Arc::new(Lines::default())
    }
}

struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    fn new() -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
        }
    }

    fn bar(&self, name: &str, label: &str) -> ProgressBar {
        let mut bars = self.bars.lock().expect("progress lock");
        bars.entry(name.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:<40} {elapsed:>6}  {msg}")
                        .expect("valid template")
                        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏✓"),
                );
                bar.set_prefix(label.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar.set_message("starting");
                bar
            })
            .clone()
    }
}

impl Progress for Bars {
    fn event(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::Stage(stage) => {
                let _ = self.multi.println(format!("· {stage}"));
            }
            ProgressEvent::Warning(w) => {
                let _ = self.multi.println(format!("warning: {w}"));
            }
            ProgressEvent::Agent {
                name,
                label,
                update,
            } => {
                let bar = self.bar(&name, &label);
                match update {
                    AgentProgress::Started => bar.set_message("running"),
                    AgentProgress::Working { tool_calls, tokens } => bar.set_message(format!(
                        "running · {} · {tokens} tokens",
                        plural(tool_calls as usize, "tool call")
                    )),
                    AgentProgress::Finished { status, detail, .. } => {
                        let text = match detail {
                            Some(d) if !status.is_ok() => format!("{status}: {d}"),
                            _ => "done".to_string(),
                        };
                        bar.finish_with_message(text);
                    }
                }
            }
        }
    }
}

/// For a log file or CI: a line per state change, and a line per agent
/// at most every 30 s while it works.
#[derive(Default)]
struct Lines {
    last: Mutex<HashMap<String, Instant>>,
}

const PERIOD: Duration = Duration::from_secs(30);

impl Progress for Lines {
    fn event(&self, event: ProgressEvent) {
        let line = match event {
            ProgressEvent::Stage(stage) => format!("deep-review: {stage}"),
            ProgressEvent::Warning(w) => format!("deep-review: warning: {w}"),
            ProgressEvent::Agent {
                name,
                label,
                update,
            } => match update {
                AgentProgress::Started => {
                    self.last
                        .lock()
                        .expect("progress lock")
                        .insert(name.clone(), Instant::now());
                    format!("deep-review: {label}: started")
                }
                AgentProgress::Working { tool_calls, tokens } => {
                    let mut last = self.last.lock().expect("progress lock");
                    let due = last.get(&name).is_none_or(|t| t.elapsed() >= PERIOD);
                    if !due {
                        return;
                    }
                    last.insert(name.clone(), Instant::now());
                    format!(
                        "deep-review: {label}: {}, {tokens} tokens",
                        plural(tool_calls as usize, "tool call")
                    )
                }
                AgentProgress::Finished {
                    status,
                    detail,
                    elapsed,
                } => {
                    let secs = elapsed.as_secs();
                    match detail {
                        Some(d) if !status.is_ok() => {
                            format!("deep-review: {label}: {status} after {secs} s: {d}")
                        }
                        _ => format!("deep-review: {label}: done in {secs} s"),
                    }
                }
            },
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}
