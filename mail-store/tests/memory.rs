//! The conformance kit against the in-memory backend.

mail_store::conformance_tests!(mail_store::memory::MemoryStore::new());
