//! The `provision` binary: parse flags, dispatch, map the outcome to an exit
//! code. The work lives in the library's modules.

use std::process::ExitCode;

use clap::Parser;

use provision::aws::ConnectOptions;
use provision::cli::{Cli, Command};
use provision::commands;
use provision::exit::ExitStatus;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let connect = ConnectOptions {
        profile: cli.global.profile.clone(),
        region: cli.global.region.clone(),
        endpoint_url: cli.global.endpoint_url.clone(),
    };
    let stats = cli.global.api_stats;
    let result = match &cli.command {
        // validate never touches the network, so it needs no runtime.
        Command::Validate { paths } => commands::validate(paths),
        Command::Plan(args) => runtime().block_on(commands::plan(args, &connect, stats)),
        Command::Apply(args) => runtime().block_on(commands::apply(args, &connect, stats)),
        Command::Verify(args) => runtime().block_on(commands::verify(args, &connect, stats)),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitStatus::Failure.into()
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime could not start")
}
