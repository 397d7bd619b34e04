//! SORT and THREAD (RFC 5256) over plain records: base subjects, msg-ids, sort criteria and
//! ties, ESORT's ordered set, both threading algorithms (loops, dummies, subject gathering, a
//! reference chain deeper than any stack), and RFC 5256's own THREAD examples.

use sansmail_imap::{
    codec::{EncodeBuf, ResponseOptions, encode_response},
    sort::{Message, base_subject, casemap_cmp, ordered_set, sort},
    thread::{message_ids, ordered_subject, references},
    types::{
        response::{Data, Response},
        response_data::Thread,
        search::{SortCriterion, SortKey},
    },
};

// ---- base subject (RFC 5256 §2.1) ----

fn base(s: &str) -> (String, bool) {
    base_subject(s)
}

#[test]
fn base_subject_strips_leaders_trailers_and_blobs() {
    // RFC 5256 §2.1's steps one at a time.
    assert_eq!(base("Re: foo"), ("foo".into(), true));
    assert_eq!(base("RE:   re: Fwd: fw: foo"), ("foo".into(), true));
    assert_eq!(base("Re[2]: foo"), ("foo".into(), true));
    assert_eq!(base("Fwd : foo"), ("foo".into(), true));
    assert_eq!(base("foo (fwd) (FWD)  "), ("foo".into(), true));
    assert_eq!(base("[list] Re: foo"), ("foo".into(), true));
    assert_eq!(base("[list] [other] Re: foo"), ("foo".into(), true));
    assert_eq!(base("Re: [list] foo"), ("foo".into(), true));
    // A blob alone is not taken away when nothing would be left.
    assert_eq!(base("[list]"), ("[list]".into(), false));
    assert_eq!(base("Re: [list]"), ("[list]".into(), true));
    assert_eq!(base("[list] foo"), ("foo".into(), false));
    // [fwd: ...] is unwrapped, then everything again.
    assert_eq!(base("[Fwd: Re: foo (fwd)]"), ("foo".into(), true));
    assert_eq!(base("Re: [fwd: [list] foo]"), ("foo".into(), true));
    // White space folded, tabs and continuations included.
    assert_eq!(base("  foo\t \r\n  bar  "), ("foo bar".into(), false));
    // Not leaders: no colon, or a word merely starting with "re".
    assert_eq!(base("Rebuild: done"), ("Rebuild: done".into(), false));
    assert_eq!(base("Re foo"), ("Re foo".into(), false));
    assert_eq!(base("re:"), (String::new(), true));
    assert_eq!(base(""), (String::new(), false));
    // Unbalanced brackets are text.
    assert_eq!(base("[oops Re: foo"), ("[oops Re: foo".into(), false));
    assert_eq!(base("Re: caf\u{e9}"), ("caf\u{e9}".into(), true));
}

#[test]
fn base_subject_follows_the_rfc_grammar() {
    // subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":": every spelling, any case.
    for leader in ["re:", "RE:", "fw:", "FWD:", "Fwd\t:", "re [3]:", "fw[x] :"] {
        assert_eq!(
            base(&format!("{leader} topic")),
            ("topic".into(), true),
            "{leader}"
        );
    }
    // subj-trailer = "(fwd)" / WSP, repeated.
    assert_eq!(base("topic(fwd)(fwd) \t"), ("topic".into(), true));
    // subj-fwd = "[fwd:" subject "]", nested, with leaders inside and out.
    assert_eq!(
        base("Re: [Fwd: [FWD: Re: topic]] (fwd)"),
        ("topic".into(), true)
    );
    // Step (5): a subj-blob before the rest goes, only when something is left after it.
    assert_eq!(base("[a][b] topic"), ("topic".into(), false));
    assert_eq!(base("[a] [b]"), ("[b]".into(), false));
    // "[fwd:" without its "]" is not a subj-fwd.
    assert_eq!(base("[fwd: topic"), ("[fwd: topic".into(), false));
    // The same base subject whatever the markers: what SORT and THREAD compare.
    let all = [
        "topic",
        "Re: topic",
        "[list] Fwd: topic (fwd)",
        "[fwd: re: TOPIC]",
    ];
    for s in all {
        assert!(casemap_cmp(&base(s).0, "TOPIC").is_eq(), "{s}");
    }
}

