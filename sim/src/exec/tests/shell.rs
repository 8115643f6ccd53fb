//! `sh -c`: sequencing, quoting, redirections, exit codes, syntax errors.

use super::{TestResult, WHEREAMI, World, expect, text};

#[tokio::test]
async fn sequencing_and_exit() -> TestResult {
    let w = World::start("busybox").await?;
    let out = w
        .sh("echo one; false && echo two || echo three; exit 4; echo never")
        .await;
    assert_eq!(text(&out), expect("one\nthree\n", "", 4));
    let out = w.sh("true && false").await;
    assert_eq!(text(&out), expect("", "", 1));
    let out = w.sh("false || true").await;
    assert_eq!(text(&out), expect("", "", 0));
    let out = w.sh("false\necho $?").await;
    assert_eq!(text(&out), expect("1\n", "", 0));
    let out = w.run(&["/bin/sh", "-ec", "echo a; false; echo b"]).await;
    assert_eq!(text(&out), expect("a\n", "", 1));
    Ok(())
}

#[tokio::test]
async fn quoting_and_variables() -> TestResult {
    let w = World::start("busybox").await?;
    let out = w.sh(r#"echo 'a  b' "c $HOSTNAME" d\ e "" '$HOME'"#).await;
    assert_eq!(text(&out), expect("a  b c probe-0 d e  $HOME\n", "", 0));
    let out = w.sh("X='1 2'; echo $X-\"$X\" ${X}").await;
    assert_eq!(text(&out), expect("1 2-1 2 1 2\n", "", 0));
    let out = w.sh("echo -n a; echo b # comment").await;
    assert_eq!(text(&out), expect("ab\n", "", 0));
    Ok(())
}

#[tokio::test]
async fn redirections() -> TestResult {
    let w = World::start("busybox").await?;
    let out = w.sh("nosuch 2>&1; echo $?").await;
    assert_eq!(text(&out), expect("sh: nosuch: not found\n127\n", "", 0));
    let out = w.sh("cat /nope 2>/dev/null || true").await;
    assert_eq!(text(&out), expect("", "", 0));
    let out = w.sh("echo hidden >/dev/null; echo shown 1>&2").await;
    assert_eq!(text(&out), expect("", "shown\n", 0));
    let out = w.sh("echo piped | cat").await;
    assert_eq!(text(&out), expect("piped\n", "", 0));
    Ok(())
}

#[tokio::test]
async fn tools_inside_the_shell() -> TestResult {
    let w = World::start("busybox").await?;
    let out = w.sh("wget -qO- -T 1 http://refused/ || true").await;
    let err = "wget: can't connect to remote host (10.0.1.6): Connection refused\n";
    assert_eq!(text(&out), expect("", err, 0));
    let out = w.sh("wget -qO- -T 2 http://whereami && echo").await;
    assert_eq!(text(&out), expect(&format!("{WHEREAMI}\n"), "", 0));
    let out = w.sh("cat /etc/resolv.conf | cat; hostname").await;
    let (stdout, _, code) = text(&out);
    assert!(
        stdout.starts_with("search app.svc.cluster.local"),
        "{stdout}"
    );
    assert!(stdout.ends_with("options ndots:5\nprobe-0\n"), "{stdout}");
    assert_eq!(code, 0);
    Ok(())
}

#[tokio::test]
async fn syntax_errors() -> TestResult {
    let w = World::start("busybox").await?;
    let out = w.sh("echo \"oops").await;
    assert_eq!(
        text(&out),
        expect("", "sh: syntax error: unterminated quoted string\n", 2)
    );
    let out = w.sh("echo a && && echo b").await;
    assert_eq!(
        text(&out),
        expect("", "sh: syntax error: unexpected \"&&\"\n", 2)
    );
    let out = w.sh("echo a |").await;
    assert_eq!(
        text(&out),
        expect("", "sh: syntax error: unexpected end of file\n", 2)
    );
    let w = World::start("python:3.12-slim").await?;
    let out = w.sh("echo 'oops").await;
    let err = "sh: 1: Syntax error: Unterminated quoted string\n";
    assert_eq!(text(&out), expect("", err, 2));
    let out = w.sh("exit abc").await;
    assert_eq!(
        text(&out),
        expect("", "sh: 1: exit: Illegal number: abc\n", 2)
    );
    Ok(())
}

#[tokio::test]
async fn sleep_and_stdin_script() -> TestResult {
    let w = World::start("busybox").await?;
    let started = std::time::Instant::now();
    let out = w.sh("sleep 0.2; echo up").await;
    assert_eq!(text(&out), expect("up\n", "", 0));
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    let argv = vec!["sh".to_string()];
    let out = crate::exec::run_with_stdin(&w.env, &argv, b"echo from-stdin; exit 3").await;
    assert_eq!(text(&out), expect("from-stdin\n", "", 3));
    Ok(())
}
