//! Starts a real nsqd for the client tests: ours by default (built on demand with the same
//! cargo profile), or whatever `NSQD_BIN` points at (e.g. the reference Go build).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Path of the nsqd binary under test.
pub fn nsqd_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NSQD_BIN") {
        return PathBuf::from(p);
    }
    // <target>/<profile>/deps/<test exe> → <target>/<profile>/nsqd
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile> directory")
        .to_path_buf();
    let bin = profile_dir.join("nsqd");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target_dir = profile_dir.parent().expect("target directory");
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "nsqd", "--bin", "nsqd"])
            .env("CARGO_TARGET_DIR", target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build -p nsqd");
        assert!(status.success(), "cargo build -p nsqd failed; set NSQD_BIN");
    }
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free loopback port")
}

/// A running nsqd on loopback ports, killed (by its PID) and cleaned up on drop.
pub struct Nsqd {
    child: Child,
    /// Its TCP address.
    pub tcp: SocketAddr,
    _data: tempfile::TempDir,
}

impl Nsqd {
    /// Starts nsqd with extra flags and waits (≤ 10 s) until its TCP port accepts.
    pub fn start(extra: &[&str]) -> Nsqd {
        let bin = nsqd_bin();
        for _attempt in 0..5 {
            let data = tempfile::tempdir().expect("temp dir");
            let tcp: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
            let mut child = Command::new(&bin)
                .arg(format!("--tcp-address={tcp}"))
                .arg(format!("--http-address=127.0.0.1:{}", free_port()))
                .arg(format!("--https-address=127.0.0.1:{}", free_port()))
                .arg(format!("--data-path={}", data.path().display()))
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn nsqd");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // exited: most likely a port race; try other ports
                }
                if TcpStream::connect_timeout(&tcp, Duration::from_millis(200)).is_ok() {
                    return Nsqd {
                        child,
                        tcp,
                        _data: data,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("nsqd ({}) did not start", bin.display());
    }
}

impl Drop for Nsqd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
