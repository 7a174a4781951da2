//! The command line: `serve` (the default), `migrate`, `schema`, `seed`, `create-admin`,
//! `api-token`, `check-totals`.

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
    /// Create an administrator (migrating the database first). Prints a generated password
    /// once unless CRM_ADMIN_PASSWORD (or --password) gives one.
    CreateAdmin(crate::bootstrap::CreateAdminArgs),
    /// Create a personal API token for a user and print it (only its hash is stored).
    ApiToken(crate::bootstrap::ApiTokenArgs),
    /// Recompute the stored totals (contracts' from their payments, clients' from their
    /// contracts) and list any that differ; exit status 1 when some do (unless `--fix`).
    CheckTotals {
        /// Store the recomputed values where they differ.
        #[arg(long)]
        fix: bool,
    },
    /// Write a consistent copy of the database to a new file, while the server serves
    /// (SQLite: `VACUUM INTO`; PostgreSQL: `pg_dump --format=custom`).
    Backup {
        /// The file to write (must not exist).
        file: std::path::PathBuf,
    },
    /// Put a copy made by `backup` back in place of the database (SQLite: stop the server
    /// first; PostgreSQL: `pg_restore --clean`, in one transaction).
    Restore {
        /// The copy.
        file: std::path::PathBuf,
    },
    /// Import a CSV file of clients, contracts or payments as a user (their role and
    /// portfolio apply), as `POST /import/…` does; prints the report (JSON). Exit status 1 when
    /// rows were refused.
    Import(ImportArgs),
    /// Document files: `documents sweep` removes the files of abandoned uploads.
    Documents {
        #[command(subcommand)]
        action: DocumentsAction,
    },
}

#[derive(clap::Args, Clone)]
pub struct ImportArgs {
    /// `clients`, `contracts` or `payments`.
    pub table: String,
    /// The CSV file.
    pub file: std::path::PathBuf,
    /// The e-mail of the user the rows are written as.
    #[arg(long = "as")]
    pub user: String,
    /// Check every row, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the good rows and report the others (default: all or nothing).
    #[arg(long)]
    pub per_row: bool,
}

#[derive(Subcommand, Clone, Copy)]
pub enum DocumentsAction {
    /// Delete the stored files that no document names, once older than
    /// CRM_DOCUMENTS_GRACE_SECS (uploads that failed between the file and its row).
    Sweep,
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
        MigrateAction::Up => crate::db::migrate(&db).await?,
        MigrateAction::Down => Migrator::down(&db, Some(1)).await?,
        MigrateAction::Reset => Migrator::fresh(&db).await?,
        MigrateAction::Status => Migrator::status(&db).await?,
    }
    db.close().await?;
    Ok(())
}

fn message(err: crate::error::AppError) -> String {
    match err {
        crate::error::AppError::Database(cause) | crate::error::AppError::Unavailable(cause) => {
            cause.to_string()
        }
        other => other.to_string(),
    }
}

/// Runs `create-admin`.
pub async fn create_admin(
    database: &DatabaseConfig,
    args: crate::bootstrap::CreateAdminArgs,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let db = crate::db::connect(&database.url(), 2).await?;
    Migrator::up(&db, None).await?;
    let (user, generated) = crate::bootstrap::create_admin(&db, args)
        .await
        .map_err(message)?;
    println!("created admin {} ({})", user.email, user.id);
    if let Some(password) = generated {
        println!("password (shown once): {password}");
    }
    db.close().await?;
    Ok(())
}

/// Runs `api-token`: prints the token alone on stdout.
pub async fn api_token(
    database: &DatabaseConfig,
    args: crate::bootstrap::ApiTokenArgs,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let db = crate::db::connect(&database.url(), 2).await?;
    let token = crate::bootstrap::api_token(&db, args)
        .await
        .map_err(message)?;
    println!("{token}");
    db.close().await?;
    Ok(())
}

/// Runs `import`.
pub async fn import(
    database: &DatabaseConfig,
    args: ImportArgs,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use crate::csv::import::{Kind, Options, Refusal};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let kind = Kind::named(&args.table)
        .ok_or_else(|| format!("`{}`: import clients, contracts or payments", args.table))?;
    let file = tokio::fs::File::open(&args.file)
        .await
        .map_err(|err| format!("{}: {err}", args.file.display()))?;
    let db = crate::db::connect(&database.url(), 2).await?;
    let user = entity::users::Entity::find()
        .filter(entity::users::Column::Email.eq(args.user.as_str()))
        .filter(entity::users::Column::IsActive.eq(true))
        .one(&db)
        .await?
        .ok_or_else(|| format!("no active user has the e-mail {}", args.user))?;
    let viewer = crate::auth::Viewer {
        user_id: user.id,
        role: user.role,
    };
    let options = Options {
        dry_run: args.dry_run,
        per_row: args.per_row,
    };
    let rows = crate::csv::import::read_rows(file, u64::MAX);
    let report = crate::csv::import::run(&db, kind, viewer, options, rows, |_| {}).await;
    db.close().await?;
    let report = match report {
        Ok(report) => report,
        Err(Refusal::File { field, message }) => return Err(format!("{field}: {message}").into()),
        Err(Refusal::Failed(err)) => return Err(err.to_string().into()),
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    if report.failed > 0 {
        return Err(format!("import: {} row(s) refused", report.failed).into());
    }
    Ok(())
}

/// Runs `check-totals`.
pub async fn check_totals(
    database: &DatabaseConfig,
    fix: bool,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let db = crate::db::connect(&database.url(), 2).await?;
    Migrator::up(&db, None).await?;
    let drifts = crate::totals::check(&db, fix).await?;
    for drift in &drifts {
        println!("{drift}");
    }
    db.close().await?;
    match (drifts.len(), fix) {
        (0, _) => {
            println!("totals: no drift");
            Ok(())
        }
        (n, true) => {
            println!("totals: {n} stored total(s) repaired");
            Ok(())
        }
        (n, false) => Err(format!("totals: {n} stored total(s) drifted (run with --fix)").into()),
    }
}

/// Runs `documents sweep`.
pub async fn documents_sweep(
    config: &crate::config::Config,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let db = crate::db::connect(&config.database.url(), 2).await?;
    Migrator::up(&db, None).await?;
    let storage = config.storage.open(&config.database)?;
    let grace = std::time::Duration::from_secs(config.storage.documents_grace_secs);
    let removed = crate::documents::sweep::sweep(&db, &storage, grace, chrono::Utc::now()).await?;
    for key in &removed {
        println!("removed {key}");
    }
    println!("documents: {} abandoned file(s) removed", removed.len());
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
    crate::seed::seed(&db, args).await.map_err(message)?;
    if args.password.is_some() {
        // Someone to sign in as, per role.
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        for role in [
            entity::Role::Admin,
            entity::Role::Manager,
            entity::Role::Commercial,
        ] {
            let user = entity::users::Entity::find()
                .filter(entity::users::Column::Role.eq(role))
                .filter(entity::users::Column::IsActive.eq(true))
                .filter(entity::users::Column::Email.like("%@crm.example"))
                .order_by_asc(entity::users::Column::CreatedAt)
                .one(&db)
                .await?;
            if let Some(user) = user {
                println!("demo {role:?}: {} (password: the one given)", user.email);
            }
        }
    }
    db.close().await?;
    Ok(())
}
