//! The signal watchdog ends a process whose runtime never handles SIGTERM: the test runs
//! itself as a child that starts the watchdog, sends itself SIGTERM and then spins without
//! ever yielding; the child must exit with 143 after the grace period.

use std::process::Command;
use std::time::{Duration, Instant};

const CHILD: &str = "MCS_SIM_WATCHDOG_CHILD";

#[test]
fn a_stuck_process_still_exits_on_sigterm() {
    if std::env::var_os(CHILD).is_some() {
        mcs_sim::watchdog::start(Duration::from_millis(200));
        let pid = std::process::id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        // Stuck: a busy loop that never returns (as a spinning controller once did).
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "a_stuck_process_still_exits_on_sigterm",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the stuck child did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(143), "{status:?}");
}
