//! `crm-server backup` and `crm-server restore`: a consistent copy of the database, taken while
//! the server serves, and putting one back.
//!
//! - SQLite: `VACUUM INTO` writes the copy from one read transaction (writes go on meanwhile;
//!   the copy is the database as of its start, compacted). Restoring puts the copy in place of
//!   the database file (and drops its write-ahead log): stop the server first.
//! - PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean --if-exists --no-owner
//!   --single-transaction`, the client tools of the server's major version (or newer) on the
//!   `PATH`. The password goes to them in `PGPASSWORD`, not on their command line.

use std::path::{Path, PathBuf};
use std::process::Command;

use sea_orm::ConnectionTrait;

use crate::config::DatabaseConfig;

/// Why a backup or a restore failed (said to the operator).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Writes a copy of the database to `to` (which must not exist).
pub async fn backup(database: &DatabaseConfig, to: &Path) -> Result<(), Error> {
    if to.exists() {
        return Err(format!("{} exists: give a new file", to.display()).into());
    }
    let url = database.url();
    match sqlite_file(&url) {
        Some(_) => {
            let db = crate::db::connect(&url, 1).await?;
            let target = to.to_str().ok_or("the backup's path is not UTF-8")?;
            db.execute_raw(sea_orm::Statement::from_sql_and_values(
                sea_orm::DbBackend::Sqlite,
                "VACUUM INTO ?",
                [target.into()],
            ))
            .await?;
            db.close().await?;
            Ok(())
        }
        None => postgres_tool("pg_dump", &url, |command| {
            command.arg("--format=custom").arg("--file").arg(to);
        }),
    }
}

/// Puts the copy in `from` back in place of the database.
pub async fn restore(database: &DatabaseConfig, from: &Path) -> Result<(), Error> {
    if !from.is_file() {
        return Err(format!("{} is not a file", from.display()).into());
    }
    let url = database.url();
    match sqlite_file(&url) {
        Some(file) => {
            // A copy beside the database first: checked to be a database of ours, then put in
            // place in one rename.
            let mut staging = file.clone().into_os_string();
            staging.push(".restoring");
            let staging = PathBuf::from(staging);
            std::fs::copy(from, &staging)?;
            let checked = async {
                let url = format!("sqlite://{}?mode=rw", staging.display());
                let check = crate::db::connect(&url, 1).await?;
                let current = crate::db::migrations_current(&check).await;
                check.close().await?;
                current
            }
            .await;
            if let Err(err) = checked {
                remove_sqlite_files(&staging)?;
                return Err(format!("{} is not a CRM database: {err}", from.display()).into());
            }
            remove_sqlite_files(&file)?;
            std::fs::rename(&staging, &file)?;
            Ok(())
        }
        None => postgres_tool("pg_restore", &url, |command| {
            command
                .args([
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                ])
                .arg(from);
        }),
    }
}

/// Removes a SQLite database file and its write-ahead log, those that exist.
fn remove_sqlite_files(file: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = file.as_os_str().to_owned();
        path.push(suffix);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// The file of a SQLite URL; `None` for PostgreSQL.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let path = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(path))
}

/// Runs a PostgreSQL client tool on `url`'s database (its password in `PGPASSWORD`).
fn postgres_tool(tool: &str, url: &str, arguments: impl FnOnce(&mut Command)) -> Result<(), Error> {
    let mut parsed = url::Url::parse(url).map_err(|err| format!("the database URL: {err}"))?;
    let password = parsed.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    let _ = parsed.set_password(None);
    let mut command = Command::new(tool);
    command.arg("--dbname").arg(parsed.as_str());
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    arguments(&mut command);
    let status = command
        .status()
        .map_err(|err| format!("cannot run {tool} (install PostgreSQL's client tools): {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{tool} failed ({status}); its messages are above").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_url_names_its_file() {
        assert_eq!(
            sqlite_file("sqlite://data/crm.db?mode=rwc"),
            Some(PathBuf::from("data/crm.db"))
        );
        assert_eq!(sqlite_file("postgres://u:p@h/db"), None);
    }
}
