//! The server side of the RFC 9051 §8 sample session, replayed.

use sansmail_imap::codec::{Leniency, ResponseOptions, decode_greeting, decode_response};

use super::common::encode_with;

const HEADER: &str = "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nFrom: Terry Gray <gray@cac.washington.edu>\r\nSubject: IMAP4rev2 WG mtg summary and minutes\r\nTo: imap@cac.washington.edu\r\ncc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\nMessage-Id: <B27397-0100000@cac.washington.edu>\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n";

/// The FETCH of RFC 9051 §8 as printed: note the SP between the two cc addresses.
const FETCH_FULL: &str = "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev2 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\") (\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n";

fn session() -> String {
    [
        "a000 OK Proceed with TLS negotiation\r\n",
        "+ cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=\r\n",
        "+ dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==\r\n",
        "A001 OK SCRAM-SHA-256 authentication successful\r\n",
        "* ENABLED UTF8=ACCEPT\r\n",
        "babc OK Some capabilities enabled\r\n",
        "* 18 EXISTS\r\n",
        "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
        "* OK [UIDNEXT 4392] Predicted next UID\r\n",
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
        "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
        "* LIST () \"/\" INBOX\r\n",
        "a002 OK [READ-WRITE] SELECT completed\r\n",
        FETCH_FULL,
        "a003 OK FETCH completed\r\n",
        &format!("* 12 FETCH (BODY[HEADER] {{{}}}\r\n{HEADER})\r\n", HEADER.len()),
        "a004 OK FETCH completed\r\n",
        "* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n",
        "a005 OK +FLAGS completed\r\n",
        "* BYE IMAP4rev2 server terminating connection\r\n",
        "a006 OK LOGOUT completed\r\n",
    ]
    .concat()
}

#[test]
fn rfc9051_sample_session() {
    let greeting = b"* OK [CAPABILITY STARTTLS AUTH=SCRAM-SHA-256 LOGINDISABLED IMAP4rev2] IMAP4rev2 Service Ready\r\n";
    let strict = ResponseOptions::default();
    let (rest, _) = decode_greeting(greeting, &strict).unwrap();
    assert!(rest.is_empty());

    let lenient = ResponseOptions {
        lenient: Leniency {
            spaces_in_lists: true,
            ..Leniency::default()
        },
        ..strict
    };
    let stream = session();
    let mut input = stream.as_bytes();
    let mut count = 0;
    while !input.is_empty() {
        let message_len = match decode_response(input, &strict) {
            Ok((rest, r)) => {
                let message = &input[..input.len() - rest.len()];
                assert_eq!(encode_with(&r, &strict), message);
                message.len()
            }
            Err(e) => {
                // Only the FETCH with the space between addresses needs the leniency.
                assert!(input.starts_with(FETCH_FULL.as_bytes()), "{e}");
                let (rest, r) = decode_response(input, &lenient).unwrap();
                let canonical = FETCH_FULL.replace(") (\"John", ")(\"John");
                assert_eq!(
                    String::from_utf8(encode_with(&r, &lenient)).unwrap(),
                    canonical
                );
                input.len() - rest.len()
            }
        };
        input = &input[message_len..];
        count += 1;
    }
    assert_eq!(count, 21);
}
