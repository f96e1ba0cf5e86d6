//! A transport that injects the failures real phones meet, around real HTTP: the answer lost
//! after the server committed, the same request arriving twice, the app killed mid-sync.
//!
//! Faults are injected only on `/v1/sync/…` requests. A lost refresh answer is a different
//! matter: refresh tokens are single-use and a replayed one revokes the session by design
//! (theft detection), so a phone that loses that answer must sign in again; the simulator does
//! not pretend otherwise.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::transport::{Request, Response, Transport, TransportError};
use crate::wire::{PushResponse, Receipt};

/// One injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The server gets the request and commits; its answer never arrives.
    DropResponse,
    /// The request reaches the server twice; the second answer is the one returned.
    Duplicate,
    /// The request reaches the server, then the app is killed before it reads the answer.
    KillAfterSend,
    /// The app is killed before the request leaves.
    KillBeforeSend,
    /// A push never reaches the server, yet the phone gets an answer acknowledging every op: a
    /// broken proxy losing data. No real server does this; it exists to prove that the fleet's
    /// final check catches an acknowledged op that was lost.
    ForgeAcknowledgement,
}

/// Counts of faults injected.
#[derive(Debug, Default)]
pub struct FaultCounts {
    /// [`Fault::DropResponse`] injected.
    pub dropped: AtomicU64,
    /// [`Fault::Duplicate`] injected.
    pub duplicated: AtomicU64,
    /// [`Fault::KillAfterSend`] and [`Fault::KillBeforeSend`] injected.
    pub killed: AtomicU64,
    /// [`Fault::ForgeAcknowledgement`] injected.
    pub forged: AtomicU64,
}

impl FaultCounts {
    /// `(dropped, duplicated, killed)`.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.dropped.load(Ordering::Relaxed),
            self.duplicated.load(Ordering::Relaxed),
            self.killed.load(Ordering::Relaxed),
        )
    }
}

/// How faults are chosen.
#[derive(Debug)]
enum Plan {
    /// One entry per sync request, in order; `None` passes; past the end everything passes.
    Script(VecDeque<Option<Fault>>),
    /// Each sync request independently: drop, duplicate, kill with these probabilities.
    Random {
        rng: Box<StdRng>,
        drop: f64,
        duplicate: f64,
        kill: f64,
        forge: f64,
    },
}

/// Real HTTP with faults.
#[derive(Debug)]
pub struct FaultyTransport<T> {
    inner: T,
    plan: Mutex<Plan>,
    counts: Arc<FaultCounts>,
}

impl<T: Transport> FaultyTransport<T> {
    /// Faults in this order, one per sync request.
    pub fn scripted(inner: T, script: Vec<Option<Fault>>) -> Self {
        Self {
            inner,
            plan: Mutex::new(Plan::Script(script.into())),
            counts: Arc::default(),
        }
    }

    /// Counts faults into `counts` (shared by a whole fleet) instead of its own.
    pub fn counting_into(mut self, counts: Arc<FaultCounts>) -> Self {
        self.counts = counts;
        self
    }

    /// What was injected so far.
    pub fn counts(&self) -> &FaultCounts {
        &self.counts
    }

    /// Random faults with these probabilities per sync request, reproducible from `seed`.
    pub fn random(inner: T, seed: u64, drop: f64, duplicate: f64, kill: f64) -> Self {
        Self {
            inner,
            plan: Mutex::new(Plan::Random {
                rng: Box::new(StdRng::seed_from_u64(seed)),
                drop,
                duplicate,
                kill,
                forge: 0.0,
            }),
            counts: Arc::default(),
        }
    }

    /// Also forges acknowledgements of pushes with this probability (see
    /// [`Fault::ForgeAcknowledgement`]).
    pub fn forging(self, chance: f64) -> Self {
        if let Ok(mut plan) = self.plan.lock() {
            if let Plan::Random { forge, .. } = &mut *plan {
                *forge = chance;
            }
        }
        self
    }

    /// From now on, these faults in this order, one per sync request (replacing whatever plan
    /// was left): a test can let a phone sync cleanly, then lose the answers of one sync.
    pub fn script_next(&self, script: Vec<Option<Fault>>) {
        if let Ok(mut plan) = self.plan.lock() {
            *plan = Plan::Script(script.into());
        }
    }

    /// Stops injecting faults (the final, clean round of the simulator).
    pub fn heal(&self) {
        if let Ok(mut plan) = self.plan.lock() {
            *plan = Plan::Script(VecDeque::new());
        }
    }

    fn next_fault(&self, req: &Request) -> Option<Fault> {
        if !req.path.starts_with("/v1/sync/") {
            return None;
        }
        let mut plan = self.plan.lock().ok()?;
        match &mut *plan {
            Plan::Script(q) => q.pop_front().flatten(),
            Plan::Random {
                rng,
                drop,
                duplicate,
                kill,
                forge,
            } => {
                let x: f64 = rng.gen();
                if req.path.starts_with("/v1/sync/push") && rng.gen_bool(forge.clamp(0.0, 1.0)) {
                    Some(Fault::ForgeAcknowledgement)
                } else if x < *drop {
                    Some(Fault::DropResponse)
                } else if x < *drop + *duplicate {
                    Some(Fault::Duplicate)
                } else if x < *drop + *duplicate + *kill {
                    // Half the kills strike after the server committed, half before sending.
                    Some(if rng.gen_bool(0.5) {
                        Fault::KillAfterSend
                    } else {
                        Fault::KillBeforeSend
                    })
                } else {
                    None
                }
            }
        }
    }
}

/// A push answer acknowledging every op of `req` (see [`Fault::ForgeAcknowledgement`]).
fn forged_answer(req: &Request) -> Response {
    let accepted = req
        .body
        .as_ref()
        .and_then(|b| b["ops"].as_array())
        .map(|ops| {
            ops.iter()
                .filter_map(|op| op["id"].as_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let body = PushResponse {
        accepted,
        duplicates: Vec::new(),
        rejected: Vec::new(),
        receipt: Receipt::default(),
        server_time_ms: i64::try_from(crate::client::system_ms()).unwrap_or(i64::MAX),
        crisis_resources: None,
    };
    Response {
        status: 200,
        body: serde_json::to_vec(&body).unwrap_or_default(),
        retry_after: None,
    }
}

impl<T: Transport> Transport for FaultyTransport<T> {
    async fn send(&self, req: Request) -> Result<Response, TransportError> {
        match self.next_fault(&req) {
            None => self.inner.send(req).await,
            Some(Fault::DropResponse) => {
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
                self.inner.send(req).await?;
                Err(TransportError::Network(
                    "injected: the answer was lost after the server committed".into(),
                ))
            }
            Some(Fault::Duplicate) => {
                self.counts.duplicated.fetch_add(1, Ordering::Relaxed);
                self.inner.send(req.clone()).await?;
                self.inner.send(req).await
            }
            Some(Fault::KillAfterSend) => {
                self.counts.killed.fetch_add(1, Ordering::Relaxed);
                self.inner.send(req).await?;
                Err(TransportError::Killed)
            }
            Some(Fault::KillBeforeSend) => {
                self.counts.killed.fetch_add(1, Ordering::Relaxed);
                Err(TransportError::Killed)
            }
            Some(Fault::ForgeAcknowledgement) => {
                self.counts.forged.fetch_add(1, Ordering::Relaxed);
                Ok(forged_answer(&req))
            }
        }
    }
}
