//! Append, flag updates, status, fetch of flags and search over a large mailbox, for the
//! Maildir backend (durable: every acknowledged write is fsynced), the PostgreSQL backend
//! (every acknowledged write committed, which flushes the WAL) and the memory backend.
//!
//! `MAIL_STORE_BENCH_MESSAGES` sets the size of the large mailbox (default 100 000). The
//! Maildir is built once, without fsync, in a temporary directory; the measured stores
//! fsync. The PostgreSQL group runs when the crate is built with the `postgres` feature and
//! `SANSMAIL_TEST_POSTGRES` names a cluster (`. .ci/postgres.sh`): its mailbox is built in a
//! schema of its own, dropped at the end.
#![allow(
    missing_docs,
    clippy::many_single_char_names,
    clippy::cast_possible_truncation,
    clippy::unwrap_used
)]

use std::{
    hint::black_box,
    path::{Path, PathBuf},
    time::Duration,
};

use criterion::{
    BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main, measurement::WallTime,
};
use sansmail_store::{
    AccountName, AppendItem, FetchQuery, Flag, FlagOp, Flags, MailStore, SearchQuery, Session, Uid,
    UidSet, block_on,
    maildir::{MaildirOptions, MaildirStore},
    memory::MemoryStore,
};

fn message(i: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Sender {i} <sender{i}@example.org>\r\nTo: alice@example.org\r\nSubject: message number {i}\r\nMessage-ID: <{i}@bench>\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    .into_bytes();
    while m.len() < 2048 {
        m.extend_from_slice(b"The quick brown fox jumps over the lazy dog, again and again.\r\n");
    }
    m
}

fn item<S: MailStore>(store: &S, data: &[u8]) -> AppendItem {
    let mut up = store.upload();
    up.write(data).unwrap();
    AppendItem::new(up)
}

