//! `tether-load`: a load generator for Tether's sync endpoints (a benchmark, not a test).
//!
//! One run creates its own database (a temporary SQLite file, or a fresh PostgreSQL database that
//! is dropped afterwards), starts the real server in-process on port 0, enrolls patients over
//! HTTP, and measures, all on the same database:
//!
//! 1. the ceiling: the fastest plain insert of rows equal to the op log's into one table with the
//!    same keys (multi-row `INSERT` on SQLite, `COPY` on PostgreSQL), rows/s, every variant
//!    measured before and again after the pushes;
//! 2. push over HTTP in 100- and 1,000-op batches of check-ins from several devices at once:
//!    ops/s, latency percentiles, and ops/s as a share of the ceiling. Each batch size's pushes
//!    run in slices that take turns with measurements of the fastest ceiling variant, and the
//!    share is judged on the two totals: both then sample the same minutes of a machine whose
//!    speed drifts (the share against the best single ceiling measurement is printed too);
//! 3. pull pages of 100 and 1,000 changes from fresh devices: changes/s and latency;
//! 4. history independence: pulling 100 changed fields after 10,000 ops of history, then after
//!    1,000,000 (edits of the same fields, pushed over HTTP, so current state does not grow),
//!    the latter in turns with a second patient of equal current state and 10,000 ops of history;
//! 5. with `--auth N`: what authenticating a request costs. `GET /v1/me` (access token checked,
//!    then its session row read, then the account read) in turns with `GET /readyz` (one
//!    database round trip, no token) and `GET /healthz` (neither), N requests each, as µs of
//!    wall time per request. `--auth-only N` measures just that.
//!
//! ```text
//! cargo run --release -p tether-loadgen -- --backend sqlite
//! cargo run --release -p tether-loadgen -- --backend postgres --postgres-url postgres://postgres@127.0.0.1:5432/test
//! ```

mod ceiling;
mod client;
mod cpu;
mod idle_pull;
mod server;
mod stats;

use client::{Api, Device, Session, CHECKIN_FIELDS};
use cpu::{per_item_us, CpuMeter};
use server::Backend;
use stats::{rate, Latencies};
use std::time::{Duration, Instant};
use tether_test_support::TestDatabase;
use tokio::task::JoinSet;
use uuid::Uuid;

/// Every fallible step of the run.
pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const USAGE: &str = "\
tether-load: push/pull throughput of Tether's sync endpoints beside the database's insert ceiling

USAGE:
  tether-load --backend sqlite|postgres [options]

