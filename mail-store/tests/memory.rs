//! The conformance kit against the in-memory backend.

sansmail_store::conformance_tests!(sansmail_store::memory::MemoryStore::new());
