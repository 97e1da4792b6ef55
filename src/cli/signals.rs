//! One signal policy for every command that runs agents.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// The first SIGINT, SIGTERM or SIGHUP cancels: the agents get SIGTERM,
/// then SIGKILL after their grace, and the run finishes with what was
/// gathered (report marked incomplete, exit 3). A second one kills every
/// agent's process group, and every process that left one, at once and
/// exits 130.
///
/// The handlers are installed before this returns, so a signal that comes
/// early is never the default (which would orphan the agents).
pub fn watch(cancel: CancellationToken) {
    let streams = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    );
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = streams else {
        return;
    };
    tokio::spawn(async move {
        let first = tokio::select! {
            _ = int.recv() => "interrupted",
            _ = term.recv() => "terminated (SIGTERM)",
            _ = hup.recv() => "hung up (SIGHUP)",
        };
        super::output::error_lines(
            &format!(
                "{first}: stopping the agents and writing what was gathered (a second signal, or Ctrl-C again, quits now)"
            ),
            "",
        );
        cancel.cancel();
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        crate::agents::supervise::kill_all_now();
        std::process::exit(130);
    });
}
