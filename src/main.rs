//! The `provision` binary: parse flags, dispatch, map the outcome to an exit
//! code. The work lives in the library's modules.

use std::process::ExitCode;

use clap::Parser;

use provision::apply::lock;
use provision::aws::ConnectOptions;
use provision::cli::{Cli, Command};
use provision::exit::ExitStatus;
use provision::terminal::{self, Verbosity};
use provision::{commands, people, rotate};

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    terminal::init(Verbosity::from_flags(cli.global.verbose, cli.global.quiet));
    // Every command that reads the configuration has one default, and says
    // what it read.
    if let Some(dir) = cli.command.default_paths() {
        commands::note_default_configuration(&dir);
    }
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
        // These print what the binary knows about itself; no runtime either.
        Command::Completions { shell } => commands::completions(*shell),
        Command::Man => commands::man(),
        Command::Schema => commands::schema(),
        // Printed from the files alone: no AWS call.
        Command::Policy { policy } => commands::policy(policy),
        Command::Onboard(args) => runtime().block_on(people::onboard(args, &connect, stats)),
        Command::Offboard(args) => runtime().block_on(people::offboard(args, &connect, stats)),
        Command::RotateKey(args) => runtime().block_on(rotate::rotate_key(args, &connect, stats)),
        Command::Audit(args) => runtime().block_on(commands::audit(args, &connect, stats)),
        Command::Verify(args) => runtime().block_on(commands::verify(args, &connect, stats)),
        Command::Unlock(args) => runtime().block_on(lock::unlock(args, &connect, stats)),
    };
    match result {
        Ok(status) => status.into(),
        // The reader went away (`provision plan ... | head`): nothing is
        // wrong with the command, so end quietly, as other CLIs do.
        Err(err) if is_broken_pipe(&err) => ExitStatus::Success.into(),
        Err(err) => {
            terminal::error(&format_args!("{err:#}"));
            ExitStatus::Failure.into()
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the async runtime could not start")
}
