//! THREAD and UID THREAD (RFC 5256 §4): ORDEREDSUBJECT and REFERENCES over the messages the
//! SEARCH keys match.
//!
//! ```text
//! thread      = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
//! thread-data = "THREAD" [SP 1*thread-list]
//! ```
//!
//! Both algorithms work on an arena of nodes (a message, or a dummy standing for a message
//! that is referenced but not among those threaded) and walk it without recursion, so a
//! `References:` field with thousands of ids or a reply chain thousands deep cannot exhaust
//! the stack.

use std::{collections::HashMap, io};

use imap_proto::types::{
    response::Data,
    response_data::Thread,
    search::{Charset, SearchKey, ThreadAlgorithm},
};

use super::{
    Conn,
    sort::{Info, casemap_cmp},
};

/// One node of the thread tree.
#[derive(Debug, Default)]
struct Node {
    /// The message (an index into the messages), `None` for a dummy.
    msg: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// The messages being threaded and the tree over them.
struct Tree<'a> {
    msgs: &'a [Info],
    nodes: Vec<Node>,
}

impl<'a> Tree<'a> {
    fn new(msgs: &'a [Info]) -> Self {
        Self {
            msgs,
            nodes: Vec::new(),
        }
    }

    fn add(&mut self, msg: Option<usize>) -> usize {
        self.nodes.push(Node {
            msg,
            ..Node::default()
        });
        self.nodes.len() - 1
    }

    /// Whether `a` is `b` or one of its ancestors: whether making `a` a child of `b` would
    /// make a loop. A node without children is nobody's ancestor, which spares the walk up
    /// for the usual case (a new message, a References chain of new ids).
    fn is_ancestor_or_self(&self, a: usize, b: usize) -> bool {
        if a != b && self.nodes[a].children.is_empty() {
            return false;
        }
        let mut n = Some(b);
        while let Some(x) = n {
            if x == a {
                return true;
            }
            n = self.nodes[x].parent;
        }
        false
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.nodes[child].parent.take() {
            self.nodes[p].children.retain(|&c| c != child);
        }
    }

    /// The sent date and sequence number a node sorts by: its message's, or for a dummy its
    /// first child's (RFC 5256 §4 REFERENCES steps 4 and 6; children are sorted first).
    fn key(&self, mut n: usize) -> (i64, u32) {
        loop {
            let node = &self.nodes[n];
            if let Some(m) = node.msg {
                return (self.msgs[m].sent, self.msgs[m].seq);
            }
            match node.children.first() {
                Some(&c) => n = c,
                None => return (i64::MAX, u32::MAX),
            }
        }
    }

    /// The base subject of a root's thread: its message's, or its first child's for a dummy
    /// (step 5.B.i), and whether that is a reply.
    fn thread_subject(&self, n: usize) -> Option<&'a Info> {
        let node = &self.nodes[n];
        let m = node
            .msg
            .or_else(|| node.children.first().and_then(|&c| self.nodes[c].msg))?;
        Some(&self.msgs[m])
    }

    /// Every node below `roots`, each after all of its descendants.
    fn post_order(&self, roots: &[usize]) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<(usize, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
        while let Some((n, expanded)) = stack.pop() {
            if expanded {
                out.push(n);
            } else {
                stack.push((n, true));
                stack.extend(self.nodes[n].children.iter().rev().map(|&c| (c, false)));
            }
        }
        out
    }

    /// Sorts every set of children by sent date, the youngest generation first (step 6).
    fn sort_children(&mut self, roots: &[usize]) {
        for n in self.post_order(roots) {
            let mut children = std::mem::take(&mut self.nodes[n].children);
            children.sort_by_key(|&c| self.key(c));
            self.nodes[n].children = children;
        }
    }

    fn sort_roots(&self, roots: &mut [usize]) {
        roots.sort_by_key(|&r| self.key(r));
    }

    /// `thread-list`s of the roots: a node with one child continues its chain; a dummy has
    /// no number of its own (`((3)(5))`); `thread-nested` always has two lists or more.
    /// Each chain is walked once from its head, so a long chain costs its length.
    fn threads(&self, roots: &[usize], id: impl Fn(&Info) -> u32) -> Vec<Thread> {
        let mut built: Vec<Option<Thread>> = Vec::new();
        built.resize_with(self.nodes.len(), || None);
        let continues = |n: usize| {
            self.nodes[n]
                .parent
                .is_some_and(|p| self.nodes[p].msg.is_some() && self.nodes[p].children.len() == 1)
        };
        for n in self.post_order(roots) {
            if continues(n) {
                continue;
            }
            let mut t = Thread::default();
            let mut tail = n;
            loop {
                t.ids
                    .extend(self.nodes[tail].msg.map(|m| id(&self.msgs[m])));
                match self.nodes[tail].children.as_slice() {
                    [only] if self.nodes[tail].msg.is_some() => tail = *only,
                    _ => break,
                }
            }
            t.children = self.nodes[tail]
                .children
                .iter()
                .filter_map(|&c| built[c].take())
                .collect();
            built[n] = Some(t);
        }
        roots.iter().filter_map(|&r| built[r].take()).collect()
    }
}

