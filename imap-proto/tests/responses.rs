//! Responses: known answers for every response form and code, framing (prefixes, splits,
//! byte-at-a-time), leniencies, negative tests, nesting bombs, proptest round-trips and the
//! server-stream corpus.

mod responses {
    pub mod common;
    mod corpus;
    mod data;
    mod fetch;
    mod framing;
    mod lenient;
    mod negative;
    mod props;
    mod rfc;
    mod status;
}
