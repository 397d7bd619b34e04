//! Where blocking backend work runs.
//!
//! The [`MailStore`](crate::MailStore) trait is async so one server can call it from many
//! tasks; the Maildir backend does blocking file I/O (and fsync) underneath. It hands each
//! operation to an [`Executor`] and awaits the answer, so the caller's runtime thread is never
//! blocked:
//!
//! - [`Executor::thread_pool`] (the default): a few dedicated threads of our own, no runtime
//!   needed;
//! - [`Executor::from_fn`]: the caller's pool, e.g. tokio's
//!   `Executor::from_fn(|job| { tokio::task::spawn_blocking(job); })`;
//! - [`Executor::inline`]: run on the polling thread (tests, single-threaded tools).
//!
//! [`block_on`] drives a store future to completion on the current thread for code without a
//! runtime.

use std::{
    fmt,
    future::Future,
    pin::{Pin, pin},
    sync::{Arc, Mutex, mpsc},
    task::{Context, Poll, Wake, Waker},
    thread,
};

use crate::error::StoreError;

/// A unit of blocking work.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// Runs blocking jobs somewhere. Cheap to clone.
#[derive(Clone)]
pub struct Executor(Arc<dyn Fn(Job) + Send + Sync>);

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Executor")
    }
}

impl Executor {
    /// Runs each job immediately on the thread that polls the future.
    pub fn inline() -> Self {
        Self(Arc::new(|job: Job| job()))
    }

    /// A pool of `threads` dedicated threads (at least one). The threads end when the last
    /// clone of the executor is dropped.
    pub fn thread_pool(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let _ = thread::Builder::new()
                .name(format!("mail-store-{i}"))
                .spawn(move || {
                    loop {
                        let job = {
                            let guard =
                                rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                            guard.recv()
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                });
        }
        let tx = Mutex::new(tx);
        Self(Arc::new(move |job: Job| {
            let tx = tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = tx.send(job);
        }))
    }

    /// Jobs go to `spawn`, which must eventually run each one (or drop it: the waiting call
    /// then fails with [`StoreError::WorkerGone`]).
    pub fn from_fn(spawn: impl Fn(Job) + Send + Sync + 'static) -> Self {
        Self(Arc::new(spawn))
    }

    /// Runs `f` on the executor; the future resolves to its result, or to
    /// [`StoreError::WorkerGone`] if the job was dropped unrun. Backends with blocking work
    /// of their own can use it the way the Maildir backend does.
    pub fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> impl Future<Output = Result<T, StoreError>> + Send + 'static {
        let slot = Arc::new(Mutex::new(Slot::<T> {
            value: None,
            done: false,
            waker: None,
        }));
        let guard = Completion(Arc::clone(&slot));
        (self.0)(Box::new(move || {
            let v = f();
            guard.complete(Some(v));
        }));
        Pending { slot }
    }
}

struct Slot<T> {
    value: Option<T>,
    done: bool,
    waker: Option<Waker>,
}

/// Marks the slot done when the job finishes or is dropped unrun.
struct Completion<T>(Arc<Mutex<Slot<T>>>);

impl<T> Completion<T> {
    fn complete(&self, v: Option<T>) {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.done {
            return;
        }
        s.value = v;
        s.done = true;
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        self.complete(None);
    }
}

struct Pending<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Future for Pending<T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self
            .slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if s.done {
            return Poll::Ready(s.value.take().ok_or(StoreError::WorkerGone));
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

struct ThreadWaker(thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on the current thread (parking while it is pending).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_inline_and_dropped_jobs() {
        let pool = Executor::thread_pool(2);
        assert_eq!(block_on(pool.run(|| 40 + 2)).unwrap(), 42);
        assert_eq!(block_on(Executor::inline().run(|| "x")).unwrap(), "x");
        let dropping = Executor::from_fn(drop);
        assert!(matches!(
            block_on(dropping.run(|| 1)),
            Err(StoreError::WorkerGone)
        ));
    }
}
