//! IMAP URLs (RFC 5092) as CATENATE and URLFETCH take them, and URLAUTH's (RFC 4467), from
//! arbitrary text.
//!
//! - `parse_message_url` and `parse_auth_url` never panic, nor does reading a URL's section
//!   as FETCH names it.
//! - An authorized URL keeps its text: the rump is a prefix of it, and the access it names
//!   is the one its rump is verified with (`authorized` then `parse_auth_url` gives the
//!   same URL, with the verifier given).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sansmail_imap::url::{
    INTERNAL, internal_token, parse_auth_url, parse_message_url, verify_internal_token,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(url) = parse_message_url(&text) {
        assert!(url.uid > 0);
        let _ = url.body_section();
    }
    let Ok(url) = parse_auth_url(&text) else {
        return;
    };
    assert!(url.as_str().starts_with(url.rump()));
    assert!(url.message.user.is_some() && url.message.mailbox.is_some());
    let _ = url.is_expired(0);
    let key = [7u8; 32];
    let token = internal_token(&key, url.rump());
    assert!(verify_internal_token(&key, url.rump(), &token));
    let full = url.authorized(INTERNAL, &token);
    let again = parse_auth_url(&full).expect("an authorized URL parses");
    assert_eq!(again.rump(), url.rump());
    assert_eq!((&again.message, &again.access), (&url.message, &url.access));
    let verifier = again.verifier.expect("the verifier just added");
    assert_eq!(verifier.token, token);
});