/// ORDEREDSUBJECT (RFC 5256 §4): messages sorted by base subject then sent date, one thread
/// per base subject whose first message is the parent of all the others, threads in the
/// order of their first message's sent date.
pub(super) fn ordered_subject(msgs: &[Info], id: impl Fn(&Info) -> u32) -> Vec<Thread> {
    let mut order: Vec<&Info> = msgs.iter().collect();
    order.sort_by(|a, b| {
        casemap_cmp(&a.subject, &b.subject)
            .then(a.sent.cmp(&b.sent))
            .then(a.seq.cmp(&b.seq))
    });
    let mut groups: Vec<Vec<&Info>> = Vec::new();
    for m in order {
        match groups.last_mut() {
            Some(g)
                if g.first()
                    .is_some_and(|f| casemap_cmp(&f.subject, &m.subject).is_eq()) =>
            {
                g.push(m);
            }
            _ => groups.push(vec![m]),
        }
    }
    groups.sort_by_key(|g| g.first().map(|f| (f.sent, f.seq)));
    groups
        .into_iter()
        .map(|g| {
            let mut ids = g.iter().map(|m| id(m));
            let mut t = Thread::default();
            t.ids.extend(ids.next());
            let rest: Vec<u32> = ids.collect();
            if rest.len() == 1 {
                t.ids.extend(rest);
            } else {
                t.children = rest
                    .into_iter()
                    .map(|n| Thread {
                        ids: vec![n],
                        children: Vec::new(),
                    })
                    .collect();
            }
            t
        })
        .collect()
}