#[test]
fn casemap_compares_octets_with_ascii_letters_folded() {
    use std::cmp::Ordering;
    // RFC 4790 §9.2: a-z as A-Z, everything else by octet value.
    assert_eq!(casemap_cmp("abc", "ABC"), Ordering::Equal);
    assert_eq!(casemap_cmp("a", "B"), Ordering::Less);
    // '_' (0x5F) sorts after 'A'..'Z' (0x41-0x5A) once letters are upper-cased.
    assert_eq!(casemap_cmp("_", "a"), Ordering::Greater);
    // Non-ASCII is not folded: é (C3 A9) and É (C3 89) differ.
    assert_eq!(casemap_cmp("\u{e9}", "\u{c9}"), Ordering::Greater);
    assert_eq!(casemap_cmp("ab", "abc"), Ordering::Less);
}

// ---- msg-ids ----

#[test]
fn message_ids_of_a_header_value() {
    assert_eq!(
        message_ids("<a@b> (comment <c@d>) \"<e@f>\" <g\r\n @h> <bad> <x@y"),
        ["<a@b>", "<g@h>"]
    );
    assert!(message_ids("").is_empty());
    // Nested comments, escaped quotes, and ids without left or right part.
    assert_eq!(
        message_ids("(a (b) <c@d>) \"x\\\"<e@f>\" <@h> <l@> <<i@j> <k@l>"),
        ["<k@l>"]
    );
}

// ---- SORT (RFC 5256 §3) ----

fn message(seq: u32) -> Message {
    Message {
        seq,
        uid: seq * 10,
        ..Message::default()
    }
}

fn order(v: &[Message]) -> Vec<u32> {
    v.iter().map(|m| m.seq).collect()
}

fn crit(reverse: bool, key: SortKey) -> SortCriterion {
    SortCriterion { reverse, key }
}

#[test]
fn sort_criteria_in_turn_and_reverse_keeps_sequence_ties() {
    let mut v: Vec<Message> = (1..=4).map(message).collect();
    v[0].base_subject = "b".into();
    v[1].base_subject = "A".into();
    v[2].base_subject = "a".into();
    v[3].base_subject = "B".into();
    v[0].size = 5;
    v[3].size = 1;
    sort(&mut v, &[crit(false, SortKey::Subject)]);
    assert_eq!(order(&v), [2, 3, 1, 4]);
    // REVERSE turns the key around, not the sequence-number tie-break.
    sort(&mut v, &[crit(true, SortKey::Subject)]);
    assert_eq!(order(&v), [1, 4, 2, 3]);
    sort(
        &mut v,
        &[crit(true, SortKey::Subject), crit(false, SortKey::Size)],
    );
    assert_eq!(order(&v), [4, 1, 2, 3]);
}

