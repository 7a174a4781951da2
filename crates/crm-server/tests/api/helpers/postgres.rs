//! PostgreSQL servers a test makes for itself beside the test cluster: a streaming replica (a
//! second cluster from `pg_basebackup`) and PgBouncer in front of the cluster. Each runs as the
//! `postgres` user when the tests run as root, on a free port of 127.0.0.1, and stops when
//! dropped. They exist only where the test cluster does: a test asks for them after
//! `TestApp::spawn(Backend::Postgres)` gave it a database.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::services::free_port;

/// The test cluster's admin URL, parsed.
fn admin() -> url::Url {
    url::Url::parse(&super::pg_admin_url()).unwrap()
}

/// The user and group the servers run as: `postgres` when the tests run as root (PostgreSQL
/// and PgBouncer refuse root), the tests' own otherwise.
fn owner() -> Option<(u32, u32)> {
    let id = |flag: &str, user: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, user]).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    let me = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    Some((
        id("-u", "postgres").expect("no `postgres` user to run PostgreSQL as"),
        id("-g", "postgres").expect("no `postgres` group"),
    ))
}

fn as_owner(command: &mut Command) -> &mut Command {
    if let Some((uid, gid)) = owner() {
        command.uid(uid).gid(gid);
    }
    command
}

/// A directory the servers' user owns.
fn owned_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some((uid, gid)) = owner() {
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
    }
    dir
}

/// The one value `sql` answers on PostgreSQL.
pub async fn scalar<T: sea_orm::TryGetable>(db: &sea_orm::DatabaseConnection, sql: &str) -> T {
    use sea_orm::ConnectionTrait;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            sql,
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

/// The primary's current WAL position (`pg_lsn` as text): every commit so far is before it.
pub async fn wal_position(primary: &sea_orm::DatabaseConnection) -> String {
    scalar(primary, "SELECT pg_current_wal_lsn()::text").await
}

/// The directory of the test cluster's programs (`pg_basebackup`, `postgres`), by its major
/// version.
async fn bin_dir(admin: &sea_orm::DatabaseConnection) -> PathBuf {
    let major: i32 = scalar(
        admin,
        "SELECT current_setting('server_version_num')::int / 10000",
    )
    .await;
    let dir = PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"));
    assert!(
        dir.join("pg_basebackup").exists(),
        "PostgreSQL {major}'s programs are not in {}",
        dir.display()
    );
    dir
}

/// A server process, stopped (fast shutdown) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_for_port(port: u16, what: &str) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not listen on port {port} within 30 s");
}

/// A hot standby of the test cluster, streaming from it.
pub struct Replica {
    process: Option<Process>,
    pub port: u16,
    _data: tempfile::TempDir,
}

