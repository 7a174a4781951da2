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
        Server::start_logging(settings, std::process::Stdio::null()).await
    }

    /// [`Server::start`], its log lines (standard output) going to `log`.
    pub async fn start_logging(
        settings: &[(&str, &str)],
        log: impl Into<std::process::Stdio>,
    ) -> Server {
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
            .envs(settings.iter().copied())
            .stdout(log)
            .spawn()
            .unwrap();
        let server = Server {
            child,
            address: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            _documents: documents,
        };
        // Up to 30 s: a debug build migrating while the other tests load the machine.
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(server.address).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server on port {port} did not start");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
