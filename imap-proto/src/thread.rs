//! THREAD (RFC 5256 §4): the ORDEREDSUBJECT and REFERENCES algorithms over the records of
//! [`crate::sort`], answering [`Thread`]s ready for `Data::Thread`.
//!
//! ```text
//! thread      = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
//! thread-alg  = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext
//! thread-data = "THREAD" [SP 1*thread-list]
//! ```
//!
//! Both algorithms work on an arena of nodes (a message, or a dummy standing for a message
//! that is referenced but not among those threaded) and walk it without recursion, so a
//! `References:` field with thousands of ids or a reply chain thousands deep cannot exhaust
//! the stack.

use std::collections::HashMap;

use crate::{
    sort::{Message, casemap_cmp},
    types::response_data::Thread,
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
    msgs: &'a [Message],
    nodes: Vec<Node>,
}

impl<'a> Tree<'a> {
    fn new(msgs: &'a [Message]) -> Self {
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
    fn thread_subject(&self, n: usize) -> Option<&'a Message> {
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
    fn threads(&self, roots: &[usize], id: impl Fn(&Message) -> u32) -> Vec<Thread> {
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
/// order of their first message's sent date. `id` is the number listed for a message: its
/// `seq`, or its `uid` for UID THREAD.
pub fn ordered_subject(msgs: &[Message], id: impl Fn(&Message) -> u32) -> Vec<Thread> {
    let mut order: Vec<&Message> = msgs.iter().collect();
    order.sort_by(|a, b| {
        casemap_cmp(&a.base_subject, &b.base_subject)
            .then(a.sent.cmp(&b.sent))
            .then(a.seq.cmp(&b.seq))
    });
    let mut groups: Vec<Vec<&Message>> = Vec::new();
    for m in order {
        match groups.last_mut() {
            Some(g)
                if g.first()
                    .is_some_and(|f| casemap_cmp(&f.base_subject, &m.base_subject).is_eq()) =>
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
/// by base subject. `msgs` are in mailbox order (the first of two messages with the same
/// Message-ID keeps it); `id` is the number listed for a message, as for
/// [`ordered_subject`].
pub fn references(msgs: &[Message], id: impl Fn(&Message) -> u32) -> Vec<Thread> {
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
    let subject_key = |m: &Message| m.base_subject.to_ascii_uppercase();
    let mut table: HashMap<String, usize> = HashMap::new();
    for &r in &top {
        let Some(m) = tree.thread_subject(r) else {
            continue;
        };
        if m.base_subject.is_empty() {
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
        if m.base_subject.is_empty() {
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

// ---- message ids ----

/// The valid msg-ids of a header value (RFC 5322 §3.6.4 `msg-id = [CFWS] "<" id-left "@"
/// id-right ">" [CFWS]`), brackets included, white space inside taken out (obsolete
/// folding), comments and quoted strings between them skipped: what fills
/// [`Message::message_id`] (the first), [`Message::references`] and
/// [`Message::in_reply_to`] (the first).
pub fn message_ids(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                let mut depth = 1usize;
                for c in chars.by_ref() {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
            }
            '<' => {
                let mut id = String::from("<");
                let mut closed = false;
                for c in chars.by_ref() {
                    match c {
                        '>' => {
                            closed = true;
                            break;
                        }
                        c if c.is_whitespace() => {}
                        c => id.push(c),
                    }
                }
                let valid = closed
                    && !id[1..].contains('<')
                    && id[1..]
                        .split_once('@')
                        .is_some_and(|(l, r)| !l.is_empty() && !r.is_empty());
                if valid {
                    id.push('>');
                    out.push(id);
                }
            }
            _ => {}
        }
    }
    out
}
