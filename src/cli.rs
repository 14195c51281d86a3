//! The command line, as clap definitions: every flag in one place.
//! Dispatch lives in `main.rs`; each subcommand's work in `cmd`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::model::SecretStore;

/// The configuration every command reads when given no PATH: the directory
/// `clients/` (as onboard, which has no PATH, always did).
pub const DEFAULT_CONFIG: &str = "clients";

/// Give every client of an agency its own isolated corner of one AWS account.
#[derive(Debug, Parser)]
#[command(name = "provision", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Say more on stderr: `-v` info, `-vv` debug, `-vvv` trace logs
    /// (`RUST_LOG` overrides the filter).
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Say only errors on stderr: no progress, no notes.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print the number of AWS calls made, by operation, to stderr on exit.
    #[arg(long, global = true, hide = true)]
    pub api_stats: bool,
}

/// How to reach AWS: only on the commands that call it, so that `validate`,
/// `schema`, `man`, `policy` and `completions` do not offer flags they
/// would ignore.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "AWS options")]
pub struct AwsArgs {
    /// AWS profile to use (else the standard credential chain).
    #[arg(long, env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: Option<String>,
    /// AWS region; IAM is global, so this rarely matters (default us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Send AWS calls to this endpoint, e.g. a local emulator
    /// (`AWS_ENDPOINT_URL` works too).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check clients files offline; makes no AWS call.
    Validate {
        /// `.toml` files or directories of them (default `clients/`).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Converge the account to the clients files, or apply a saved plan.
    Apply(ApplyArgs),
    /// Show who can reach which client's buckets; exit 1 on a leak.
    ///
    /// Evaluates the account's live policies for every managed principal x
    /// every client bucket and distribution, and exits 1 if any principal
    /// reaches another client's resources.
    Verify(VerifyArgs),
    /// Write an access report to hand to a client: who reaches its buckets
    /// and why, and the proof that no other client does.
    ///
    /// With `--client NAME`, every principal that can reach the client's
    /// buckets and distributions, with what it may do, the statements that
    /// grant it, its permissions boundary and its keys (ids shown in part);
    /// without, one line per client and a client x client picture. Exits 1
    /// when isolation is broken. `SOURCE_DATE_EPOCH` fixes the time shown.
    Report(ReportArgs),
    /// Print a shell completion script, e.g.
    /// `provision completions bash > /etc/bash_completion.d/provision`.
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `provision man | man -l -`, or
    /// write one page per subcommand with `--out DIR`.
    Man {
        /// Write `provision.1` and a `provision-<command>.1` page for every
        /// subcommand into DIR (created if missing), e.g.
        /// `provision man --out /usr/local/share/man/man1`.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Print the JSON Schema of the clients file format (version 1), for
    /// editors that check and complete TOML (taplo, Even Better TOML).
    Schema,
    /// Print an IAM policy to set up AWS for provision (JSON, on stdout).
    Policy {
        #[command(subcommand)]
        policy: PolicyCommand,
    },
    /// Add a developer to a client by editing its file, then show the plan.
    Onboard(OnboardArgs),
    /// Remove a developer from every file, then show the plan.
    Offboard(OffboardArgs),
    /// Give a managed user a second access key; `--finish` retires the old one.
    RotateKey(RotateKeyArgs),
    /// Report old or unused keys, console passwords and strays; exit 1 when
    /// something needs action.
    Audit(AuditArgs),
    /// Break a stale apply lock, left by a run that was killed.
    ///
    /// Every command that changes the account holds a lock in it while it
    /// runs; one that is killed outright keeps it, and the next run stops
    /// with its id. Check that no provision run is in progress, then give
    /// that id: the lock is removed only if it is still that one.
    Unlock(UnlockArgs),
    /// Write clients files from an account set up by hand, and report the
    /// holes it has (wildcards reaching other buckets, CloudFront on `*`,
    /// users in several clients, unused keys, console users without MFA).
    ///
    /// Reads the account (as plan does, plus the bucket list, the
    /// documents of attached policies and the credential report) and
    /// changes nothing in it. Existing files are never replaced without
    /// `--force`.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The directory to write the files to (created when missing).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_CONFIG)]
    pub out: PathBuf,
    /// Replace files of the same names that already exist in DIR.
    #[arg(long)]
    pub force: bool,
    /// The managed path the files declare (`settings.path`).
    #[arg(long, value_name = "PATH", default_value = crate::model::DEFAULT_PATH)]
    pub path: String,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
    pub format: VerifyFormat,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The lock's id, as the refused run printed it.
    #[arg(value_name = "ID")]
    pub id: String,
    /// `.toml` files or directories of them, for the settings (account,
    /// managed path).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl Command {
    /// How to reach AWS, for the commands that call it.
    pub fn aws(&self) -> Option<&AwsArgs> {
        match self {
            Command::Plan(PlanArgs { aws, .. })
            | Command::Apply(ApplyArgs { aws, .. })
            | Command::Verify(VerifyArgs { aws, .. })
            | Command::Onboard(OnboardArgs { aws, .. })
            | Command::Offboard(OffboardArgs { aws, .. })
            | Command::RotateKey(RotateKeyArgs { aws, .. })
            | Command::Audit(AuditArgs { aws, .. })
            | Command::Unlock(UnlockArgs { aws, .. })
            | Command::Report(ReportArgs { aws, .. })
            | Command::Import(ImportArgs { aws, .. }) => Some(aws),
            Command::Validate { .. }
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::Schema
            | Command::Policy { .. } => None,
        }
    }

    /// Gives a command that reads the configuration and was given no PATH
    /// the one default, [`DEFAULT_CONFIG`], and returns it so that the
    /// caller can say what was read. `None` when PATHs were given or the
    /// command reads no configuration.
    pub fn default_paths(&mut self) -> Option<PathBuf> {
        let paths = match self {
            Command::Validate { paths }
            | Command::Plan(PlanArgs { paths, .. })
            | Command::Apply(ApplyArgs { paths, .. })
            | Command::Verify(VerifyArgs { paths, .. })
            | Command::Report(ReportArgs { paths, .. })
            | Command::Policy {
                policy: PolicyCommand::Operator { paths } | PolicyCommand::Boundary { paths },
            }
            | Command::Offboard(OffboardArgs { paths, .. })
            | Command::Unlock(UnlockArgs { paths, .. })
            | Command::Audit(AuditArgs { paths, .. }) => paths,
            // With `--due` there is no USER: the first argument is a PATH.
            Command::RotateKey(args) => {
                if args.due
                    && let Some(first) = args.user.take()
                {
                    args.paths.insert(0, PathBuf::from(first));
                }
                &mut args.paths
            }
            // onboard takes PATHs too; with `--file` alone it reads that
            // file's directory.
            Command::Onboard(args) if args.file.is_none() => &mut args.paths,
            Command::Onboard(_)
            | Command::Import(_)
            | Command::Completions { .. }
            | Command::Man { .. }
            | Command::Schema => {
                return None;
            }
        };
        if !paths.is_empty() {
            return None;
        }
        paths.push(PathBuf::from(DEFAULT_CONFIG));
        Some(PathBuf::from(DEFAULT_CONFIG))
    }
}

/// The policies `provision policy` prints.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// The least-privilege policy for whoever runs provision: reads on `*`,
    /// writes only on users and client groups under the managed path, users
    /// created only with the configured permissions boundary.
    Operator {
        /// `.toml` files or directories of them, for the settings (managed
        /// path, boundary, account) (default `clients/`).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// A permissions boundary permitting exactly what provision grants the
    /// clients in the files: S3 on their buckets and prefixes, CloudFront
    /// invalidations on their distributions.
    Boundary {
        /// `.toml` files or directories of them (default `clients/`).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct RotateKeyArgs {
    /// The IAM user (a developer or an application user). Not given with
    /// `--due`, where every argument is a PATH.
    #[arg(value_name = "USER", required_unless_present = "due")]
    pub user: Option<String>,
    /// `.toml` files or directories of them, for the settings (managed
    /// path, account) (default `clients/`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Deactivate, then delete, the older key. With `--due`: of every
    /// application user of the configuration whose rotation is under way.
    #[arg(long)]
    pub finish: bool,
    /// Rotate the key of every application user of the configuration
    /// whose key is older than `settings.max_key_age_days` (default 90):
    /// a new key is delivered and the older one stays active for the
    /// overlap, until `--due --finish`.
    #[arg(long)]
    pub due: bool,
    /// Write the new secret access key to `DIR/<user>.json` (mode 0600)
    /// instead of printing it once.
    #[arg(long, value_name = "DIR", conflicts_with = "finish")]
    pub credentials_dir: Option<PathBuf>,
    /// Print the new secret access key even when standard output is not a
    /// terminal (without a delivery, a new key is then refused, so that
    /// the secret never lands in a CI log by default).
    #[arg(long, conflicts_with_all = ["finish", "credentials_dir"])]
    pub print_secrets: bool,
    /// Store the new secret access key in a secret store
    /// (`ssm:/PREFIX/` or `secretsmanager:PREFIX`); overrides
    /// `settings.deliver`.
    #[arg(long, value_name = "STORE", value_parser = parse_store, conflicts_with_all = ["finish", "credentials_dir", "print_secrets"])]
    pub deliver: Option<SecretStore>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// `--deliver`'s value, checked as `settings.deliver` is.
fn parse_store(text: &str) -> Result<SecretStore, String> {
    crate::config::delivery::parse_delivery(text).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// `.toml` files or directories of them (default `clients/`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
    pub format: VerifyFormat,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// What `onboard` and `offboard` do after editing the files.
#[derive(Debug, Args)]
pub struct AfterEdit {
    /// Apply the resulting plan (asks for confirmation unless `--yes`).
    #[arg(long)]
    pub apply: bool,
    /// With `--apply`: apply without asking for confirmation.
    #[arg(long, short = 'y', requires = "apply")]
    pub yes: bool,
    /// With `--apply`: write each new secret access key to `DIR/<user>.json`.
    #[arg(long, value_name = "DIR", requires = "apply")]
    pub credentials_dir: Option<PathBuf>,
    /// With `--apply`: print new secret access keys even when standard
    /// output is not a terminal.
    #[arg(long, requires = "apply", conflicts_with = "credentials_dir")]
    pub print_secrets: bool,
    /// With `--apply`: store each new secret access key in a secret store
    /// (`ssm:/PREFIX/` or `secretsmanager:PREFIX`); overrides
    /// `settings.deliver`.
    #[arg(long, value_name = "STORE", value_parser = parse_store, requires = "apply", conflicts_with_all = ["credentials_dir", "print_secrets"])]
    pub deliver: Option<SecretStore>,
}

#[derive(Debug, Args)]
pub struct OnboardArgs {
    /// The developer's IAM user name.
    #[arg(value_name = "DEV")]
    pub developer: String,
    /// The client to add the developer to.
    #[arg(long, value_name = "NAME")]
    pub client: String,
    /// The developer's e-mail address, when the developer is new.
    #[arg(long, value_name = "E")]
    pub email: Option<String>,
    /// `.toml` files or directories of them holding the configuration
    /// (default `clients/`); the client's file is found among them.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The file to edit; by default the file of the configuration that
    /// declares the client.
    #[arg(long, value_name = "F")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub after: AfterEdit,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct OffboardArgs {
    /// The developer's IAM user name.
    #[arg(value_name = "DEV")]
    pub developer: String,
    /// `.toml` files or directories of them to remove the developer from
    /// (default `clients/`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Keep a disabled user (no groups, keys inactive, no console password)
    /// instead of deleting it.
    #[arg(long)]
    pub keep_user: bool,
    #[command(flatten)]
    pub after: AfterEdit,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// A pull-request comment: summary table, then details per client.
    Markdown,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// `.toml` files or directories of them (default `clients/`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 2 when there are changes, 0 when there are none, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also save the plan to FILE (JSON, no secrets), for
    /// `provision apply FILE` to apply exactly these changes later.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Remove managed users' permissions boundaries when
    /// `settings.permissions_boundary` is not set (else they are kept, with
    /// a warning).
    #[arg(long)]
    pub remove_boundaries: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Take over a user or group made by hand (repeat, or separate names
    /// with commas): a declared user is moved under the managed path and
    /// tagged, and leaves every group provision does not manage; a group
    /// `client-<client>` is moved under the managed path; a group named like
    /// a client is emptied and deleted. Needs an administrator.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub adopt: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// `.toml` files or directories of them (default `clients/`), or one
    /// saved plan (`.json`, from `plan --out`), which is applied without
    /// asking again.
    #[arg(value_name = "PATH|PLANFILE")]
    pub paths: Vec<PathBuf>,
    /// Apply without asking for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Write each new secret access key to `DIR/<user>.json` (mode 0600,
    /// in a directory only you can write to) instead of printing it once at
    /// the end.
    #[arg(long, value_name = "DIR")]
    pub credentials_dir: Option<PathBuf>,
    /// Print new secret access keys once at the end even when standard
    /// output is not a terminal. Without a terminal and without this flag
    /// or `--credentials-dir`, an apply that would create a key is refused,
    /// so that secrets never land in a CI log by default.
    #[arg(long, conflicts_with = "credentials_dir")]
    pub print_secrets: bool,
    /// Store each new secret access key in a secret store as it is
    /// created: `ssm:/PREFIX/` (an SSM Parameter Store SecureString named
    /// `/PREFIX/<user>`) or `secretsmanager:PREFIX` (a Secrets Manager
    /// secret named `PREFIX<user>`). Overrides `settings.deliver`.
    #[arg(long, value_name = "STORE", value_parser = parse_store, conflicts_with_all = ["credentials_dir", "print_secrets"])]
    pub deliver: Option<SecretStore>,
    /// How many AWS calls may be in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Remove managed users' permissions boundaries when
    /// `settings.permissions_boundary` is not set (else they are kept, with
    /// a warning). Needs `iam:DeleteUserPermissionsBoundary`, which the
    /// operator policy denies: an administrator's job.
    #[arg(long)]
    pub remove_boundaries: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Take over a user or group made by hand (repeat, or separate names
    /// with commas): a declared user is moved under the managed path and
    /// tagged, and leaves every group provision does not manage; a group
    /// `client-<client>` is moved under the managed path; a group named like
    /// a client is emptied and deleted. Needs an administrator.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub adopt: Vec<String>,
}

/// Output formats of `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyFormat {
    Text,
    Json,
}

/// Output formats of `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One self-contained page: no script, font or link to fetch.
    Html,
    /// For a pull request or a wiki.
    Markdown,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// `.toml` files or directories of them (default `clients/`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Report on this client (else: an overview of every client).
    #[arg(long, value_name = "NAME")]
    pub client: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// `.toml` files or directories of them (default `clients/`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
    pub format: VerifyFormat,
    /// Cross-check every answer with `iam:SimulatePrincipalPolicy` (one call
    /// per principal); fails if the account does not support it.
    #[arg(long)]
    pub simulate: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// `validate`, `schema`, `man`, `policy` and `completions` never call
    /// AWS and used to list `--profile`, `--region` and `--endpoint-url`;
    /// the commands that call AWS list them under their own heading.
    #[test]
    fn aws_flags_only_on_commands_that_call_aws() {
        let mut cli = Cli::command();
        cli.build();
        let offline = ["validate", "schema", "man", "policy", "completions", "help"];
        for sub in cli.get_subcommands() {
            let name = sub.get_name();
            let mut commands = vec![sub];
            commands.extend(sub.get_subcommands());
            for command in commands {
                for flag in ["profile", "region", "endpoint_url"] {
                    let arg = command.get_arguments().find(|a| a.get_id() == flag);
                    if offline.contains(&name) {
                        assert!(arg.is_none(), "`{name}` offers `--{flag}`");
                    } else if command.get_name() == name {
                        let arg = arg.unwrap_or_else(|| panic!("`{name}` lacks `--{flag}`"));
                        assert_eq!(arg.get_help_heading(), Some("AWS options"), "{name}");
                    }
                }
            }
        }
    }
}
