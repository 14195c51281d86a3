//! The `provision` binary: parse flags, dispatch, map the outcome to an exit
//! code. The work lives in the library's modules; each subcommand is a file
//! of `provision::cmd`.

use std::process::ExitCode;

use clap::Parser;

use provision::aws::ConnectOptions;
use provision::cli::{Cli, Command};
use provision::cmd::{self, Context, ExitStatus};
use provision::terminal::{Printer, Verbosity};

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    let printer = Printer::new(Verbosity::from_flags(cli.global.verbose, cli.global.quiet));
    printer.init_logs();
    // Every command that reads the configuration has one default, and says
    // what it read.
    if let Some(dir) = cli.command.default_paths() {
        cmd::note_default_configuration(printer, &dir);
    }
    let aws = cli.command.aws().cloned().unwrap_or_default();
    let ctx = Context {
        connect: ConnectOptions {
            profile: aws.profile,
            region: aws.region,
            endpoint_url: aws.endpoint_url,
        },
        api_stats: cli.global.api_stats,
        printer,
    };
    let result = match &cli.command {
        // validate never touches the network, so it needs no runtime.
        Command::Validate { paths } => cmd::validate::run(paths, &ctx),
        Command::Plan(args) => runtime().block_on(cmd::plan::run(args, &ctx)),
        Command::Apply(args) => runtime().block_on(cmd::apply::run(args, &ctx)),
        // These print what the binary knows about itself; no runtime either.
        Command::Completions { shell } => cmd::completions::run(*shell),
        Command::Man { out } => cmd::man::run(out.as_deref(), printer),
        Command::Schema => cmd::schema::run(),
        // Printed from the files alone: no AWS call.
        Command::Policy { policy } => cmd::policy::run(policy, &ctx),
        Command::Onboard(args) => runtime().block_on(cmd::onboard::run(args, &ctx)),
        Command::Offboard(args) => runtime().block_on(cmd::offboard::run(args, &ctx)),
        Command::RotateKey(args) => runtime().block_on(cmd::rotate_key::run(args, &ctx)),
        Command::Audit(args) => runtime().block_on(cmd::audit::run(args, &ctx)),
        Command::Verify(args) => runtime().block_on(cmd::verify::run(args, &ctx)),
        Command::Report(args) => runtime().block_on(cmd::report::run(args, &ctx)),
        Command::Unlock(args) => runtime().block_on(cmd::unlock::run(args, &ctx)),
        Command::Import(args) => runtime().block_on(cmd::import::run(args, &ctx)),
    };
    match result {
        Ok(status) => status.into(),
        // The reader went away (`provision plan ... | head`): nothing is
        // wrong with the command, so end quietly, as other CLIs do.
        Err(err) if is_broken_pipe(&err) => ExitStatus::Success.into(),
        Err(err) => {
            printer.error(format_args!("{err:#}"));
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
