//! Append, flag updates, status and fetch of flags over a large mailbox, for the Maildir backend
//! (durable: every acknowledged write is fsynced) and the memory backend.
//!
//! `MAIL_STORE_BENCH_MESSAGES` sets the size of the large mailbox (default 100 000). It is
//! built once, without fsync, in a temporary directory; the measured stores fsync.
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

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sansmail_store::{
    AccountName, AppendItem, FetchQuery, Flag, FlagOp, Flags, MailStore, Session, Uid, UidSet,
    block_on,
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
    block_on(store.create_account(account)).unwrap();
    let s = Session::new(account.clone());
    let mut i = 0;
    while i < n {
        let batch: Vec<AppendItem> = (i..(i + 1000).min(n))
            .map(|j| item(&store, &message(j)))
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
    g.bench_function("fetch_flags_all", |b| {
        b.iter(|| {
            black_box(
                block_on(store.fetch(&s, "INBOX", &UidSet::all(), FetchQuery::meta())).unwrap(),
            )
        });
    });
    g.bench_function("fetch_flags_100", |b| {
        let set = UidSet::range(
            Uid::new(n as u32 / 2).unwrap(),
            Uid::new(n as u32 / 2 + 99).unwrap(),
        );
        b.iter(|| black_box(block_on(store.fetch(&s, "INBOX", &set, FetchQuery::meta())).unwrap()));
    });
    g.bench_function("status", |b| {
        b.iter(|| black_box(block_on(store.status(&s, "INBOX")).unwrap()));
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
            black_box(block_on(store.store_flags(&s, "INBOX", &one, op, None)).unwrap());
        });
    });
    let data = message(7);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("append_one_fsync", |b| {
        b.iter_batched(
            || item(&store, &data),
            |it| black_box(block_on(store.append(&s, "INBOX", vec![it])).unwrap()),
            BatchSize::SmallInput,
        );
    });
    g.throughput(Throughput::Bytes(data.len() as u64 * 100));
    g.bench_function("append_batch_of_100_fsync", |b| {
        b.iter_batched(
            || (0..100).map(|_| item(&store, &data)).collect::<Vec<_>>(),
            |items| black_box(block_on(store.append(&s, "INBOX", items)).unwrap()),
            BatchSize::SmallInput,
        );
    });
    g.finish();
    drop(store);

    let mem = MemoryStore::new();
    block_on(mem.create_account(&account)).unwrap();
    for i in 0..n / 1000 {
        let batch: Vec<AppendItem> = (0..1000)
            .map(|j| item(&mem, &message(i * 1000 + j)))
            .collect();
        block_on(mem.append(&s, "INBOX", batch)).unwrap();
    }
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

criterion_group!(store, benches);
criterion_main!(store);
