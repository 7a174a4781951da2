//! `crm-server` processes of their own (several instances, signals), stopped when dropped.

use std::time::Duration;

/// A server process on a free local port.
pub struct Server {
    pub child: std::process::Child,
    pub address: std::net::SocketAddr,
    _documents: tempfile::TempDir,
}

impl Server {
    /// Starts `crm-server` with nothing of this process's environment but `settings` (and a
    /// documents directory of its own, no sweep); returns once it accepts connections.
    pub async fn start(settings: &[(&str, &str)]) -> Server {
        Server::start_logging(settings, None).await
    }

    /// [`Server::start`], its log lines (standard output) going to the file `log`, which a
    /// failure to start shows.
    pub async fn start_logging(settings: &[(&str, &str)], log: Option<&std::path::Path>) -> Server {
        let output = match log {
            Some(path) => std::process::Stdio::from(std::fs::File::create(path).unwrap()),
            None => std::process::Stdio::null(),
        };
        let logged = || {
            log.and_then(|path| std::fs::read_to_string(path).ok())
                .unwrap_or_default()
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let documents = tempfile::tempdir().unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_crm-server"))
            .env_clear()
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("CRM_DOCUMENTS_DIR", documents.path())
            .env("CRM_DOCUMENTS_SWEEP_SECS", "0")
            .env("RUST_LOG", "warn")
            // Few connections: the other tests share the PostgreSQL server's.
            .env("CRM_DB_MAX_CONNECTIONS", "4")
            .envs(settings.iter().copied())
            .stdout(output)
            .spawn()
            .unwrap();
        let mut server = Server {
            child,
            address: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            _documents: documents,
        };
        // Up to 30 s: a debug build migrating while the other tests load the machine.
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(server.address).await.is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "the server on port {port} stopped at start: {status}\n{}",
                    logged()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server on port {port} did not start\n{}", logged());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
