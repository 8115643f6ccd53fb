//! The `mcs-harness` binary. Exit codes: 0 success, 1 test failure, 2 usage or input error.

use clap::Parser;
use mcs_harness::cli::{Cli, Command, SimAction};

fn main() -> std::process::ExitCode {
    // Started as `kubectl-mcs` (`kubectl mcs …`): kubectl's conventions, `kubectl mcs` in help.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match args.first() {
        Some(argv0) if mcs_harness::plugin::invoked_as_plugin(argv0) => {
            mcs_harness::plugin::parse(&args)
        }
        _ => Cli::parse_from(args),
    };
    let output = cli.global.output();
    mcs_harness::output::init_tracing(&output);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result: anyhow::Result<u8> = runtime.block_on(async {
        match cli.command {
            Command::Doctor(args) => {
                let code = mcs_harness::doctor_cmd::run(&args, &mut std::io::stdout()).await?;
                return Ok(if code == 0 { 0 } else { 1 });
            }
            Command::Kind(args) => {
                mcs_harness::kind::cmd::run(&args, &mut std::io::stdout()).await?;
            }
            Command::Run(args) => {
                let code = mcs_harness::run_cmd::run(&args, &output).await?;
                return Ok(u8::try_from(code).unwrap_or(1));
            }
            Command::Conformance(args) => {
                let code = mcs_harness::conformance::run(&args, &output).await?;
                return Ok(u8::try_from(code).unwrap_or(1));
            }
            Command::Sim {
                action: SimAction::Up(opts),
            } => {
                mcs_harness::sim_cmd::up(&opts, &mut std::io::stdout()).await?;
            }
            Command::Importer(args) => {
                mcs_harness::importer_cmd::run(&args, &mut std::io::stdout()).await?;
            }
            Command::Gc(args) => {
                let code = mcs_harness::gc_cmd::run(&args, &mut std::io::stdout()).await?;
                return Ok(u8::try_from(code).unwrap_or(1));
            }
            Command::Report { action } => {
                let code = mcs_harness::report_cmd::run(&action, &output)?;
                return Ok(u8::try_from(code).unwrap_or(1));
            }
            Command::Completions { shell } => {
                let text = mcs_harness::cli::completions(shell);
                use std::io::Write;
                match std::io::stdout().lock().write_all(text.as_bytes()) {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    other => other?,
                }
            }
            Command::Schema { report } => {
                use std::io::Write;
                let schema = match report {
                    true => mcs_harness::report::json_report::json_schema(),
                    false => mcs_harness::scenario::json_schema(),
                };
                let text = serde_json::to_string_pretty(&schema)?;
                match writeln!(std::io::stdout().lock(), "{text}") {
                    // `schema | head -1`: the reader has what it wanted.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                    other => other?,
                }
            }
        }
        Ok(0)
    });
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            // Causes joined by `: `, Kubernetes API errors as their Status message.
            eprintln!("error: {}", mcs_harness::output::error_chain(e.as_ref()));
            std::process::ExitCode::from(2)
        }
    }
}