#[test]
fn every_sort_key_reads_its_own_field() {
    // Message 1 is the smallest under each key in turn, message 2 under none.
    let keyed = |key: SortKey| {
        let mut a = message(2);
        let mut b = message(1);
        match key {
            SortKey::Arrival => (a.arrival, b.arrival) = (2, 1),
            SortKey::Date => (a.sent, b.sent) = (2, 1),
            SortKey::Size => (a.size, b.size) = (2, 1),
            SortKey::Subject => (a.base_subject, b.base_subject) = ("b".into(), "A".into()),
            SortKey::From => (a.from, b.from) = ("b".into(), "A".into()),
            SortKey::To => (a.to, b.to) = ("b".into(), "A".into()),
            SortKey::Cc => (a.cc, b.cc) = ("b".into(), "A".into()),
            SortKey::DisplayFrom => {
                (a.display_from, b.display_from) = ("b".into(), "A".into());
            }
            SortKey::DisplayTo => (a.display_to, b.display_to) = ("b".into(), "A".into()),
        }
        vec![a, b]
    };
    let keys = [
        SortKey::Arrival,
        SortKey::Date,
        SortKey::Size,
        SortKey::Subject,
        SortKey::From,
        SortKey::To,
        SortKey::Cc,
        SortKey::DisplayFrom,
        SortKey::DisplayTo,
    ];
    for key in keys {
        let mut v = keyed(key);
        sort(&mut v, &[crit(false, key)]);
        assert_eq!(order(&v), [1, 2], "{key:?}");
        sort(&mut v, &[crit(true, key)]);
        assert_eq!(order(&v), [2, 1], "REVERSE {key:?}");
        // Any other key sees a tie: sequence order.
        let other = if key == SortKey::Size {
            SortKey::Cc
        } else {
            SortKey::Size
        };
        sort(&mut v, &[crit(true, other)]);
        assert_eq!(order(&v), [1, 2], "{key:?} under {other:?}");
    }
}

#[test]
fn esort_all_keeps_the_order() {
    let set = ordered_set(&[6, 3, 4, 5, 1]).unwrap();
    assert_eq!(set.to_string(), "6,3:5,1");
    assert!(ordered_set(&[]).is_none());
    assert_eq!(
        ordered_set(&[u32::MAX, 1]).unwrap().to_string(),
        "4294967295,1"
    );
    // A descending run cannot be a range: 5:4 would read as 4, 5.
    assert_eq!(ordered_set(&[5, 4, 7, 8]).unwrap().to_string(), "5,4,7:8");
}

// ---- THREAD (RFC 5256 §4) ----

/// A message: sequence number, sent date, subject, Message-ID, references.
fn msg(seq: u32, sent: i64, subject: &str, id: Option<&str>, refs: &[&str]) -> Message {
    let (base_subject, reply) = base_subject(subject);
    Message {
        seq,
        uid: seq + 100,
        sent,
        base_subject,
        reply,
        message_id: id.map(|i| format!("<{i}@x>")),
        references: refs.iter().map(|r| format!("<{r}@x>")).collect(),
        ..Message::default()
    }
}

/// The THREAD response as sent, without `* THREAD `.
fn wire(threads: Vec<Thread>) -> String {
    let mut buf = EncodeBuf::new();
    encode_response(
        &Response::Data(Data::Thread(threads)),
        &ResponseOptions::default(),
        &mut buf,
    );
    String::from_utf8(buf.bytes)
        .unwrap()
        .trim_end()
        .trim_start_matches("* THREAD ")
        .to_owned()
}

fn refs(msgs: &[Message]) -> String {
    wire(references(msgs, |m| m.seq))
}

#[test]
fn rfc5256_thread_examples() {
    // §4's `(2)(3 6 (4 23)(44 7 96))`: 2 alone; 3 → 6 → {4 → 23, 44 → 7 → 96}.
    let msgs = [
        msg(2, 10, "alone", Some("m2"), &[]),
        msg(3, 20, "chain", Some("m3"), &[]),
        msg(4, 40, "Re: chain", Some("m4"), &["m3", "m6"]),
        msg(6, 30, "Re: chain", Some("m6"), &["m3"]),
        msg(7, 60, "Re: chain", Some("m7"), &["m3", "m6", "m44"]),
        msg(23, 50, "Re: chain", Some("m23"), &["m3", "m6", "m4"]),
        msg(44, 45, "Re: chain", Some("m44"), &["m3", "m6"]),
        msg(96, 70, "Re: chain", Some("m96"), &["m3", "m6", "m44", "m7"]),
    ];
    assert_eq!(refs(&msgs), "(2)(3 6 (4 23)(44 7 96))");
    // §4's `((3)(5))`: 3 and 5 reply to a message that is not there.
    let msgs = [
        msg(3, 10, "Re: gone", Some("m3"), &["m1"]),
        msg(5, 20, "Re: gone", Some("m5"), &["m1"]),
    ];
    assert_eq!(refs(&msgs), "((3)(5))");
}

