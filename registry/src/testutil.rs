//! Test helpers shared by the crates' tests (feature `test-util`).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private `redis-server` on a free loopback port; stopped on drop. [`RedisServer::start`]
/// keeps nothing on disk; [`RedisServer::start_durable`] keeps an append-only file synced on
/// every write, so it can be killed and restarted without losing an acknowledged write.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    pub url: String,
    pub port: u16,
    /// The data directory of a durable server.
    dir: Option<std::path::PathBuf>,
}

impl RedisServer {
    /// Starts one without persistence. Panics with an install hint when `redis-server` is
    /// missing.
    pub fn start() -> Self {
        Self::launch(free_port(), None)
    }

    /// Starts one whose append-only file in `dir` is synced on every write
    /// (`appendfsync always`), the configuration the README asks of production servers.
    pub fn start_durable(dir: &std::path::Path) -> Self {
        Self::launch(free_port(), Some(dir.to_owned()))
    }

    /// Kills the server (SIGKILL: no chance to flush anything).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (and data directory).
    pub fn restart(&mut self) {
        self.kill();
        let again = Self::launch(self.port, self.dir.clone());
        *self = again;
    }

    #[expect(
        clippy::panic,
        clippy::expect_used,
        reason = "a test fixture fails the test loudly"
    )]
    fn launch(port: u16, dir: Option<std::path::PathBuf>) -> Self {
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ]);
        match &dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).expect("redis data directory");
                cmd.arg("--dir")
                    .arg(dir)
                    .args(["--appendonly", "yes", "--appendfsync", "always"]);
            }
            None => {
                cmd.args(["--appendonly", "no"]);
            }
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server (apt-get install redis-server): {e}")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child: Some(child),
            url: format!("redis://127.0.0.1:{port}/"),
            port,
            dir,
        }
    }
}

/// A loopback port free now and never handed out before in this process. The kernel may
/// give a port just released to the next `bind(0)`, so two servers of concurrent tests
/// could otherwise be told the same port.
#[expect(clippy::expect_used, reason = "a test fixture fails the test loudly")]
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