struct Dir(PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn build(root: &Path, n: usize, account: &AccountName) {
    let store = MaildirStore::open(
        root,
        MaildirOptions {
            fsync: false,
            ..MaildirOptions::default()
        },
    )
    .unwrap();
    fill(&store, n, account);
}

/// `n` messages in the account's INBOX, every fourth one `\Seen`.
fn fill<S: MailStore>(store: &S, n: usize, account: &AccountName) {
    block_on(store.create_account(account)).unwrap();
    let s = Session::new(account.clone());
    let mut i = 0;
    while i < n {
        let batch: Vec<AppendItem> = (i..(i + 1000).min(n))
            .map(|j| item(store, &message(j)))
            .collect();
        i += batch.len();
        block_on(store.append(&s, "INBOX", batch)).unwrap();
    }
    // Every fourth message seen, so flag listings have something to say.
    let seen: UidSet = (1..=n as u32).step_by(4).filter_map(Uid::new).collect();
    block_on(store.store_flags(
        &s,
        "INBOX",
        &seen,
        FlagOp::Add(Flags::new().with(Flag::Seen)),
        None,
    ))
    .unwrap();
}

fn benches(c: &mut Criterion) {
    let n: usize = std::env::var("MAIL_STORE_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = Dir(std::env::temp_dir().join(format!("mail-store-bench-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let account = AccountName::try_from("alice").unwrap();
    let t = std::time::Instant::now();
    build(&dir.0, n, &account);
    eprintln!("built a {n}-message Maildir in {:.1?}", t.elapsed());
    let s = Session::new(account.clone());

    let mut g = c.benchmark_group(format!("maildir_{n}"));
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("open_and_list_uids_flags", |b| {
        b.iter(|| {
            let store = MaildirStore::open(&dir.0, MaildirOptions::default()).unwrap();
            let all =
                block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta())).unwrap();
            assert_eq!(all.len(), n);
            black_box(all);
        });
    });
    let store = MaildirStore::open(&dir.0, MaildirOptions::default()).unwrap();
    ops(&mut g, &store, &s, n);
    g.finish();
    drop(store);
    postgres(c, n, &account);

    let mem = MemoryStore::new();
    block_on(mem.create_account(&account)).unwrap();
    for i in 0..n / 1000 {
        let batch: Vec<AppendItem> = (0..1000)
            .map(|j| item(&mem, &message(i * 1000 + j)))
            .collect();
        block_on(mem.append(&s, "INBOX", batch)).unwrap();
    }
    let mut toggle = false;
    let data = message(7);
    let mut g = c.benchmark_group(format!("memory_{n}"));
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("fetch_flags_all", |b| {
        b.iter(|| {
            black_box(block_on(mem.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta())).unwrap())
        });
    });
    g.bench_function("store_flags_one", |b| {
        let one = UidSet::single(Uid::new(7).unwrap());
        b.iter(|| {
            toggle = !toggle;
            let f = Flags::new().with(Flag::Flagged);
            let op = if toggle {
                FlagOp::Add(f)
            } else {
                FlagOp::Remove(f)
            };
            black_box(block_on(mem.store_flags(&s, "INBOX", &one, op, None)).unwrap());
        });
    });
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("append_one", |b| {
        b.iter_batched(
            || item(&mem, &data),
            |it| black_box(block_on(mem.append(&s, "INBOX", vec![it])).unwrap()),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

/// The operations measured on each durable backend, over an INBOX of `n` messages.
fn ops<S: MailStore>(g: &mut BenchmarkGroup<'_, WallTime>, store: &S, s: &Session, n: usize) {
    g.bench_function("fetch_flags_all", |b| {
        b.iter(|| {
            black_box(
                block_on(store.fetch(s, "INBOX", &UidSet::all(), FetchQuery::meta())).unwrap(),
            )
        });
    });
    g.bench_function("fetch_flags_100", |b| {
        let set = UidSet::range(
            Uid::new(n as u32 / 2).unwrap(),
            Uid::new(n as u32 / 2 + 99).unwrap(),
        );
        b.iter(|| black_box(block_on(store.fetch(s, "INBOX", &set, FetchQuery::meta())).unwrap()));
    });
    g.bench_function("status", |b| {
        b.iter(|| black_box(block_on(store.status(s, "INBOX")).unwrap()));
    });
    let mut toggle = false;
    g.bench_function("store_flags_one_fsync", |b| {
        let one = UidSet::single(Uid::new(n as u32 / 3).unwrap());
        b.iter(|| {
            toggle = !toggle;
            let f = Flags::new().with(Flag::Flagged);
            let op = if toggle {
                FlagOp::Add(f)
            } else {
                FlagOp::Remove(f)
            };
            black_box(block_on(store.store_flags(s, "INBOX", &one, op, None)).unwrap());
        });
    });
    // SEARCH UNSEEN (three messages in four) and SEARCH SUBJECT (one message): whole-mailbox
    // searches, slow on a scan, so sampled flat (one run per sample).
    g.sampling_mode(SamplingMode::Flat);
    let unseen = !SearchQuery::Flag(Flag::Seen);
    g.bench_function("search_unseen", |b| {
        b.iter(|| {
            let hits = block_on(store.search(s, "INBOX", &UidSet::all(), &unseen)).unwrap();
            assert!(hits.len() >= n / 2);
            black_box(hits)
        });
    });
    let subject = SearchQuery::Header {
        name: b"Subject".to_vec(),
        contains: format!("message number {}", n / 2 + 1).into_bytes(),
    };
    g.bench_function("search_subject", |b| {
        b.iter(|| {
            let hits = block_on(store.search(s, "INBOX", &UidSet::all(), &subject)).unwrap();
            assert!(!hits.is_empty());
            black_box(hits)
        });
    });
    g.sampling_mode(SamplingMode::Auto);
    let data = message(7);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("append_one_fsync", |b| {
        b.iter_batched(
            || item(store, &data),
            |it| black_box(block_on(store.append(s, "INBOX", vec![it])).unwrap()),
            BatchSize::SmallInput,
        );
    });
    g.throughput(Throughput::Bytes(data.len() as u64 * 100));
    g.bench_function("append_batch_of_100_fsync", |b| {
        b.iter_batched(
            || (0..100).map(|_| item(store, &data)).collect::<Vec<_>>(),
            |items| black_box(block_on(store.append(s, "INBOX", items)).unwrap()),
            BatchSize::SmallInput,
        );
    });
}

/// The same operations on PostgreSQL, when a cluster is named.
#[cfg(feature = "postgres")]
fn postgres(c: &mut Criterion, n: usize, account: &AccountName) {
    use sansmail_store::postgres::{PostgresOptions, PostgresStore};
    let Ok(url) = std::env::var("SANSMAIL_TEST_POSTGRES") else {
        eprintln!(
            "postgres_{n}: skipped, SANSMAIL_TEST_POSTGRES is not set (`. .ci/postgres.sh` starts a cluster)"
        );
        return;
    };
    let schema = format!("bench_{}", std::process::id());
    let store = block_on(PostgresStore::open(
        &url,
        PostgresOptions {
            schema: Some(schema.clone()),
            ..PostgresOptions::default()
        },
    ))
    .unwrap();
    let t = std::time::Instant::now();
    fill(&store, n, account);
    eprintln!(
        "built a {n}-message PostgreSQL mailbox in {:.1?}",
        t.elapsed()
    );
    let s = Session::new(account.clone());
    let mut g = c.benchmark_group(format!("postgres_{n}"));
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    ops(&mut g, &store, &s, n);
    g.finish();
    block_on(store.drop_schema(&schema)).unwrap();
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &mut Criterion, n: usize, _: &AccountName) {
    eprintln!("postgres_{n}: skipped, built without the `postgres` feature");
}

criterion_group!(store, benches);
criterion_main!(store);