OPTIONS:
  --postgres-url URL   server to create the run's database on
                       (default postgres://postgres@127.0.0.1:5432/test)
  --push-ops N         ops pushed per batch size (default 60000)
  --concurrency N      client tasks pushing or pulling at once (default 4)
  --patients N         patients (two pushing devices each; default 4)
  --ceiling-rows N     rows of the plain-insert ceiling, per measurement (default 100000)
  --rounds N           slices of each push phase, each beside a ceiling measurement (default 4)
  --pull-max N         most changes each pulling task reads per page size (default 20000)
  --history N          ops of history for the history-independence pull (default 1000000)
  --reps N             measured pulls at each history size (default 100)
  --batches LIST       push batch sizes, comma-separated (default 100,1000; a phone's own
                       pushes are nearer 10)
  --idle-pull LIST     only measure idle pulls (--reps each) of a counselor reading this many
                       patients, comma-separated ascending (e.g. 1000,2000,5000)
  --auth N             also time N authenticated GET /v1/me beside N GET /readyz and /healthz,
                       in --rounds turns: the per-request cost of the session check
  --auth-only N        time only that (no push, pull or history phases)";

struct Options {
    backend: Backend,
    push_ops: usize,
    concurrency: usize,
    patients: usize,
    ceiling_rows: usize,
    rounds: usize,
    pull_max: usize,
    history: usize,
    reps: usize,
    batches: Vec<usize>,
    /// Caseload sizes of the idle-pull measurement; when given, it is all that runs.
    idle_pull: Vec<usize>,
    auth_requests: usize,
    auth_only: bool,
}

fn options() -> Res<Options> {
    let mut backend = None;
    let mut pg_url = "postgres://postgres@127.0.0.1:5432/test".to_string();
    let mut o = Options {
        backend: Backend::Sqlite,
        push_ops: 60_000,
        concurrency: 4,
        patients: 4,
        ceiling_rows: 100_000,
        rounds: 4,
        pull_max: 20_000,
        history: 1_000_000,
        reps: 100,
        batches: vec![100, 1_000],
        idle_pull: Vec::new(),
        auth_requests: 0,
        auth_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--backend" => backend = Some(value()?),
            "--postgres-url" => pg_url = value()?,
            "--push-ops" => o.push_ops = value()?.parse()?,
            "--concurrency" => o.concurrency = value()?.parse()?,
            "--patients" => o.patients = value()?.parse()?,
            "--ceiling-rows" => o.ceiling_rows = value()?.parse()?,
            "--rounds" => o.rounds = value()?.parse()?,
            "--pull-max" => o.pull_max = value()?.parse()?,
            "--history" => o.history = value()?.parse()?,
            "--reps" => o.reps = value()?.parse()?,
            "--auth" => o.auth_requests = value()?.parse()?,
            "--auth-only" => {
                o.auth_requests = value()?.parse()?;
                o.auth_only = true;
            }
            "--batches" => {
                o.batches = value()?
                    .split(',')
                    .map(|b| b.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--idle-pull" => {
                o.idle_pull = value()?
                    .split(',')
                    .map(|b| b.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown option {other}\n\n{USAGE}").into()),
        }
    }
    o.backend = match backend.as_deref() {
        Some("sqlite") => Backend::Sqlite,
        Some("postgres") => Backend::Postgres(pg_url),
        _ => return Err(format!("--backend sqlite|postgres is required\n\n{USAGE}").into()),
    };
    if o.concurrency == 0
        || o.patients == 0
        || o.reps == 0
        || o.rounds == 0
        || o.batches.contains(&0)
    {
        return Err(
            "--concurrency, --patients, --reps, --rounds and --batches must be at least 1".into(),
        );
    }
    Ok(o)
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("tether-load: {e}");
        std::process::exit(1);
    }
}

fn real_main() -> Res<()> {
    let o = options()?;
    let db = server::create_database(&o.backend)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(run(&o, &db));
    // The database is dropped (PostgreSQL) or deleted (SQLite) whatever happened.
    drop(db);
    result
}

/// One ceiling measurement: which variant, and what it gave.
struct CeilingRun {
    method: ceiling::Method,
    per_tx: usize,
    round: String,
    rate: f64,
    /// CPU µs per row.
    cpu: f64,
}

/// One batch size's push phase.
struct PushRun {
    batch: usize,
    ops: usize,
    rate: f64,
    lat: Latencies,
    /// CPU µs per op.
    cpu: f64,
    /// SQLite's write lock held per op, µs.
    lock: Option<f64>,
    /// The ceiling measured in turns with this phase's slices.
    beside: Turns,
}

/// The ceiling measurements taken in turns with one push phase, summed.
struct Turns {
    label: String,
    rows: usize,
    wall: Duration,
    cpu: Duration,
    /// The fastest of these measurements alone, rows/s.
    fastest: f64,
}

impl Turns {
    /// Counts one measurement of `rows` rows.
    fn add(&mut self, spent: ceiling::Spent, rows: usize) {
        self.fastest = self.fastest.max(rate(rows, spent.wall));
        self.rows += rows;
        self.wall += spent.wall;
        self.cpu += spent.cpu;
    }

    fn rate(&self) -> f64 {
        rate(self.rows, self.wall)
    }

    fn cpu_per_row(&self) -> f64 {
        per_item_us(self.cpu, self.rows)
    }
}

/// What the summary prints.
#[derive(Default)]
struct Report {
    ceiling: Vec<CeilingRun>,
    push: Vec<PushRun>,
    pull: Vec<(usize, usize, f64, Latencies)>,
    /// One patient's pulls at each history size, in the order measured.
    history: Vec<(usize, Latencies)>,
    /// The control patient's pulls (history ops, latencies), taken in turns with the last entry
    /// of `history`.
    control: Option<(usize, Latencies)>,
    history_build: Option<(usize, f64)>,
}

impl Report {
    /// The fastest ceiling variant measured so far (method, rows per transaction).
    fn fastest_variant(&self) -> Res<(ceiling::Method, usize)> {
        self.ceiling
            .iter()
            .max_by(|a, b| a.rate.total_cmp(&b.rate))
            .map(|c| (c.method, c.per_tx))
            .ok_or_else(|| "no ceiling measured".into())
    }
}

async fn run(o: &Options, db: &TestDatabase) -> Res<()> {
    let name = if db.is_postgres() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let settings = server::settings(&db.url)?;
    api::telemetry::init(&settings.log);
    let database = settings.database.clone();
    let port = server::start(settings)?;
    let pool = api::db::build_pool(&database)?;
    server::create_admin(&pool)?;
    drop(pool);
    let api = Api::new(port)?;
    println!(
        "tether-load: {name}, server on port {port}, {} cores",
        cores()
    );

    let admin = api.admin().await?;
    let counselor = api.counselor(&admin).await?;
    if !o.idle_pull.is_empty() {
        for r in idle_pull::run(&api, db, &counselor, &o.idle_pull, o.reps).await? {
            println!(
                "idle pull: {name}, a counselor reading {} patients: {:.0} µs per pull (mean of {}), p50/p95/p99 {} ms, cursor {} bytes",
                r.caseload,
                r.mean.as_secs_f64() * 1e6,
                o.reps,
                r.lat.summary(),
                r.cursor_len
            );
        }
        return Ok(());
    }
    let mut patients = Vec::new();
    let mut devices = Vec::new();
    for _ in 0..o.patients {
        let p = api.patient(&counselor).await?;
        let second = api.another_device(&p).await?;
        devices.push(Device::new(p.clone(), p.user_id));
        devices.push(Device::new(second, p.user_id));
        patients.push(p);
    }
    if o.auth_requests > 0 {
        auth_phase(&api, &patients[0], o).await?;
        if o.auth_only {
            return Ok(());
        }
    }
    let mut report = Report::default();

    // 1. The ceiling, before anything else writes much (and again after the pushes, below).
    let meter = CpuMeter::new(db.database_name().map(str::to_string));
    measure_ceiling(db, o, &meter, "before the pushes", &mut report).await?;

    // 2. Push, in slices that take turns with the fastest ceiling variant.
    let fastest = report.fastest_variant()?;
    for &batch in &o.batches {
        let run = push_phase(&api, &mut devices, db, o, batch, fastest, &meter).await?;
        let lock_note = run.lock.map_or(String::new(), |us| {
            format!(
                ", write lock held {us:.1} µs/op (at most {:.0} ops/s)",
                1e6 / us
            )
        });
        println!(
            "push: {} ops in {batch}-op batches, {} tasks: {:.0} ops/s, p50/p95/p99 {} ms, {:.1} CPU µs/op{lock_note}",
            run.ops,
            o.concurrency,
            run.rate,
            run.lat.summary(),
            run.cpu
        );
        println!(
            "ceiling in turns with those pushes: {} rows, {}: {:.0} rows/s (fastest turn {:.0}), {:.1} CPU µs/row",
            run.beside.rows,
            run.beside.label,
            run.beside.rate(),
            run.beside.fastest,
            run.beside.cpu_per_row()
        );
        report.push.push(run);
    }

    // Every variant again: the summary also compares with the best single measurement.
    measure_ceiling(db, o, &meter, "after the pushes", &mut report).await?;

    // 3. Pull, from fresh devices (no cursor, so pages of current state).
    for limit in [100, 1_000] {
        let (changes, elapsed, lat) = pull_phase(&api, &patients, o, limit).await?;
        let r = rate(changes, elapsed);
        println!(
            "pull: {changes} changes in pages of {limit}, {} tasks: {r:.0} changes/s, p50/p95/p99 {} ms",
            o.concurrency,
            lat.summary()
        );
        report.pull.push((limit, changes, r, lat));
    }

    // 4. History independence.
    history_phase(&api, db, &counselor, o, &mut report).await?;

    print_summary(name, o, &report);
    Ok(())
}

/// Measures every ceiling method at 1,000 and 10,000 rows per transaction into a fresh table.
async fn measure_ceiling(
    db: &TestDatabase,
    o: &Options,
    meter: &CpuMeter,
    round: &str,
    report: &mut Report,
) -> Res<()> {
    for method in ceiling::Method::candidates(db.is_postgres()) {
        for per_tx in [1_000, 10_000] {
            let spent = ceiling_once(db, o.ceiling_rows, method, per_tx, meter).await?;
            let rate = rate(o.ceiling_rows, spent.wall);
            let cpu = per_item_us(spent.cpu, o.ceiling_rows);
            println!(
                "ceiling ({round}): {} rows, {}, {per_tx} per transaction: {rate:.0} rows/s, {cpu:.1} CPU µs/row",
                o.ceiling_rows,
                method.label()
            );
            report.ceiling.push(CeilingRun {
                method,
                per_tx,
                round: round.to_string(),
                rate,
                cpu,
            });
        }
    }
    Ok(())
}

/// One ceiling measurement of `rows` rows, off the async threads.
async fn ceiling_once(
    db: &TestDatabase,
    rows: usize,
    method: ceiling::Method,
    per_tx: usize,
    meter: &CpuMeter,
) -> Res<ceiling::Spent> {
    let url = db.url.clone();
    let meter = meter.clone();
    tokio::task::spawn_blocking(move || ceiling::measure(&url, method, rows, per_tx, &meter))
        .await?
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The slice that batch `i` of `batches` falls in, of `rounds` (at most `batches`): consecutive
/// batches, slices of sizes that differ by at most one.
fn slice_of(i: usize, batches: usize, rounds: usize) -> usize {
    i * rounds / batches
}

/// Whether round `round`'s ceiling measurement comes before its push slice: after, before,
/// after, … (push, ceiling, ceiling, push, push, ceiling), so that a steady drift in the
/// machine's speed falls on both alike.
fn ceiling_first(round: usize) -> bool {
    round % 2 == 1
}

/// One client task's pushes in a slice: (access token, body) in the order sent.
type TaskWork = Vec<(String, Vec<u8>)>;

/// Pushes `o.push_ops` ops in `batch`-op batches from every device, `o.concurrency` tasks at
/// once (each task owns some devices, so every device's sequence arrives in order). Bodies are
/// serialized before the clock starts: a phone has its outbox ready.
///
/// The pushes run in `o.rounds` slices, and beside each slice the `ceiling` variant is measured
/// once, before it or after it in alternate rounds (push, ceiling, ceiling, push, …), so that
/// the two totals sample the same minutes and a drift in the machine's speed falls on both.
async fn push_phase(
    api: &Api,
    devices: &mut [Device],
    db: &TestDatabase,
    o: &Options,
    batch: usize,
    ceiling: (ceiling::Method, usize),
    meter: &CpuMeter,
) -> Res<PushRun> {
    // Warm-up: one untimed batch per device.
    for d in devices.iter_mut() {
        let body = d.checkins_body(batch)?;
        api.push(&d.session.access, body, batch).await?;
    }
    let batches = o.push_ops.div_ceil(batch).max(1);
    let rounds = o.rounds.min(batches);
    // Slice by slice, each task's share: slices follow one another in every device's order.
    let mut slices: Vec<Vec<TaskWork>> = vec![vec![Vec::new(); o.concurrency]; rounds];
    for i in 0..batches {
        let d = i % devices.len();
        let task = d % o.concurrency;
        let device = &mut devices[d];
        slices[slice_of(i, batches, rounds)][task]
            .push((device.session.access.clone(), device.checkins_body(batch)?));
    }
    let (method, per_tx) = ceiling;
    let mut beside = Turns {
        label: format!("{}, {per_tx} rows/tx", method.label()),
        rows: 0,
        wall: Duration::ZERO,
        cpu: Duration::ZERO,
        fastest: 0.0,
    };
    let mut elapsed = Duration::ZERO;
    let mut spent = Duration::ZERO;
    let mut held = Duration::ZERO;
    let mut all = Latencies::default();
    for (round, per_task) in slices.into_iter().enumerate() {
        let ceiling_first = ceiling_first(round);
        if ceiling_first {
            beside.add(
                ceiling_once(db, o.ceiling_rows, method, per_tx, meter).await?,
                o.ceiling_rows,
            );
        }
        let cpu = meter.total();
        let lock = api::db::sqlite_write_lock_held();
        let started = Instant::now();
        let mut set = JoinSet::new();
        for work in per_task {
            let api = api.clone();
            set.spawn(async move {
                let mut lat = Latencies::default();
                for (token, body) in work {
                    lat.push(api.push(&token, body, batch).await?);
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(lat)
            });
        }
        while let Some(done) = set.join_next().await {
            all.extend(done??);
        }
        elapsed += started.elapsed();
        spent += meter.total().saturating_sub(cpu);
        held += api::db::sqlite_write_lock_held().saturating_sub(lock);
        if !ceiling_first {
            beside.add(
                ceiling_once(db, o.ceiling_rows, method, per_tx, meter).await?,
                o.ceiling_rows,
            );
        }
    }
    let ops = batches * batch;
    Ok(PushRun {
        batch,
        ops,
        rate: rate(ops, elapsed),
        lat: all,
        cpu: per_item_us(spent, ops),
        // SQLite admits one writer at a time: the write lock's time per op bounds the rate.
        lock: (!db.is_postgres()).then(|| per_item_us(held, ops)),
        beside,
    })
}

/// Each task signs a fresh device in for one patient and pulls pages of `limit` from no cursor
/// until nothing more waits or it has read `o.pull_max` changes.
/// `requests` GETs of `path` from `o.concurrency` tasks; returns the wall time and latencies.
async fn get_phase(
    api: &Api,
    path: &'static str,
    token: Option<&str>,
    requests: usize,
    o: &Options,
) -> Res<(Duration, Latencies)> {
    let started = Instant::now();
    let mut set = JoinSet::new();
    for t in 0..o.concurrency {
        let (api, token) = (api.clone(), token.map(str::to_string));
        let mine = requests / o.concurrency + usize::from(t < requests % o.concurrency);
        set.spawn(async move {
            let mut lat = Latencies::default();
            for _ in 0..mine {
                lat.push(api.get_ok(path, token.as_deref()).await?);
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(lat)
        });
    }
    let mut all = Latencies::default();
    while let Some(done) = set.join_next().await {
        all.extend(done??);
    }
    Ok((started.elapsed(), all))
}

/// 5. The cost of authenticating a request: `/v1/me` beside `/readyz` and `/healthz`, in turns.
async fn auth_phase(api: &Api, patient: &Session, o: &Options) -> Res<()> {
    let paths: [(&'static str, bool); 3] =
        [("/healthz", false), ("/readyz", false), ("/v1/me", true)];
    let mut wall = [Duration::ZERO; 3];
    let mut lats: [Latencies; 3] = Default::default();
    let per_turn = o.auth_requests.div_ceil(o.rounds);
    // A warm-up turn of each, not counted.
    for (path, auth) in paths {
        get_phase(api, path, auth.then_some(patient.access.as_str()), 200, o).await?;
    }
    for _ in 0..o.rounds {
        for (i, (path, auth)) in paths.iter().enumerate() {
            let token = auth.then_some(patient.access.as_str());
            let (took, lat) = get_phase(api, path, token, per_turn, o).await?;
            wall[i] += took;
            lats[i].extend(lat);
        }
    }
    let total = per_turn * o.rounds;
    let us = |d: Duration| d.as_secs_f64() * 1e6 / total as f64;
    for (i, (path, _)) in paths.iter().enumerate() {
        println!(
            "auth: GET {path:<9} {total} requests, {} tasks: {:.1} µs/request, p50/p95/p99 {} ms",
            o.concurrency,
            us(wall[i]),
            lats[i].summary()
        );
    }
    println!(
        "auth: /v1/me − /readyz = {:.1} µs/request (token check + session-row read + the account read, less one ping); /readyz − /healthz = {:.1} µs (one database round trip)",
        us(wall[2]) - us(wall[1]),
        us(wall[1]) - us(wall[0])
    );
    Ok(())
}

async fn pull_phase(
    api: &Api,
    patients: &[Session],
    o: &Options,
    limit: usize,
) -> Res<(usize, Duration, Latencies)> {
    let mut readers = Vec::new();
    for t in 0..o.concurrency {
        readers.push(api.another_device(&patients[t % patients.len()]).await?);
    }
    let started = Instant::now();
    let mut set = JoinSet::new();
    for reader in readers {
        let api = api.clone();
        let max = o.pull_max;
        set.spawn(async move {
            let mut lat = Latencies::default();
            let mut cursor: Option<String> = None;
            let mut received = 0;
            loop {
                let (page, took) = api.pull(&reader.access, cursor.as_deref(), limit).await?;
                lat.push(took);
                received += page.changes.len();
                cursor = Some(page.cursor);
                if !page.has_more || received >= max {
                    break;
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((received, lat))
        });
    }
    let mut all = Latencies::default();
    let mut total = 0;
    while let Some(done) = set.join_next().await {
        let (n, lat) = done??;
        total += n;
        all.extend(lat);
    }
    Ok((total, started.elapsed(), all))
}

/// Lets the database catch up before a timed pull: on PostgreSQL, `VACUUM (ANALYZE)` of the
/// run's database, as autovacuum does on a live server soon after a burst of edits (a million
/// edits leave a million dead row versions; timing pulls while autovacuum clears them would time
/// the vacuum, not the history). Run before both history sizes alike.
async fn settle(db: &TestDatabase) -> Res<()> {
    if !db.is_postgres() {
        return Ok(());
    }
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || -> Res<()> {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut conn = diesel::PgConnection::establish(&url)?;
        conn.batch_execute("VACUUM (ANALYZE)")?;
        Ok(())
    })
    .await?
}

/// Pulls until nothing more waits; returns the cursor.
async fn pull_to_head(api: &Api, token: &str, cursor: Option<String>) -> Res<Option<String>> {
    let mut cursor = cursor;
    loop {
        let (page, _) = api.pull(token, cursor.as_deref(), 1_000).await?;
        cursor = Some(page.cursor);
        if !page.has_more {
            return Ok(cursor);
        }
    }
}

/// Pushes `ops` edits of `fields` (round-robin from `*next`) from `device` in 1,000-op batches.
async fn push_edits(
    api: &Api,
    device: &mut Device,
    fields: &[(Uuid, &'static str)],
    next: &mut usize,
    ops: usize,
) -> Res<()> {
    let mut done = 0;
    while done < ops {
        let n = (ops - done).min(1_000);
        let body = device.edits_body(fields, next, n)?;
        api.push(&device.session.access, body, n).await?;
        done += n;
    }
    Ok(())
}

/// A patient whose pulls are measured: a writing device, a reading device at the head of the
/// stream, and the check-in fields the writer edits.
struct Subject {
    writer: Device,
    reader: Session,
    cursor: Option<String>,
    fields: Vec<(Uuid, &'static str)>,
    next: usize,
}

impl Subject {
    /// A new patient with `field_count` fields of current state (check-ins whose six fields all
    /// get edited over and over) and no history yet.
    async fn enroll(api: &Api, counselor: &Session, field_count: usize) -> Res<Self> {
        let p = api.patient(counselor).await?;
        let reader = api.another_device(&p).await?;
        let fields = (0..field_count.div_ceil(6))
            .flat_map(|_| {
                let doc = Uuid::now_v7();
                CHECKIN_FIELDS.iter().map(move |f| (doc, *f))
            })
            .collect();
        Ok(Subject {
            writer: Device::new(p.clone(), p.user_id),
            reader,
            cursor: None,
            fields,
            next: 0,
        })
    }

    /// Pushes `ops` edits in 1,000-op batches, then brings the reader to the head of the stream.
    async fn build_history(&mut self, api: &Api, ops: usize) -> Res<()> {
        push_edits(api, &mut self.writer, &self.fields, &mut self.next, ops).await?;
        self.cursor = pull_to_head(api, &self.reader.access, self.cursor.take()).await?;
        Ok(())
    }

    /// The writer pushes 100 edits of distinct fields and the reader pulls them in one page of
    /// 100; returns how long the pull took.
    async fn changed_pull(&mut self, api: &Api) -> Res<Duration> {
        let body = self.writer.edits_body(&self.fields, &mut self.next, 100)?;
        api.push(&self.writer.session.access, body, 100).await?;
        let (page, took) = api
            .pull(&self.reader.access, self.cursor.as_deref(), 100)
            .await?;
        if page.changes.len() != 100 || page.has_more {
            return Err(format!(
                "history pull: expected exactly 100 changes, got {} (has_more {})",
                page.changes.len(),
                page.has_more
            )
            .into());
        }
        self.cursor = Some(page.cursor);
        Ok(took)
    }
}

/// `o.reps` timed pulls of 100 changed fields for each subject, taking turns (the order flips
/// every round), so that whatever else the machine does falls on all of them alike.
async fn measure_alternately(
    api: &Api,
    subjects: &mut [&mut Subject],
    o: &Options,
) -> Res<Vec<Latencies>> {
    let mut lat: Vec<Latencies> = subjects.iter().map(|_| Latencies::default()).collect();
    for rep in 0..o.reps {
        for k in 0..subjects.len() {
            let i = if rep % 2 == 0 {
                k
            } else {
                subjects.len() - 1 - k
            };
            lat[i].push(subjects[i].changed_pull(api).await?);
        }
    }
    Ok(lat)
}

/// History independence. One patient's history is built by pushing edits of the same fields
/// over HTTP (exactly what a phone would send: every op goes through the full push path), and
/// pulling 100 changed fields is measured at 10,000 ops of history and again at `o.history`.
/// Then a second patient with the same current state and 10,000 ops of history is measured
/// alternately with the first: the two differ only in history, at the same moment in the same
/// database, which the run-to-run noise of a small machine cannot fake.
async fn history_phase(
    api: &Api,
    db: &TestDatabase,
    counselor: &Session,
    o: &Options,
    report: &mut Report,
) -> Res<()> {
    let small = o.history.min(10_000);
    let field_count = (small / 5).clamp(600, 3_000);
    let mut big = Subject::enroll(api, counselor, field_count).await?;
    big.build_history(api, small).await?;
    settle(db).await?;
    let [lat] = <[Latencies; 1]>::try_from(measure_alternately(api, &mut [&mut big], o).await?)
        .map_err(|_| "one subject, one measurement")?;
    let mut history = small;
    println!(
        "history {history} ops ({} fields of current state): pull of 100 changed fields p50/p95/p99 {} ms",
        big.fields.len(),
        lat.summary()
    );
    report.history.push((history, lat));
    history += o.reps * 100;

    if o.history <= history {
        return Ok(());
    }
    // Grow the history with two writers at once, 1,000-op batches, bodies made on the fly.
    let remaining = o.history - history;
    let mut second = Device::new(
        api.another_device(&big.writer.session).await?,
        big.writer.patient,
    );
    let started = Instant::now();
    let helper = {
        let api = api.clone();
        let fields = big.fields.clone();
        let share = remaining / 2;
        tokio::spawn(async move { push_edits(&api, &mut second, &fields, &mut 997, share).await })
    };
    let mine = remaining - remaining / 2;
    push_edits(api, &mut big.writer, &big.fields, &mut big.next, mine).await?;
    helper.await??;
    let r = rate(remaining, started.elapsed());
    println!("history grown by {remaining} ops over HTTP at {r:.0} ops/s");
    report.history_build = Some((remaining, r));
    history += remaining;
    big.cursor = pull_to_head(api, &big.reader.access, big.cursor.take()).await?;

    // The control: same current state, 10,000 ops of history.
    let mut control = Subject::enroll(api, counselor, field_count).await?;
    control.build_history(api, small).await?;
    settle(db).await?;
    let [at_big, at_small] = <[Latencies; 2]>::try_from(
        measure_alternately(api, &mut [&mut big, &mut control], o).await?,
    )
    .map_err(|_| "two subjects, two measurements")?;
    println!(
        "history {history} ops: pull of 100 changed fields p50/p95/p99 {} ms; taking turns with a patient of {small} ops of history: {} ms",
        at_big.summary(),
        at_small.summary()
    );
    report.history.push((history, at_big));
    report.control = Some((small, at_small));
    Ok(())
}

fn print_summary(name: &str, o: &Options, r: &Report) {
    // Every single measurement, those in turns with the pushes included.
    let ceiling = r
        .ceiling
        .iter()
        .map(|c| c.rate)
        .chain(r.push.iter().map(|p| p.beside.fastest))
        .fold(f64::NAN, f64::max);
    let ceiling_cpu = r.ceiling.iter().map(|c| c.cpu).fold(f64::NAN, f64::min);
    println!();
    println!(
        "=== tether-load summary: {name}, {} cores, {} client tasks ===",
        cores(),
        o.concurrency
    );
    println!(
        "{:<90} {:>12} {:>24} {:>12}",
        "measure", "rate/s", "p50 / p95 / p99 ms", "CPU µs/item"
    );
    for c in &r.ceiling {
        println!(
            "{:<90} {:>12.0} {:>24} {:>12.1}",
            format!(
                "ceiling: {}, {} rows/tx, {}",
                c.method.label(),
                c.per_tx,
                c.round
            ),
            c.rate,
            "-",
            c.cpu
        );
    }
    for p in &r.push {
        println!(
            "{:<90} {:>12.0} {:>24} {:>12.1}",
            format!("push {}-op batches ({} ops)", p.batch, p.ops),
            p.rate,
            p.lat.summary(),
            p.cpu
        );
        println!(
            "{:<90} {:>12.0} {:>24} {:>12.1}",
            format!(
                "ceiling in turns: {} ({} rows)",
                p.beside.label, p.beside.rows
            ),
            p.beside.rate(),
            "-",
            p.beside.cpu_per_row()
        );
    }
    for (limit, changes, rate, lat) in &r.pull {
        println!(
            "{:<90} {:>12.0} {:>24}",
            format!("pull pages of {limit} ({changes} changes)"),
            rate,
            lat.summary()
        );
    }
    if let Some((ops, rate)) = r.history_build {
        println!(
            "{:<90} {:>12.0} {:>24}",
            format!("history build, 1000-op edits ({ops} ops)"),
            rate,
            "-"
        );
    }
    for (history, lat) in &r.history {
        println!(
            "{:<90} {:>12} {:>24}",
            format!("pull 100 changed, history {history} ops"),
            "-",
            lat.summary()
        );
    }
    if let Some((history, lat)) = &r.control {
        println!(
            "{:<90} {:>12} {:>24}",
            format!("pull 100 changed, control patient, history {history} ops"),
            "-",
            lat.summary()
        );
    }
    println!();
    println!(
        "ceiling, best single measurement: {ceiling:.0} rows/s; least CPU: {ceiling_cpu:.1} µs/row"
    );
    for p in &r.push {
        let share = 100.0 * p.rate / p.beside.rate();
        let lock_note = p.lock.map_or(String::new(), |us| {
            format!(
                "; write lock {:.1}x the ceiling's CPU per row",
                us / p.beside.cpu_per_row()
            )
        });
        println!(
            "push {:>5}-op batches: {share:5.1}% of the ceiling measured in turns with them (target >= 40%): {}; CPU per op {:.1}x the ceiling's per row{lock_note}; {:.1}% of the best single ceiling measurement",
            p.batch,
            if share >= 40.0 { "MET" } else { "NOT MET" },
            p.cpu / p.beside.cpu_per_row(),
            100.0 * p.rate / ceiling
        );
    }
    if let [(h_small, small), (h_big, big)] = r.history.as_slice() {
        let ratio = big.percentile_ms(50.0) / small.percentile_ms(50.0);
        println!(
            "pull of 100 changed fields, p50 at {h_big} vs {h_small} ops of history, one patient before and after: {ratio:.2}x"
        );
        if let Some((h_control, control)) = &r.control {
            let ratio = big.percentile_ms(50.0) / control.percentile_ms(50.0);
            println!(
                "pull of 100 changed fields, p50 at {h_big} vs {h_control} ops of history, two patients in turns: {ratio:.2}x (target <= 1.2x): {}",
                if ratio <= 1.2 { "MET" } else { "NOT MET" }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ceiling_first, slice_of};

    #[test]
    fn batches_fill_every_slice_in_order_and_evenly() {
        for (batches, rounds) in [(600, 4), (7, 4), (4, 4), (1_000, 3), (5, 1)] {
            let slices: Vec<usize> = (0..batches).map(|i| slice_of(i, batches, rounds)).collect();
            assert!(slices.windows(2).all(|w| w[0] <= w[1]), "{slices:?}");
            let sizes: Vec<usize> = (0..rounds)
                .map(|r| slices.iter().filter(|&&s| s == r).count())
                .collect();
            let (least, most) = (
                sizes.iter().min().copied().unwrap_or(0),
                sizes.iter().max().copied().unwrap_or(0),
            );
            assert!(
                least >= 1 && most - least <= 1,
                "{batches} in {rounds}: {sizes:?}"
            );
        }
    }

    #[test]
    fn ceiling_turns_alternate_around_the_pushes() {
        let order: Vec<bool> = (0..4).map(ceiling_first).collect();
        assert_eq!(order, [false, true, false, true]);
    }
}
