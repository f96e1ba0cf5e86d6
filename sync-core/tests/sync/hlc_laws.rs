//! The clock never issues a timestamp twice or out of order, whatever the wall clock does.

use std::cell::Cell;
use std::rc::Rc;

use proptest::prelude::*;
use sync_core::hlc::{Clock, ClockError, Hlc};

use crate::gen::config;

#[derive(Debug, Clone)]
enum Step {
    /// Move the wall clock by this much (negative: backwards).
    Wall(i64),
    /// Issue a timestamp.
    Now,
    /// Receive a remote timestamp this far from local wall time, with this counter.
    Observe(i64, u32),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (-5_000i64..5_000).prop_map(Step::Wall),
        Just(Step::Now),
        Just(Step::Now),
        (-5_000i64..2_000, 0..10u32).prop_map(|(d, c)| Step::Observe(d, c)),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn issued_timestamps_strictly_increase_even_when_the_wall_clock_goes_backwards(
        steps in prop::collection::vec(step(), 1..100),
    ) {
        const DRIFT: u64 = 1_000;
        let wall = Rc::new(Cell::new(1_000_000u64));
        let source = { let w = Rc::clone(&wall); move || w.get() };
        let mut clock = Clock::new(7, source, DRIFT);
        let mut floor: Option<Hlc> = None; // largest issued or accepted so far
        for s in steps {
            match s {
                Step::Wall(d) => wall.set(wall.get().saturating_add_signed(d)),
                Step::Now => {
                    let h = clock.now().unwrap();
                    prop_assert_eq!(h.node(), 7);
                    if let Some(f) = floor { prop_assert!(h > f, "{h} after {f}"); }
                    prop_assert!(h.wall_ms() >= wall.get());
                    floor = Some(h);
                }
                Step::Observe(d, c) => {
                    let remote = Hlc::new(wall.get().saturating_add_signed(d), c, 9).unwrap();
                    match clock.observe(remote) {
                        Ok(()) => floor = Some(floor.map_or(remote, |f| f.max(remote))),
                        Err(ClockError::TooFarAhead { ahead_ms, .. }) => prop_assert!(ahead_ms > DRIFT),
                        Err(e) => prop_assert!(false, "unexpected {e}"),
                    }
                }
            }
        }
    }

    #[test]
    fn the_text_form_sorts_like_the_timestamps(
        a in (0..=sync_core::hlc::MAX_WALL_MS, any::<u32>(), any::<u64>()),
        b in (0..=sync_core::hlc::MAX_WALL_MS, any::<u32>(), any::<u64>()),
    ) {
        let a = Hlc::new(a.0, a.1, a.2).unwrap();
        let b = Hlc::new(b.0, b.1, b.2).unwrap();
        prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
        prop_assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a);
    }
}
