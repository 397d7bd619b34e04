//! The conformance kit against a Maildir store that keeps one account loaded, so that the
//! cases that use several accounts unload and load them again between calls.

mod common;

sansmail_store::conformance_tests!(common::maildir_fixture_one_loaded());
