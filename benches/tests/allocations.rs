//! Heap allocations per parsed command, over the whole corpus: ours must make none for SMTP
//! and POP3 commands (the values borrow from the input). The other crates' counts are printed
//! for the report (`cargo test -p benches --test allocations -- --nocapture`).
//! The workspace's `alloc-counter` counts (per thread).
#![allow(missing_docs, clippy::cast_precision_loss)]

use std::hint::black_box;

use benches::{corpus, lines, smtp_command_lines};

#[global_allocator]
static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;

/// Allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    alloc_counter::allocations_during(f).1
}

fn report(what: &str, commands: usize, ours: usize, theirs: (&str, usize)) {
    let per = |n: usize| n as f64 / commands as f64;
    let (name, n) = theirs;
    // One call, so that tests running in parallel do not interleave their lines.
    println!(
        "allocations: {what}: {commands} commands, ours {ours} ({:.2}/command), {name} {n} ({:.2}/command)",
        per(ours),
        per(n)
    );
}

#[test]
fn smtp_commands_allocate_nothing() {
    let stream = corpus("smtp-client-stream.txt");
    let lines = smtp_command_lines(&stream);
    let ours = allocations(|| {
        for line in &lines {
            black_box(sansmail_smtp::codec::decode_command(line).unwrap());
        }
    });
    let theirs = allocations(|| {
        for line in &lines {
            black_box(stalwart_smtp::Request::parse(&mut line.iter()).unwrap());
        }
    });
    report("SMTP", lines.len(), ours, ("smtp-proto (Stalwart)", theirs));
    assert_eq!(ours, 0);
}

#[test]
fn pop3_commands_allocate_nothing() {
    let stream = corpus("pop3-client-stream.txt");
    let lines = lines(&stream);
    let ours = allocations(|| {
        for line in &lines {
            black_box(sansmail_pop3::codec::decode_command(line).unwrap());
        }
    });
    let theirs = allocations(|| {
        for line in &lines {
            black_box(pop3_codec::parse::command(line).unwrap());
        }
    });
    report("POP3", lines.len(), ours, ("pop3-codec", theirs));
    assert_eq!(ours, 0);
}

#[test]
fn the_counter_counts() {
    assert_eq!(allocations(|| drop(black_box(vec![1u8; 10]))), 1);
}
