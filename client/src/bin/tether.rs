//! `tether`, the command-line phone; see [`tether_client::cli`].

fn main() -> std::process::ExitCode {
    tether_client::cli::main()
}
