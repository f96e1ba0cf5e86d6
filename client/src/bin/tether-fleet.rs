//! `tether-fleet`, the fleet simulator; see [`tether_client::fleet`] and `--help`.

fn main() -> std::process::ExitCode {
    tether_client::fleet::cli::main()
}