#[test]
fn ordered_subject_groups_by_base_subject() {
    let msgs = [
        msg(1, 50, "b", None, &[]),
        msg(2, 10, "Re: a", None, &[]),
        msg(3, 20, "A", None, &[]),
        msg(4, 5, "c", None, &[]),
        msg(5, 30, "re: b", None, &[]),
        msg(6, 15, "a (fwd)", None, &[]),
    ];
    // "a": 2 (10), 6 (15), 3 (20); "b": 5 (30), 1 (50); "c": 4.
    assert_eq!(
        wire(ordered_subject(&msgs, |m| m.seq)),
        "(4)(2 (6)(3))(5 1)"
    );
    assert_eq!(
        wire(ordered_subject(&msgs, |m| m.uid)),
        "(104)(102 (106)(103))(105 101)"
    );
    assert_eq!(wire(ordered_subject(&[], |m| m.seq)), "* THREAD");
}

#[test]
fn references_build_chains_and_branches() {
    let msgs = [
        msg(1, 10, "topic", Some("a"), &[]),
        msg(2, 20, "Re: topic", Some("b"), &["a"]),
        msg(3, 30, "Re: topic", Some("c"), &["a", "b"]),
        msg(4, 25, "Re: topic", Some("d"), &["a"]),
        msg(5, 5, "other", Some("e"), &[]),
    ];
    // 1 has children 2 (20) and 4 (25); 2 has 3.
    assert_eq!(refs(&msgs), "(5)(1 (2 3)(4))");
    assert_eq!(
        wire(references(&msgs, |m| m.uid)),
        "(105)(101 (102 103)(104))"
    );
    assert_eq!(refs(&[]), "* THREAD");
}

#[test]
fn missing_parents_become_dummies() {
    // 2 and 3 reply to a message not in the mailbox: a dummy holds them.
    let msgs = [
        msg(1, 10, "x", Some("m1"), &[]),
        msg(2, 20, "Re: lost", Some("m2"), &["gone"]),
        msg(3, 30, "Re: lost", Some("m3"), &["gone"]),
    ];
    assert_eq!(refs(&msgs), "(1)((2)(3))");
    // With one child, the dummy is replaced by it.
    let msgs = [msg(1, 10, "x", Some("m1"), &["gone", "gone2"])];
    assert_eq!(refs(&msgs), "(1)");
    // A dummy in the middle of a chain goes, its child taking its place.
    let msgs = [
        msg(1, 10, "t", Some("a"), &[]),
        msg(2, 20, "Re: t", Some("c"), &["a", "b"]),
    ];
    assert_eq!(refs(&msgs), "(1 2)");
}

#[test]
fn reference_loops_are_not_linked() {
    // a's References name b, b's name a: the second link would close a loop.
    let msgs = [
        msg(1, 10, "one", Some("a"), &["b"]),
        msg(2, 20, "two", Some("b"), &["a"]),
    ];
    // 1 becomes the child of b (a dummy then); when 2 (b) comes, making it a's child
    // would close a loop, so it stays at the top with 1 below it.
    assert_eq!(refs(&msgs), "(2 1)");
    // A message referring to itself.
    let msgs = [msg(1, 10, "self", Some("a"), &["a"])];
    assert_eq!(refs(&msgs), "(1)");
    // A loop inside one References field.
    let msgs = [
        msg(1, 10, "l", Some("z"), &["p", "q", "p"]),
        msg(2, 20, "m", Some("p"), &[]),
    ];
    assert_eq!(refs(&msgs), "(2 1)");
}

