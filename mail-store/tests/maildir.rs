//! The conformance kit against the Maildir backend.

mod common;

sansmail_store::conformance_tests!(common::maildir_fixture());