/// REFERENCES (RFC 5256 §4): threads from Message-ID, References and In-Reply-To, merged
/// by base subject. `msgs` are in mailbox order.
pub(super) fn references(msgs: &[Info], id: impl Fn(&Info) -> u32) -> Vec<Thread> {
    let mut tree = Tree::new(msgs);
    // Message-ID → node. Comparisons are case-sensitive (step 1).
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (i, m) in msgs.iter().enumerate() {
        // (1) The message's node: the one its Message-ID already has when that is a dummy
        // (an earlier message referred to it); a new one when it has no valid Message-ID or
        // an earlier message had the same (a unique id is assigned: the node is not in the
        // table).
        let own = match m.message_id.as_deref() {
            Some(mid) => match ids.get(mid) {
                Some(&n) if tree.nodes[n].msg.is_none() => {
                    tree.nodes[n].msg = Some(i);
                    n
                }
                Some(_) => tree.add(Some(i)),
                None => {
                    let n = tree.add(Some(i));
                    ids.insert(mid, n);
                    n
                }
            },
            None => tree.add(Some(i)),
        };
        // The references: References, or else In-Reply-To's first id.
        let refs: Vec<&str> = if m.references.is_empty() {
            m.in_reply_to.as_deref().into_iter().collect()
        } else {
            m.references.iter().map(String::as_str).collect()
        };
        let mut nodes = Vec::with_capacity(refs.len());
        for r in refs {
            let n = match ids.get(r) {
                Some(&n) => n,
                None => {
                    let n = tree.add(None);
                    ids.insert(r, n);
                    n
                }
            };
            nodes.push(n);
        }
        // (1.A) Each reference the parent of the next, unless the child has a parent
        // already or the link would make a loop.
        for pair in nodes.windows(2) {
            let (parent, child) = (pair[0], pair[1]);
            if tree.nodes[child].parent.is_none() && !tree.is_ancestor_or_self(child, parent) {
                tree.link(parent, child);
            }
        }
        // (1.B) The last reference is the parent of the message, replacing any parent an
        // earlier message's References gave it; none if that would make a loop.
        tree.unlink(own);
        if let Some(&parent) = nodes.last()
            && !tree.is_ancestor_or_self(own, parent)
        {
            tree.link(parent, own);
        }
    }

    // (2) The nodes without parents are the root's children.
    let roots: Vec<usize> = (0..tree.nodes.len())
        .filter(|&n| tree.nodes[n].parent.is_none())
        .collect();

    // (3) Dummies go: a childless one disappears, one with children is replaced by them,
    // except at the top where it stays unless it has just one child.
    for n in tree.post_order(&roots) {
        let children = std::mem::take(&mut tree.nodes[n].children);
        let mut kept = Vec::with_capacity(children.len());
        for c in children {
            if tree.nodes[c].msg.is_some() {
                kept.push(c);
            } else {
                kept.append(&mut tree.nodes[c].children);
            }
        }
        for &c in &kept {
            tree.nodes[c].parent = Some(n);
        }
        tree.nodes[n].children = kept;
    }
    let mut top = Vec::with_capacity(roots.len());
    for r in roots {
        if tree.nodes[r].msg.is_some() {
            top.push(r);
            continue;
        }
        match tree.nodes[r].children.len() {
            0 => {}
            1 => {
                let c = tree.nodes[r].children[0];
                tree.nodes[c].parent = None;
                top.push(c);
            }
            _ => top.push(r),
        }
    }

    // (4) The top level by sent date (a dummy by its earliest child's).
    tree.sort_children(&top);
    tree.sort_roots(&mut top);

    // (5) Threads whose subjects are the same are gathered.
    // (5.A, 5.B) One thread per subject: a dummy before a message, a message that is no
    // reply before a reply; otherwise the first (in sent-date order).
    let subject_key = |m: &Info| m.subject.to_ascii_uppercase();
    let mut table: HashMap<String, usize> = HashMap::new();
    for &r in &top {
        let Some(m) = tree.thread_subject(r) else {
            continue;
        };
        if m.subject.is_empty() {
            continue;
        }
        let key = subject_key(m);
        match table.get(&key) {
            None => {
                table.insert(key, r);
            }
            Some(&t) => {
                let t_dummy = tree.nodes[t].msg.is_none();
                let r_dummy = tree.nodes[r].msg.is_none();
                let t_reply = tree.nodes[t].msg.is_some_and(|i| msgs[i].reply);
                let r_reply = tree.nodes[r].msg.is_some_and(|i| msgs[i].reply);
                if !t_dummy && (r_dummy || (t_reply && !r_reply)) {
                    table.insert(key, r);
                }
            }
        }
    }
    // (5.C) The others are merged into it.
    let mut slots: Vec<Option<usize>> = top.iter().map(|&r| Some(r)).collect();
    let slot_of: HashMap<usize, usize> = top.iter().enumerate().map(|(i, &r)| (r, i)).collect();
    for (i, &r) in top.iter().enumerate() {
        let Some(m) = tree.thread_subject(r) else {
            continue;
        };
        if m.subject.is_empty() {
            continue;
        }
        let key = subject_key(m);
        let Some(&t) = table.get(&key) else {
            continue;
        };
        if t == r {
            continue;
        }
        let t_dummy = tree.nodes[t].msg.is_none();
        let r_dummy = tree.nodes[r].msg.is_none();
        let t_reply = tree.nodes[t].msg.is_some_and(|i| msgs[i].reply);
        let r_reply = tree.nodes[r].msg.is_some_and(|i| msgs[i].reply);
        slots[i] = None;
        if t_dummy && r_dummy {
            let mut moved = std::mem::take(&mut tree.nodes[r].children);
            for &c in &moved {
                tree.nodes[c].parent = Some(t);
            }
            tree.nodes[t].children.append(&mut moved);
        } else if t_dummy || (r_reply && !t_reply) {
            tree.link(t, r);
        } else {
            let dummy = tree.add(None);
            tree.link(dummy, t);
            tree.link(dummy, r);
            // The dummy takes the table message's place at the top.
            let place = slot_of
                .get(&t)
                .copied()
                .or_else(|| slots.iter().position(|s| *s == Some(t)));
            if let Some(p) = place {
                slots[p] = Some(dummy);
            }
            table.insert(key, dummy);
        }
    }
    let mut top: Vec<usize> = slots.into_iter().flatten().collect();

    // (6) Every set of siblings by sent date, children before their parents.
    tree.sort_children(&top);
    tree.sort_roots(&mut top);

    // (7) Out they go.
    tree.threads(&top, id)
}

