//! The command line: `serve` (the default), `migrate`, `schema`.

use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};

use crate::config::{Config, DatabaseConfig};

/// CRM GraphQL API: a GraphQL server over the sales CRM database.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the server (the default).
    Serve,
    /// Apply or roll back migrations, then exit.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Print the GraphQL schema (SDL) to stdout: `crm-server schema > schema.graphql`.
    Schema,
    /// Fill an empty database with deterministic demo data (migrating it first).
    Seed(crate::seed::SeedArgs),
}

#[derive(Subcommand, Clone, Copy)]
pub enum MigrateAction {
    /// Apply every pending migration (the default).
    Up,
    /// Roll back the last migration.
    Down,
    /// Roll back every migration, then apply them all again (erases the data).
    Reset,
    /// List migrations and whether they are applied.
    Status,
}

/// Runs `migrate`.
pub async fn migrate(
    database: &DatabaseConfig,
    action: MigrateAction,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let db = crate::db::connect(&database.url(), 2).await?;
    match action {
        MigrateAction::Up => Migrator::up(&db, None).await?,
        MigrateAction::Down => Migrator::down(&db, Some(1)).await?,
        MigrateAction::Reset => Migrator::fresh(&db).await?,
        MigrateAction::Status => Migrator::status(&db).await?,
    }
    db.close().await?;
    Ok(())
}

/// Runs `seed`.
pub async fn seed(
    database: &DatabaseConfig,
    args: &crate::seed::SeedArgs,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let db = crate::db::connect(&database.url(), 2).await?;
    Migrator::up(&db, None).await?;
    crate::seed::seed(&db, args)
        .await
        .map_err(|err| match err {
            crate::error::AppError::Database(cause) => cause.to_string(),
            other => other.to_string(),
        })?;
    db.close().await?;
    Ok(())
}
