//! Real services a test starts for itself on a free port of 127.0.0.1 (an S3 server, ClamAV's
//! daemon …), stopped when dropped. When the program cannot start, the test's use of it is
//! skipped with a loud notice, unless its `CRM_TEST_REQUIRE_*` variable is `1` (CI), which
//! makes that a failure.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running service.
pub struct Service {
    child: Child,
    pub port: u16,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port of 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Starts `program` with the arguments `args(port)` and waits until it listens on `port`.
/// `require` names the variable that makes a failure to start fatal; `install` says how to
/// get the program.
pub async fn start(
    program: &str,
    args: impl FnOnce(u16) -> Vec<String>,
    require: &str,
    install: &str,
) -> Option<Service> {
    let required = std::env::var(require).is_ok_and(|v| v == "1");
    let port = free_port();
    let child = match Command::new(program)
        .args(args(port))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(error) if !required => {
            eprintln!(
                "\n## SKIPPED: part of this test: `{program}` could not start ({error}).\n\
                 ## {install}; {require}=1 makes this a failure.\n"
            );
            return None;
        }
        Err(error) => panic!("{require}=1 but `{program}` could not start: {error}"),
    };
    let service = Service { child, port };
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(service);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("`{program}` did not listen on port {port} within 30 s");
}