/// The key that RFC 5256 sorts siblings by, for tests.
#[cfg(test)]
fn by_date(a: &Info, b: &Info) -> std::cmp::Ordering {
    a.sent.cmp(&b.sent).then(a.seq.cmp(&b.seq))
}

impl Conn<'_> {
    /// `["UID" SP] THREAD SP thread-alg SP charset 1*(SP search-key)` (RFC 5256 §5).
    pub(super) async fn thread(
        &mut self,
        uid: bool,
        algorithm: &ThreadAlgorithm<'_>,
        charset: &Charset<'_>,
        keys: &[SearchKey<'_>],
    ) -> io::Result<()> {
        let references = match algorithm {
            ThreadAlgorithm::References => true,
            ThreadAlgorithm::OrderedSubject => false,
            ThreadAlgorithm::Other(a) => {
                return self.bad(&format!("Unknown threading algorithm {a}"));
            }
        };
        if !self.check_charset(Some(charset))? {
            return Ok(());
        }
        let Some((found, _)) = self.find(keys).await? else {
            return Ok(());
        };
        let Some(infos) = self.infos(&found, references).await? else {
            return Ok(());
        };
        let id = |m: &Info| if uid { m.uid } else { m.seq };
        let threads = if references {
            self::references(&infos, id)
        } else {
            ordered_subject(&infos, id)
        };
        self.server.send_data(Data::Thread(threads));
        self.ok(None, "THREAD completed")
    }
}

#[cfg(test)]
mod tests {
    use imap_proto::codec::{EncodeBuf, ResponseOptions, encode_response};
    use imap_proto::types::response::Response;

    use super::*;

    /// A message: sequence number, sent date, subject, Message-ID, references.
    fn msg(seq: u32, sent: i64, subject: &str, id: Option<&str>, refs: &[&str]) -> Info {
        let (subject, reply) = super::super::sort::base_subject(subject);
        Info {
            seq,
            uid: seq + 100,
            sent,
            subject,
            reply,
            message_id: id.map(|i| format!("<{i}@x>")),
            references: refs.iter().map(|r| format!("<{r}@x>")).collect(),
            ..Info::default()
        }
    }

    /// The THREAD response as sent.
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

    fn refs(msgs: &[Info]) -> String {
        wire(references(msgs, |m| m.seq))
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
        // Info.sent is INTERNALDATE when Date: is missing; equal dates fall back to sequence.
        let msgs = [
            msg(1, 10, "p", Some("a"), &[]),
            msg(2, 10, "Re: p", Some("b"), &["a"]),
            msg(3, 10, "Re: p", Some("c"), &["a"]),
            msg(4, 5, "q", Some("d"), &[]),
        ];
        assert_eq!(refs(&msgs), "(4)(1 (2)(3))");
        let mut v = msgs.to_vec();
        v.sort_by(by_date);
        assert_eq!(v.iter().map(|m| m.seq).collect::<Vec<_>>(), [4, 1, 2, 3]);
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
}
