//! `tether-api`: see `tether-api --help` and the README.

fn main() -> std::process::ExitCode {
    api::cli::main()
}
