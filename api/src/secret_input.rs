//! Secrets typed by an operator: read without echo after a prompt on standard error when
//! standard input is a terminal, or taken from the first line of standard input when it is piped
//! (scripts, the test suite). Shared by the commands that set passwords (`admin create`, `demo`).

use crate::secret::Secret;
use std::io::{BufRead, IsTerminal, Write};

/// A new password: asked for twice after `prompt`, without echo, when standard input is a
/// terminal; else the first line of standard input.
pub fn read_new_password(prompt: &str) -> Result<Secret<String>, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let ask = |prompt: &str| -> Result<String, String> {
            eprint!("{prompt}");
            let _ = std::io::stderr().flush();
            rpassword::read_password().map_err(|e| format!("cannot read the password: {e}"))
        };
        let first = ask(prompt)?;
        let again = ask("the same password again: ")?;
        if first != again {
            return Err("the two passwords differ; nothing was created".into());
        }
        return Ok(Secret::new(first));
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(Secret::new(line.trim_end_matches(['\r', '\n']).to_string()))
}
