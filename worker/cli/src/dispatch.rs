//! From a parsed command line to the command that serves it.

use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;

use crate::app::Application;
use crate::cli::{
    Cli, Command, ConfigCommand, DlqCommand, JobCommand, PolicyCommand, ScheduleCommand,
};
use crate::config::{self, Config, Use};
use crate::{bench, commands, daemon, demo, logging};

/// Runs one `tenax` command line to its end; the exit code to leave with.
///
/// Exit codes: 0 success, 1 failure (also for an `Err`); clap exits with 2 for usage
/// errors before this is called.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    run_app(cli, &Application::default()).await
}

/// Runs one command line of `app` (tenax itself, or an application built with
/// [`Daemon::builder`](crate::Daemon::builder)).
pub(crate) async fn run_app(mut cli: Cli, app: &Application) -> Result<ExitCode> {
    if let Some(target) = cli.command.target_mut() {
        target.app = app.extension.clone();
    }
    match cli.command {
        Command::Run {
            target,
            json_logs,
            no_policy_watch,
        } => {
            let overrides = config::Overrides {
                api: target.api,
                token: target.token,
            };
            let config = Config::load(
                target.config.as_deref(),
                &overrides,
                &app.extension,
                Use::Daemon,
            )?;
            logging::init(
                &config.log.level,
                json_logs || config.log.json(),
                &config.redactor,
            );
            let options = daemon::RunOptions {
                watch_policy: !no_policy_watch,
            };
            daemon::run(config, options, app).await?;
        }
        Command::Health { target, ready } => return commands::health(&target, ready).await,
        Command::Enqueue(args) => commands::enqueue(args).await?,
        Command::Stats { target, json } => commands::stats(&target, json).await?,
        Command::Job {
            command: JobCommand::Show { target, id, json },
        } => commands::show_job(&target, id, json).await?,
        Command::Job {
            command:
                JobCommand::List {
                    target,
                    state,
                    queue,
                    kind,
                    class,
                    limit,
                    cursor,
                    json,
                },
        } => {
            let filter = commands::ListFilter {
                state,
                queue,
                kind,
                class,
            };
            commands::list_jobs(&target, &filter, limit, cursor, json).await?;
        }
        Command::Job {
            command: JobCommand::Cancel { target, id },
        } => commands::cancel_job(&target, id).await?,
        Command::Dlq { command } => match command {
            DlqCommand::List {
                target,
                filter,
                limit,
                cursor,
                json,
            } => commands::dlq_list(&target, &filter, limit, cursor, json).await?,
            DlqCommand::Show { target, id, json } => commands::dlq_show(&target, id, json).await?,
            DlqCommand::Requeue {
                target,
                ids,
                filter,
                all,
                dry_run,
            } => commands::dlq_requeue(&target, &ids, &filter, all, dry_run).await?,
            DlqCommand::Delete { target, id } => commands::dlq_delete(&target, id).await?,
            DlqCommand::Purge {
                target,
                older_than,
                dry_run,
            } => {
                commands::dlq_purge(&target, &older_than, dry_run).await?;
            }
        },
        Command::Breaker { target, json } => commands::breaker(&target, json).await?,
        Command::Schedule {
            command: ScheduleCommand::List { target, json },
        } => commands::schedule_list(&target, json).await?,
        Command::Queue { command } => crate::queues::run(command).await?,
        Command::Policy { command } => match command {
            PolicyCommand::Check { file, json } => return policy_check(&file, json),
            PolicyCommand::Show { target, json } => commands::policy_show(&target, json).await?,
        },
        Command::Config { command } => match command {
            ConfigCommand::Defaults => {
                print!("{}", config::defaults_toml());
                print!("{}", config::section_note(&app.extension));
            }
            ConfigCommand::Check { file } => {
                let config = Config::load(
                    Some(&file),
                    &config::Overrides::default(),
                    &app.extension,
                    Use::Daemon,
                )?;
                println!(
                    "# {} is valid; the effective configuration (environment applied) follows.",
                    file.display()
                );
                print!("{}", config::effective_toml(&config));
            }
        },
        Command::Completions { shell } => {
            let mut command = app.command(Cli::command());
            clap_complete::generate(shell, &mut command, &app.name, &mut std::io::stdout());
        }
        Command::Man => {
            let command = app.command(Cli::command());
            clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
        }
        Command::Bench(args) => bench::run(args).await?,
        Command::Demo { jobs, seed } => {
            // Worker logs would break up the demo's status line: errors only.
            logging::init("error", false, &config::Redactor::default());
            let summary = demo::run(demo::DemoOptions {
                jobs,
                seed,
                ..demo::DemoOptions::default()
            })
            .await?;
            if !summary.accounting_holds() {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `tenax policy check FILE`: works offline; exit 1 for an invalid script.
fn policy_check(file: &std::path::Path, json: bool) -> Result<ExitCode> {
    match tenax_policies::CompiledPolicy::load_file(file) {
        Ok(policy) => {
            let report = tenax_policies::CheckReport::new(&policy);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("tenax: {err}");
            Ok(ExitCode::FAILURE)
        }
    }
}
