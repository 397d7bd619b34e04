//! A counting global allocator for tests that prove a decoder allocates nothing: install
//! [`Counting`] as the test binary's `#[global_allocator]` and measure with
//! [`allocations_during`]. Counts are per thread, so tests running in parallel do not
//! disturb each other.
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;
//!
//! let (_, n) = alloc_counter::allocations_during(|| parse(b"NOOP\r\n"));
//! assert_eq!(n, 0);
//! ```
//!
//! The only `unsafe` code of the workspace outside its dependencies lives here, because
//! `GlobalAlloc` is an unsafe trait; this crate is a dev-dependency only, and the protocol
//! crates keep `#![forbid(unsafe_code)]`.
#![allow(unsafe_code)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

/// The system allocator, counting every allocation and reallocation on the calling thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the thread-local may be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s; the counter is a const-initialized `Cell<usize>` with
// no destructor, so touching it never allocates or re-enters the allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` and returns its result with the number of allocations it made on this thread.
/// Without [`Counting`] installed as the global allocator the count stays 0: each test file
/// should first check that the counter sees a known allocation.
pub fn allocations_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    let after = ALLOCATIONS.with(Cell::get);
    (out, after - before)
}
