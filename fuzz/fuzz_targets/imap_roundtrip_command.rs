//! Every IMAP command that decodes re-encodes, decodes again to the same value, and its
//! encoding is a fixed point. With and without UTF-8 mailbox names. Without UTF-8, 8-bit
//! text taken quoted goes out as a literal (a quoted string is 7-bit), so the value comes
//! back in the other form: then only the fixed point is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_imap::{
    codec::{self, CommandOptions, EncodeBuf},
    error::DecodeError,
};

fn stream(data: &[u8], opts: &CommandOptions) {
    let mut rest = data;
    loop {
        match codec::decode_command(rest, opts) {
            Ok((r, cmd)) => {
                let mut wire = EncodeBuf::new();
                codec::encode_command(&cmd, opts, &mut wire);
                let (tail, again) = codec::decode_command(&wire.bytes, opts).unwrap_or_else(|e| {
                    panic!(
                        "{cmd:?} encodes as {:?}, which does not decode: {e:?}",
                        String::from_utf8_lossy(&wire.bytes)
                    )
                });
                assert!(tail.is_empty(), "encoding left bytes over");
                let mut as_utf8 = EncodeBuf::new();
                let utf8 = CommandOptions {
                    utf8: true,
                    ..*opts
                };
                codec::encode_command(&cmd, &utf8, &mut as_utf8);
                if as_utf8.literals.len() == wire.literals.len() {
                    assert_eq!(again, cmd, "{:?}", String::from_utf8_lossy(&wire.bytes));
                }
                let mut wire2 = EncodeBuf::new();
                codec::encode_command(&again, opts, &mut wire2);
                assert_eq!(wire2, wire, "encoding is not stable");
                rest = r;
            }
            Err(DecodeError::Frame { skip, .. } | DecodeError::Syntax { skip, .. }) => {
                rest = &rest[skip..];
            }
            Err(_) => break,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    stream(data, &CommandOptions::default());
    stream(
        data,
        &CommandOptions {
            utf8: true,
            ..CommandOptions::default()
        },
    );
});
