//! The IMAP framer fed in arbitrary chunks agrees with the framer fed everything at once:
//! the same messages, the same literal announcements, the same errors (a line found too long
//! before its end arrives may be reported with a shorter skip, after which the two stop
//! being compared).
//!
//! Flags: bit 0 client side, bit 1 small limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mail_proto_fuzz::{ChunkedInput, split};
use sansmail_imap::codec::frame::{FrameError, FrameLimits, Framed, Framer, Side};

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Framed(Framed),
    /// A line too long, with or without its end.
    LineTooLong,
}

/// Frames `data` as it arrives in `pieces`: the outcomes, message by message.
fn frame_all(side: Side, limits: FrameLimits, data: &[u8], cuts: &[usize]) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut framer = Framer::new(side, limits);
    let mut start = 0; // first octet of the current message
    let mut avail_i = 0;
    let mut avail = cuts.first().copied().unwrap_or(data.len());
    loop {
        match framer.next(&data[start..avail]) {
            Framed::Incomplete => {
                avail_i += 1;
                match cuts.get(avail_i) {
                    Some(&c) => avail = c,
                    None => return out,
                }
            }
            Framed::LiteralAnnounced { len, line_end } => {
                out.push(Outcome::Framed(Framed::LiteralAnnounced { len, line_end }));
            }
            Framed::Complete { len } => {
                assert!(len > 0 && start + len <= avail);
                out.push(Outcome::Framed(Framed::Complete { len }));
                start += len;
                framer.reset();
            }
            Framed::Invalid { error, skip } => {
                assert!(
                    skip > 0 && start + skip <= avail,
                    "skip {skip} beyond the input"
                );
                if let FrameError::LineTooLong { .. } = error {
                    out.push(Outcome::LineTooLong);
                    return out;
                }
                out.push(Outcome::Framed(Framed::Invalid { error, skip }));
                start += skip;
                framer.reset();
            }
        }
    }
}

fuzz_target!(|input: ChunkedInput| {
    let data = &input.data[..];
    let side = if input.flags & 1 == 0 {
        Side::Server
    } else {
        Side::Client
    };
    let limits = if input.flags & 2 == 0 {
        FrameLimits::default()
    } else {
        FrameLimits {
            max_line: 40,
            max_literal: 30,
            max_nonsync_literal: 10,
            max_message: 120,
        }
    };
    let mut cuts = Vec::new();
    let mut at = 0;
    for piece in split(data, &input.chunks) {
        at += piece.len();
        cuts.push(at);
    }
    let chunked = frame_all(side, limits, data, &cuts);
    let whole = frame_all(side, limits, data, &[data.len()]);
    assert_eq!(chunked, whole, "chunking changed the framing");
});
