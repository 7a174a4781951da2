use std::process::ExitCode;

// Allocation-heavy GraphQL responses scale across threads much better than with glibc malloc,
// whose arena locks showed up as ~20 % of the CPU of the nested page under load. The crate's
// `override` feature also serves the C code's malloc (SQLite: +23 % on the nested page) and
// `no_thp` keeps transparent huge pages from inflating the resident memory (94 -> 48 MiB).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use crm_server::cli::{Cli, Command, DocumentsAction, MigrateAction};
use crm_server::{app, cli, graphql, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let Cli { command, config } = Cli::parse();
    if let Some(Command::Schema) = command {
        print!("{}", graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let traces = config.server.traces_endpoint().ok().flatten();
    let telemetry = match telemetry::init(config.server.log_format(), traces.as_deref()) {
        Ok(telemetry) => telemetry,
        Err(message) => {
            tracing::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(message) = config.validate() {
        tracing::error!("{message}");
        return ExitCode::FAILURE;
    }
    let result = match command {
        Some(Command::Seed(args)) => cli::seed(&config.database, &args).await,
        Some(Command::CreateAdmin(args)) => cli::create_admin(&config.database, args).await,
        Some(Command::ApiToken(args)) => cli::api_token(&config.database, args).await,
        Some(Command::CheckTotals { fix }) => cli::check_totals(&config.database, fix).await,
        Some(Command::Import(args)) => cli::import(&config.database, args).await,
        Some(Command::Documents {
            action: DocumentsAction::Sweep,
        }) => cli::documents_sweep(&config).await,
        Some(Command::Backup { file }) => crm_server::backup::backup(&config.database, &file).await,
        Some(Command::Restore { file }) => {
            crm_server::backup::restore(&config.database, &file).await
        }
        Some(Command::Migrate { action }) => {
            cli::migrate(&config.database, action.unwrap_or(MigrateAction::Up)).await
        }
        _ => app::serve(config).await,
    };
    telemetry.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "fatal");
            ExitCode::FAILURE
        }
    }
}
