//! The command lines answer `--help` and `--version` (issue 18, defect 12), and passwords piped
//! on standard input still work (the terminal path reads them without echo).

use std::process::{Command, Stdio};

const SERVER: &str = env!("CARGO_BIN_EXE_tether-api-under-test");
const PHONE: &str = env!("CARGO_BIN_EXE_tether-under-test");

fn run(binary: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(binary)
        .args(args)
        .env("DATABASE_URL", "/nonexistent/never-opened.db")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_server_subcommand_answers_help_with_its_usage_and_exit_zero() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["serve", "--help"],
        &["serve", "--dev", "--help"],
        &["migrate", "--help"],
        &["admin", "create", "--help"],
        &["admin", "create", "--email", "a@b.test", "-h"],
        &["demo", "--help"],
    ] {
        let (ok, stdout, stderr) = run(SERVER, args);
        assert!(ok, "tether-api {args:?} failed: {stderr}");
        assert!(
            stdout.contains("USAGE") && stdout.contains("admin create"),
            "tether-api {args:?} printed no usage: {stdout}"
        );
    }
}

#[test]
fn both_binaries_print_their_version() {
    let version = env!("CARGO_PKG_VERSION");
    for args in [&["--version"][..], &["-V"], &["serve", "--version"]] {
        let (ok, stdout, stderr) = run(SERVER, args);
        assert!(ok, "{stderr}");
        assert_eq!(stdout.trim(), format!("tether-api {version}"));
    }
    let (ok, stdout, stderr) = run(PHONE, &["--version"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), format!("tether {version}"));
    let (ok, stdout, _) = run(PHONE, &["login", "--help"]);
    assert!(ok && stdout.contains("usage: tether"), "{stdout}");
}

#[test]
fn a_piped_admin_password_is_read_from_standard_input_without_a_prompt() {
    let dir = std::env::temp_dir().join(format!("tether-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("tether.db");
    let out = crate::harness::admin_create(
        &db.display().to_string(),
        "pipe@clinic.test",
        "C",
        "a piped password here",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("password"), "a prompt on a pipe: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
