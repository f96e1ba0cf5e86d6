//! Merge is commutative, associative and idempotent; replicas that saw the same ops converge
//! whatever the order, duplication, or delta exchange schedule.

use proptest::prelude::*;
use sync_core::replica::Replica;

use crate::gen::{config, merged, ops, replica_of};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn merge_is_commutative(a in ops(30), b in ops(30)) {
        let (ra, rb) = (replica_of(&a), replica_of(&b));
        prop_assert_eq!(merged(&ra, &rb).states(), merged(&rb, &ra).states());
    }

    #[test]
    fn merge_is_associative(a in ops(20), b in ops(20), c in ops(20)) {
        let (ra, rb, rc) = (replica_of(&a), replica_of(&b), replica_of(&c));
        let left = merged(&merged(&ra, &rb), &rc);
        let right = merged(&ra, &merged(&rb, &rc));
        prop_assert_eq!(left.states(), right.states());
    }

    #[test]
    fn merge_is_idempotent(a in ops(30), b in ops(30)) {
        let ra = replica_of(&a);
        prop_assert_eq!(merged(&ra, &ra).states(), ra.states());
        let ab = merged(&ra, &replica_of(&b));
        let mut again = ab.clone();
        prop_assert_eq!(again.merge(&replica_of(&b)), 0);
        prop_assert_eq!(again.states(), ab.states());
        prop_assert_eq!(again.version(), ab.version());
    }

    #[test]
    fn applying_ops_in_any_order_with_duplicates_gives_the_same_state(
        all in ops(40),
        order in any::<u64>(),
    ) {
        let reference = replica_of(&all);
        let mut shuffled: Vec<_> = all.iter().chain(all.iter().step_by(3)).cloned().collect();
        shuffle(&mut shuffled, order);
        prop_assert_eq!(replica_of(&shuffled).states(), reference.states());
    }

    #[test]
    fn replicas_synced_pairwise_through_deltas_converge(
        all in ops(40),
        n in 2..5usize,
        seed in any::<u64>(),
        syncs in prop::collection::vec((0..5usize, 0..5usize), 0..20),
    ) {
        let reference = replica_of(&all);
        // Each op reaches at least one replica, some reach several (duplicates), shuffled.
        let mut inbox: Vec<Vec<_>> = vec![Vec::new(); n];
        let mut s = seed;
        for op in &all {
            s = next(s);
            inbox[(s % n as u64) as usize].push(op.clone());
            s = next(s);
            if s % 3 == 0 {
                inbox[((s >> 8) % n as u64) as usize].push(op.clone());
            }
        }
        let mut replicas: Vec<Replica> = inbox
            .into_iter()
            .map(|mut ops| {
                s = next(s);
                shuffle(&mut ops, s);
                replica_of(&ops)
            })
            .collect();
        // seen[to][from]: the version of `from` that `to` last pulled.
        let mut seen = vec![vec![0u64; n]; n];
        let mut pull = |replicas: &mut Vec<Replica>, to: usize, from: usize| {
            if to == from { return; }
            let delta = replicas[from].changes_since(seen[to][from]);
            seen[to][from] = replicas[from].version();
            replicas[to].apply_delta(delta).unwrap();
        };
        for (to, from) in syncs {
            pull(&mut replicas, to % n, from % n);
        }
        // Then a gossip round that connects everyone: a chain forward and back.
        for i in 1..n { pull(&mut replicas, i, i - 1); }
        for i in (0..n - 1).rev() { pull(&mut replicas, i, i + 1); }
        for r in &replicas {
            prop_assert_eq!(r.states(), reference.states());
        }
    }
}

fn next(s: u64) -> u64 {
    // splitmix64: a deterministic shuffle from the proptest-chosen seed.
    let mut z = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut s = seed;
    for i in (1..v.len()).rev() {
        s = next(s);
        v.swap(i, (s % (i as u64 + 1)) as usize);
    }
}
