//! `mailctl queue`: the operator's view of the outbound queue under `<data-dir>/queue`, read
//! and changed through the same `DiskQueue` the server runs. The server's runner reads the
//! queue again at each scan (every minute), so `retry` and `delete` take effect there.

use std::{fmt::Write as _, path::Path};

use sansmail_server::outbound::queue::{
    DiskQueue, QueueEntry, QueueStore, RecipientState, unix_now, valid_id,
};

/// The queue as it is: the running server's crash recovery is not this tool's to run (it
/// would take a message the server is writing for a leftover).
fn open(data_dir: &Path) -> Result<DiskQueue, String> {
    DiskQueue::attach(data_dir.join("queue")).map_err(|e| e.to_string())
}

fn entry(queue: &DiskQueue, id: &str) -> Result<QueueEntry, String> {
    if !valid_id(id) {
        return Err(format!("{id:?} is not a queue id"));
    }
    queue
        .entry(id)
        .map_err(|e| format!("{id}: {e}"))?
        .ok_or_else(|| format!("{id}: no such message in the queue"))
}

/// `3d 4h`, `12m`, `now`: how far `t` (Unix seconds) is from `now`.
fn span(t: u64, now: u64) -> String {
    let (secs, ago) = if t >= now {
        (t - now, false)
    } else {
        (now - t, true)
    };
    let text = match secs {
        0..60 => return "now".to_owned(),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / 86_400, secs % 86_400 / 3600),
    };
    if ago {
        format!("{text} ago")
    } else {
        format!("in {text}")
    }
}

/// One line per queued message: id, age, size, sender, recipients still pending of all,
/// when it is tried next.
pub fn list(data_dir: &Path) -> Result<String, String> {
    let queue = open(data_dir)?;
    let mut entries = queue.entries().map_err(|e| e.to_string())?;
    entries.sort_by_key(|e| e.queued_at);
    let now = unix_now();
    let mut out = format!(
        "{:<28} {:>10} {:>9} {:>11} {:<14} {}\n",
        "ID", "QUEUED", "SIZE", "PENDING", "NEXT", "SENDER"
    );
    for e in &entries {
        let pending = e.pending().count();
        let _ = writeln!(
            out,
            "{:<28} {:>10} {:>9} {:>11} {:<14} <{}>",
            e.id,
            span(e.queued_at, now),
            e.size,
            format!("{pending}/{}", e.recipients.len()),
            if pending == 0 {
                "-".to_owned()
            } else {
                span(e.next_attempt, now)
            },
            e.sender
        );
    }
    let _ = writeln!(out, "{} messages", entries.len());
    Ok(out)
}

/// Everything the queue holds about one message, recipient by recipient.
pub fn show(data_dir: &Path, id: &str) -> Result<String, String> {
    let queue = open(data_dir)?;
    let e = entry(&queue, id)?;
    let now = unix_now();
    let mut out = String::new();
    let _ = writeln!(out, "id:           {}", e.id);
    let _ = writeln!(out, "sender:       <{}>", e.sender);
    let _ = writeln!(out, "queued:       {}", span(e.queued_at, now));
    let _ = writeln!(out, "size:         {} octets", e.size);
    let _ = writeln!(out, "attempts:     {}", e.attempts);
    if let Some(t) = e.last_attempt {
        let _ = writeln!(out, "last attempt: {}", span(t, now));
    }
    if e.pending().next().is_some() {
        let _ = writeln!(out, "next attempt: {}", span(e.next_attempt, now));
    }
    if let Some(envid) = &e.envid {
        let _ = writeln!(out, "envid:        {envid}");
    }
    if let Some(from) = &e.received_from {
        let _ = writeln!(out, "received from {from}");
    }
    for r in &e.recipients {
        let state = match r.state {
            RecipientState::Pending => "pending",
            RecipientState::Delivered => "delivered",
            RecipientState::Failed => "failed",
        };
        let _ = write!(out, "  <{}> {state}", r.address);
        if let Some(status) = &r.status {
            let _ = write!(out, " {status}");
        }
        if let Some(mta) = &r.remote_mta {
            let _ = write!(out, " by {mta}");
        }
        if let Some(reply) = &r.last_reply {
            let _ = write!(out, ": {reply}");
        }
        out.push('\n');
    }
    Ok(out)
}

/// Makes `id` (or every message with `None`) due now; returns the ids changed.
pub fn retry(data_dir: &Path, id: Option<&str>) -> Result<Vec<String>, String> {
    let queue = open(data_dir)?;
    let entries = match id {
        Some(id) => vec![entry(&queue, id)?],
        None => queue.entries().map_err(|e| e.to_string())?,
    };
    let now = unix_now();
    let mut changed = Vec::new();
    for mut e in entries {
        if e.pending().next().is_none() || e.next_attempt <= now {
            continue;
        }
        e.next_attempt = now;
        queue.update(&e).map_err(|err| format!("{}: {err}", e.id))?;
        changed.push(e.id);
    }
    Ok(changed)
}

/// Removes `id` and its message from the queue, without a bounce.
pub fn delete(data_dir: &Path, id: &str) -> Result<(), String> {
    let queue = open(data_dir)?;
    entry(&queue, id)?;
    queue.remove(id).map_err(|e| format!("{id}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_an_operator_would() {
        assert_eq!(span(1000, 1000), "now");
        assert_eq!(span(1000 + 5 * 60, 1000), "in 5m");
        assert_eq!(span(1000, 1000 + 2 * 3600 + 60), "2h 1m ago");
        assert_eq!(span(1000, 1000 + 3 * 86_400 + 4 * 3600), "3d 4h ago");
    }
}
