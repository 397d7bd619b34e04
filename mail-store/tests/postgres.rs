//! The conformance kit against the PostgreSQL backend. Needs a cluster: `. .ci/postgres.sh`
//! sets `SANSMAIL_TEST_POSTGRES` (CI runs it); without it every case fails saying so.
#![cfg(feature = "postgres")]

mod common;

sansmail_store::conformance_tests!(common::postgres_fixture());