impl Replica {
    /// Copies the test cluster with `pg_basebackup` and starts it as a standby.
    pub async fn start() -> Replica {
        let admin_url = admin();
        let admin = sea_orm::Database::connect(admin_url.as_str())
            .await
            .unwrap();
        let bin = bin_dir(&admin).await;
        admin.close().await.unwrap();
        let data = owned_dir();
        let target = data.path().join("data");
        let status = as_owner(&mut Command::new(bin.join("pg_basebackup")))
            .args(["--pgdata", &target.to_string_lossy()])
            .args(["--host", admin_url.host_str().unwrap_or("127.0.0.1")])
            .args(["--port", &admin_url.port().unwrap_or(5432).to_string()])
            .args(["--username", admin_url.username()])
            .args([
                "--wal-method=stream",
                "--write-recovery-conf",
                "--checkpoint=fast",
            ])
            .env("PGPASSWORD", admin_url.password().unwrap_or_default())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_basebackup failed");
        // Debian keeps a cluster's configuration in /etc: the copy gets its own.
        for (name, text) in [
            ("postgresql.conf", "hot_standby = on\n"),
            (
                "pg_hba.conf",
                "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
            ),
        ] {
            let path = target.join(name);
            std::fs::write(&path, text).unwrap();
            if let Some((uid, gid)) = owner() {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
            }
        }
        let port = free_port();
        let process = as_owner(&mut Command::new(bin.join("postgres")))
            .args(["-D", &target.to_string_lossy()])
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args([
                "-c",
                &format!("unix_socket_directories={}", data.path().display()),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let replica = Replica {
            process: Some(Process(process)),
            port,
            _data: data,
        };
        wait_for_port(port, "the replica").await;
        replica
    }

    /// `database_url` (a database of the test cluster) on this replica.
    pub fn url(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).unwrap();
        url.set_port(Some(self.port)).unwrap();
        url.to_string()
    }

    /// Waits until the replica has replayed everything the primary (`primary`, any database
    /// of the cluster) has written so far.
    pub async fn catch_up(&self, primary: &sea_orm::DatabaseConnection, replica: &str) {
        use sea_orm::ConnectionTrait;
        let target = wal_position(primary).await;
        let standby = sea_orm::Database::connect(replica).await.unwrap();
        for _ in 0..300 {
            let caught_up = standby
                .query_one_raw(sea_orm::Statement::from_sql_and_values(
                    sea_orm::DbBackend::Postgres,
                    "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn",
                    [target.clone().into()],
                ))
                .await
                .ok()
                .flatten()
                .and_then(|row| row.try_get_by_index::<Option<bool>>(0).ok().flatten());
            if caught_up == Some(true) {
                standby.close().await.unwrap();
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the replica did not catch up within 15 s");
    }

    /// Stops the replica now.
    pub fn stop(&mut self) {
        self.process.take();
    }
}

/// How PgBouncer hands server connections to clients.
#[derive(Debug, Clone, Copy)]
pub enum PoolMode {
    Session,
    Transaction,
}

/// PgBouncer (Debian's package) in front of the test cluster.
pub struct Bouncer {
    _process: Process,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Bouncer {
    /// Starts PgBouncer in `mode` for every database of the test cluster; `None` (with a loud
    /// notice) when it is not installed, unless `CRM_TEST_REQUIRE_PGBOUNCER=1` (CI), which
    /// makes that a failure.
    pub async fn start(mode: PoolMode) -> Option<Bouncer> {
        let admin_url = admin();
        let dir = owned_dir();
        let port = free_port();
        let user = admin_url.username().to_owned();
        let password = admin_url.password().unwrap_or_default().to_owned();
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            if let Some((uid, gid)) = owner() {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
            }
            path
        };
        let users = write("users.txt", format!("\"{user}\" \"{password}\"\n"));
        let mode = match mode {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        };
        let config = write(
            "pgbouncer.ini",
            format!(
                "[databases]\n* = host={host} port={pg_port} user={user} password={password}\n\
                 [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
                 unix_socket_dir =\nauth_type = plain\nauth_file = {users}\n\
                 pool_mode = {mode}\ndefault_pool_size = 40\nmax_client_conn = 400\n\
                 ignore_startup_parameters = extra_float_digits,options\n",
                host = admin_url.host_str().unwrap_or("127.0.0.1"),
                pg_port = admin_url.port().unwrap_or(5432),
                users = users.display(),
            ),
        );
        let program = which("pgbouncer", &["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]);
        let process = match as_owner(&mut Command::new(program))
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(process) => process,
            Err(error) if std::env::var("CRM_TEST_REQUIRE_PGBOUNCER").is_ok_and(|v| v == "1") => {
                panic!("CRM_TEST_REQUIRE_PGBOUNCER=1 but PgBouncer could not start: {error}")
            }
            Err(error) => {
                eprintln!(
                    "\n## SKIPPED: the PgBouncer test: PgBouncer could not start ({error}).\n\
                     ## apt-get install pgbouncer; CRM_TEST_REQUIRE_PGBOUNCER=1 makes this a failure.\n"
                );
                return None;
            }
        };
        let bouncer = Bouncer {
            _process: Process(process),
            port,
            _dir: dir,
        };
        wait_for_port(port, "PgBouncer").await;
        Some(bouncer)
    }

    /// `database_url` (a database of the test cluster) through PgBouncer.
    pub fn url(&self, database_url: &str) -> String {
        let mut url = url::Url::parse(database_url).unwrap();
        url.set_port(Some(self.port)).unwrap();
        url.to_string()
    }
}

fn which(program: &str, places: &[&str]) -> PathBuf {
    places
        .iter()
        .map(Path::new)
        .find(|path| path.exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(program))
}
