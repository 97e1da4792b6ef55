//! `deep-review history`, `show` and `consolidate`: working with saved runs.

use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::args::{ConsolidateArgs, FormatArg, HistoryArgs, HistoryFilter, ShowArgs};
use super::commands::io_failure;
use super::failure::Failure;
use super::output;
use crate::config::{Config, Format};
use crate::exit::Exit;
use crate::files::read_json;
use crate::pipeline::rundir::{Manifest, RunDir, RunState};
use crate::pipeline::{self, load_report};

/// Every run directory under the data directory (manifest and path),
/// oldest first.
fn all_runs(data_dir: &Path) -> Vec<(PathBuf, Manifest)> {
    let mut found = Vec::new();
    let mut stack = vec![(data_dir.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        if let Ok(m) = read_json::<Manifest>(&dir.join("manifest.json")) {
            found.push((dir, m));
            continue;
        }
        if depth >= 5 {
            continue;
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push((e.path(), depth + 1));
                }
            }
        }
    }
    found.sort_by(|a, b| {
        a.1.started_at
            .cmp(&b.1.started_at)
            .then(a.1.run_id.cmp(&b.1.run_id))
    });
    found
}

/// A run id or a run directory.
pub fn find_run(config: &Config, spec: &str) -> Result<RunDir, Failure> {
    let path = Path::new(spec);
    if path.join("manifest.json").is_file() {
        return Ok(RunDir::open(path.to_path_buf()));
    }
    all_runs(&config.paths.data_dir)
        .into_iter()
        .rev()
        .find(|(_, m)| m.run_id == spec)
        .map(|(dir, _)| RunDir::open(dir))
        .ok_or_else(|| {
            Failure::usage(
                format!("no run {spec:?} under {}", config.paths.data_dir.display()),
                "`deep-review history` lists the runs; a run directory's path works too",
            )
        })
}

pub fn history(config: &Config, args: &HistoryArgs) -> Result<Exit, Failure> {
    let runs = all_runs(&config.paths.data_dir);
    let runs: Vec<&(PathBuf, Manifest)> = runs
        .iter()
        .filter(|(_, m)| match &args.filter {
            None => true,
            Some(HistoryFilter::Pr { number, repo }) => {
                m.pr == Some(*number)
                    && repo
                        .as_deref()
                        .is_none_or(|r| r.eq_ignore_ascii_case(&m.repo))
            }
        })
        .collect();
    if runs.is_empty() {
        output::stdout(&format!(
            "No runs yet under {}.\n",
            config.paths.data_dir.display()
        ))
        .map_err(io_failure)?;
        return Ok(Exit::Ok);
    }
    let mut text = format!(
        "{:<34} {:>5}  {:<10}  {:<26} {:>7}  {}\n",
        "RUN", "ROUND", "STATE", "VERDICT", "C/I/S", "AGENTS"
    );
    for (_, m) in runs {
        let state = serde_json::to_value(m.effective_state())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let verdict = m
            .verdict
            .map(|v| v.label().to_string())
            .unwrap_or_else(|| "—".into());
        let counts = m
            .counts
            .map(|c| format!("{}/{}/{}", c.critical, c.important, c.suggestion))
            .unwrap_or_else(|| "—".into());
        let agents = m
            .agents
            .iter()
            .map(|a| format!("{} {}", a.name, a.status.map_or("?", |s| s.name())))
            .collect::<Vec<_>>()
            .join(", ");
        text.push_str(&format!(
            "{:<34} {:>5}  {:<10}  {:<26} {:>7}  {}\n",
            m.run_id, m.round, state, verdict, counts, agents
        ));
    }
    output::stdout(&text).map_err(io_failure)?;
    Ok(Exit::Ok)
}

fn formats(args: &[FormatArg]) -> Vec<Format> {
    if args.is_empty() {
        vec![Format::Md]
    } else {
        args.iter().map(|f| f.format()).collect()
    }
}

pub fn show(config: &Config, args: &ShowArgs) -> Result<Exit, Failure> {
    let run = find_run(config, &args.run)?;
    let mut report = load_report(&run).map_err(|e| {
        let manifest: Option<crate::pipeline::rundir::Manifest> =
            crate::files::read_json(&run.manifest()).ok();
        match manifest.map(|m| m.effective_state()) {
            Some(RunState::Interrupted) => Failure::runtime(
                format!(
                    "run {} was interrupted before its report was written",
                    args.run
                ),
                format!(
                    "what its agents wrote is kept in {}; review again to get a report",
                    run.root.display()
                ),
            ),
            Some(RunState::Running) => Failure::runtime(
                format!("run {} is still running", args.run),
                "its report is written when it ends; `deep-review history` shows its state",
            ),
            _ => Failure::runtime(
                format!("cannot read the saved report: {e}"),
                "the run may have been interrupted before its report was written",
            ),
        }
    })?;
    match pipeline::resolutions_of(&run, report.run.round) {
        Ok(resolutions) => report.resolutions = resolutions,
        Err(e) => output::note(&format!(
            "warning: the report is shown without its Resolution section: {e}"
        )),
    }
    let formats = match (args.format.as_slice(), &args.output) {
        ([], Some(path)) => vec![Format::from_extension(path).unwrap_or(Format::Md)],
        (_, Some(_)) if args.format.len() > 1 => {
            return Err(Failure::usage(
                "-o writes one format, but several --format values were given",
                "give one --format",
            ));
        }
        _ => formats(&args.format),
    };
    let full = run.report(Format::Md).display().to_string();
    let text: String = formats
        .iter()
        .map(|f| crate::report::render(&report, *f, Some(&full)))
        .collect();
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", path.display()), ""))?,
        None => {
            output::stdout(&text).map_err(io_failure)?;
        }
    }
    Ok(Exit::Ok)
}

pub async fn consolidate(
    config: &mut Config,
    args: &ConsolidateArgs,
    quiet: bool,
) -> Result<Exit, Failure> {
    let run = find_run(config, &args.run)?;
    if let Some(agent) = &args.agent {
        if !config.agents.contains_key(agent) {
            return Err(Failure::usage(
                format!("no agent named {agent:?}"),
                "`deep-review config` lists the agents",
            ));
        }
        config.consolidation.agent = agent.clone();
    }
    if args.model.is_some() {
        config.consolidation.model = args.model.clone();
    }
    if args.effort.is_some() {
        config.consolidation.effort = args.effort.clone();
    }
    let progress = super::progress::sink(quiet);
    crate::agents::leftovers::adopt_orphans();
    let cancel = CancellationToken::new();
    super::signals::watch(cancel.clone());
    let finished = pipeline::reconsolidate(
        config,
        &run,
        &config.review.formats.clone(),
        progress,
        cancel,
    )
    .await
    .map_err(Failure::from)?;
    let report = &finished.report;
    let mut text = format!(
        "{} — {}\n{} critical, {} important, {} suggestions; consolidation {}\n",
        report.verdict.decision.label(),
        report.verdict.reason,
        report.counts.critical,
        report.counts.important,
        report.counts.suggestion,
        if report.consolidation.performed {
            "performed".to_string()
        } else {
            format!(
                "not performed: {}",
                report.consolidation.note.as_deref().unwrap_or("")
            )
        }
    );
    for (format, path) in &finished.written {
        text.push_str(&format!("  {:<6} {}\n", format.name(), path.display()));
    }
    output::stdout(&text).map_err(io_failure)?;
    Ok(Exit::for_review(
        report.incomplete,
        report
            .findings
            .iter()
            .any(|f| config.review.fail_on.blocks(f.severity)),
    ))
}