#[test]
fn duplicate_message_ids_keep_the_first() {
    // 3 names "a" as its parent: that is 1, the first with that id; 2 gets its own id.
    let msgs = [
        msg(1, 10, "first", Some("a"), &[]),
        msg(2, 20, "second", Some("a"), &[]),
        msg(3, 30, "Re: first", Some("c"), &["a"]),
    ];
    assert_eq!(refs(&msgs), "(1 3)(2)");
}

#[test]
fn in_reply_to_without_references() {
    let mut reply = msg(2, 20, "Re: q", Some("b"), &[]);
    reply.in_reply_to = Some("<a@x>".into());
    let msgs = [msg(1, 10, "q", Some("a"), &[]), reply];
    assert_eq!(refs(&msgs), "(1 2)");
    // References wins over In-Reply-To when both are there.
    let mut reply = msg(3, 30, "Re: q", Some("c"), &["a"]);
    reply.in_reply_to = Some("<b@x>".into());
    let msgs = [
        msg(1, 10, "q", Some("a"), &[]),
        msg(2, 20, "Re: q", Some("b"), &["a"]),
        reply,
    ];
    assert_eq!(refs(&msgs), "(1 (2)(3))");
}

#[test]
fn subjects_gather_threads() {
    // No references at all: the same base subject gathers them. 1 is no reply, so the
    // replies 2 and 3 become its children.
    let msgs = [
        msg(1, 10, "News", Some("a"), &[]),
        msg(2, 20, "Re: news", Some("b"), &[]),
        msg(3, 30, "Fwd: News", Some("c"), &[]),
    ];
    assert_eq!(refs(&msgs), "(1 (2)(3))");
    // Two messages that are no replies: a dummy holds both.
    let msgs = [
        msg(1, 10, "News", Some("a"), &[]),
        msg(2, 20, "News", Some("b"), &[]),
    ];
    assert_eq!(refs(&msgs), "((1)(2))");
    // A dummy (lost parent) and a message with its subject: the message joins the dummy.
    let msgs = [
        msg(1, 10, "Re: lost", Some("a"), &["gone"]),
        msg(2, 20, "Re: lost", Some("b"), &["gone"]),
        msg(3, 30, "lost", Some("c"), &[]),
    ];
    assert_eq!(refs(&msgs), "((1)(2)(3))");
    // Empty subjects are never gathered.
    let msgs = [
        msg(1, 10, "", Some("a"), &[]),
        msg(2, 20, "Re:", Some("b"), &[]),
    ];
    assert_eq!(refs(&msgs), "(1)(2)");
}

#[test]
fn messages_without_dates_sort_by_their_fallback() {
    // `sent` is INTERNALDATE when Date: is missing; equal dates fall back to sequence.
    let msgs = [
        msg(1, 10, "p", Some("a"), &[]),
        msg(2, 10, "Re: p", Some("b"), &["a"]),
        msg(3, 10, "Re: p", Some("c"), &["a"]),
        msg(4, 5, "q", Some("d"), &[]),
    ];
    assert_eq!(refs(&msgs), "(4)(1 (2)(3))");
    // The same order SORT DATE gives.
    let mut v = msgs.to_vec();
    sort(&mut v, &[crit(false, SortKey::Date)]);
    assert_eq!(order(&v), [4, 1, 2, 3]);
}

#[test]
fn long_reference_chains_do_not_recurse() {
    // 100 000 references to messages that are not there, then a deep real chain.
    let many: Vec<String> = (0..100_000).map(|i| format!("r{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let mut msgs = vec![msg(1, 10, "deep", Some("m0"), &many)];
    for i in 1..20_000u32 {
        let parent = format!("m{}", i - 1);
        msgs.push(msg(
            i + 1,
            10 + i64::from(i),
            "Re: deep",
            Some(&format!("m{i}")),
            &[&parent],
        ));
    }
    let threads = references(&msgs, |m| m.seq);
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0].ids.len(), 20_000);
    assert!(threads[0].children.is_empty());
}
