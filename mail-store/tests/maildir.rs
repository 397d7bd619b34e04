//! The conformance kit against the Maildir backend.

mod common;

mail_store::conformance_tests!(common::maildir_fixture());
