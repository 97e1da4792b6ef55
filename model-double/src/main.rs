//! `model-double --scenario FILE [--port N]`: serve a scenario until killed.
//! Prints `http://127.0.0.1:PORT` on the first line of stdout; the request
//! log is at `GET /__double/requests`.

use std::process::ExitCode;

use model_double::{ModelDouble, Scenario};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut scenario_path = None;
    let mut port = 0u16;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--scenario" => scenario_path = args.next(),
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0),
            "-h" | "--help" => {
                println!("usage: model-double --scenario FILE [--port N]");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("model-double: unknown argument {other:?} (see --help)");
                return ExitCode::from(2);
            }
        }
    }
    let Some(path) = scenario_path else {
        eprintln!("model-double: --scenario FILE is required");
        return ExitCode::from(2);
    };
    let scenario = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| Scenario::from_json(&text).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("model-double: cannot load scenario {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let double = match ModelDouble::start_on(scenario, port).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("model-double: cannot listen: {e}");
            return ExitCode::from(1);
        }
    };
    println!("{}", double.url());
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
