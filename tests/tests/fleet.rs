//! The fleet simulator at CI size: patients with one to three phones and their counselors,
//! offline writes, random syncs, lost answers, duplicated requests and killed apps, then an exact
//! agreement check between every device, the counselors and the server's read models.

use crate::harness::*;
use tether_client::fleet::{run, FleetConfig};
use tether_client::Secret;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_fleet_with_faults_converges_exactly_with_the_server() {
    // Every device signs in from 127.0.0.1: lift the per-address sign-in limit for the fleet.
    let app = spawn_app_with(&[("TETHER_ADDR_MAX_ATTEMPTS", "100000")]).await;
    let cfg = FleetConfig {
        patients: 6,
        counselors: 2,
        max_devices: 3,
        rounds: 4,
        seed: 11,
        ..FleetConfig::default()
    };
    let report = run(&app.address, ADMIN_EMAIL, &Secret::new(ADMIN_PASSWORD), cfg)
        .await
        .expect("the simulation runs");
    println!("{report}");
    assert!(report.ok(), "{report}\n{:#?}", report.mismatches);
    // The run really exercised what it claims to.
    assert!(report.ops_written > 50, "{report}");
    assert!(report.devices >= 8, "{report}");
    let (dropped, duplicated, killed) = report.faults;
    assert!(dropped > 0 && duplicated > 0 && killed > 0, "{report}");
    assert!(report.interrupted > 0, "{report}");
    assert!(report.fields_checked > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_final_check_catches_an_acknowledged_op_that_never_reached_the_server() {
    let app = spawn_app_with(&[("TETHER_ADDR_MAX_ATTEMPTS", "100000")]).await;
    // A broken network answers "stored" for some pushes it never delivered.
    let cfg = FleetConfig {
        patients: 2,
        counselors: 1,
        max_devices: 2,
        rounds: 2,
        writes_per_round: 4,
        sync_chance: 1.0,
        drop_chance: 0.0,
        duplicate_chance: 0.0,
        kill_chance: 0.0,
        forge_chance: 0.5,
        seed: 3,
        ..FleetConfig::default()
    };
    let report = run(&app.address, ADMIN_EMAIL, &Secret::new(ADMIN_PASSWORD), cfg)
        .await
        .expect("the simulation runs");
    assert!(!report.ok(), "lost ops went unnoticed: {report}");
    assert!(
        report
            .mismatches
            .iter()
            .any(|m| m.starts_with("new phone of") && m.contains("missing")),
        "{:#?}",
        report.mismatches
    );
}
