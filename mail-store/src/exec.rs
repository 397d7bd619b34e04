//! Where blocking backend work runs.
//!
//! The [`MailStore`](crate::MailStore) trait is async so one server can call it from many
//! tasks; the Maildir backend does blocking file I/O (and fsync) underneath. It hands each
//! operation to an [`Executor`] and awaits the answer, so the caller's runtime thread is never
//! blocked:
//!
//! - [`Executor::growing_pool`] (the default): dedicated threads of our own, no runtime
//!   needed, one more whenever every thread is busy (up to a limit), so that calls waiting
//!   for one busy account never leave the others without a thread;
//! - [`Executor::thread_pool`]: a fixed number of dedicated threads;
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
    sync::{Arc, Condvar, Mutex},
    task::{Context, Poll, Wake, Waker},
    thread,
    time::Duration,
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
        // A growing pool that may not grow: no thread beyond the first ones ever starts.
        Self::growing(threads, threads, Duration::MAX).0
    }

    /// A pool of `core` dedicated threads that starts one more whenever a job arrives while
    /// every thread is busy, up to `max` threads; a thread beyond `core` ends after
    /// `keep_alive` without work. Calls that wait (for an account another call holds, or
    /// that is being loaded) hold a thread each, so a fixed pool can fill with the callers of
    /// one busy account while other accounts' calls queue behind them. The threads end when
    /// the last clone of the executor is dropped.
    pub fn growing_pool(core: usize, max: usize, keep_alive: Duration) -> Self {
        Self::growing(core, max, keep_alive).0
    }

    fn growing(core: usize, max: usize, keep_alive: Duration) -> (Self, Arc<Workers>) {
        let core = core.max(1);
        let workers = Arc::new(Workers {
            state: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            max: max.max(core),
            keep_alive,
        });
        for _ in 0..core {
            Workers::start(&workers, false);
        }
        let close = Close(Arc::clone(&workers));
        let executor = Self(Arc::new(move |job: Job| {
            let pool = &close.0;
            let more = {
                let mut q = pool.lock();
                q.jobs.push_back(job);
                q.jobs.len() > q.idle
            };
            pool.ready.notify_one();
            if more {
                Workers::start(pool, true);
            }
        }));
        (executor, workers)
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

/// The threads of a [`Executor::growing_pool`] and their queue.
struct Workers {
    state: Mutex<Queue>,
    /// Signalled for each job queued, and when the executor is dropped.
    ready: Condvar,
    max: usize,
    keep_alive: Duration,
}

#[derive(Default)]
struct Queue {
    jobs: std::collections::VecDeque<Job>,
    threads: usize,
    /// Threads waiting for a job: while fewer than the jobs queued, a job would wait behind
    /// a busy thread.
    idle: usize,
    /// The executor is gone: the threads end once the queue is empty.
    closed: bool,
}

/// Owned by the executor's closure: dropping the last clone of the executor ends the threads.
struct Close(Arc<Workers>);

impl Drop for Close {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.ready.notify_all();
    }
}

impl Workers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a thread if there are fewer than `max`; `extra` ones end after `keep_alive`
    /// without work.
    fn start(this: &Arc<Self>, extra: bool) {
        let n = {
            let mut q = this.lock();
            if q.threads >= this.max {
                return;
            }
            q.threads += 1;
            q.threads
        };
        let workers = Arc::clone(this);
        let started = thread::Builder::new()
            .name(format!("mail-store-{n}"))
            .spawn(move || workers.work(extra));
        if started.is_err() {
            let mut q = this.lock();
            q.threads -= 1;
            if q.threads == 0 {
                // No thread will take them: their callers fail with `WorkerGone`.
                let orphans = std::mem::take(&mut q.jobs);
                drop(q);
                drop(orphans);
            }
        }
    }

    fn work(&self, extra: bool) {
        let mut q = self.lock();
        loop {
            if let Some(job) = q.jobs.pop_front() {
                drop(q);
                // A job that panics fails its own call (its result is dropped unset, which
                // the caller sees as `WorkerGone`), not the thread that ran it.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                q = self.lock();
                continue;
            }
            if q.closed {
                break;
            }
            q.idle += 1;
            let timed_out;
            (q, timed_out) = if extra {
                let (q, t) = self
                    .ready
                    .wait_timeout(q, self.keep_alive)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                (q, t.timed_out())
            } else {
                let q = self
                    .ready
                    .wait(q)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                (q, false)
            };
            q.idle -= 1;
            if timed_out && q.jobs.is_empty() {
                break;
            }
        }
        q.threads -= 1;
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
    use std::sync::mpsc;

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

    /// With its one thread busy (blocked until released), a growing pool runs the next job
    /// on a new thread; the extra thread ends once idle, and no more than `max` start.
    #[test]
    fn a_growing_pool_runs_a_job_while_every_thread_is_busy() {
        let (pool, workers) = Executor::growing(1, 2, Duration::from_millis(500));
        let (started, running) = mpsc::channel::<()>();
        let hold = |started: mpsc::Sender<()>| {
            let (release, held) = mpsc::channel::<()>();
            let job = pool.run(move || started.send(()).is_ok() && held.recv().is_ok());
            (release, job)
        };
        let (release, blocked) = hold(started.clone());
        // A job finishes although the first thread is still held.
        let (done, finished) = mpsc::channel();
        drop(pool.run(move || done.send(()).is_ok()));
        assert!(
            finished.recv_timeout(Duration::from_secs(10)).is_ok(),
            "the second job waited for the first"
        );
        // At the limit: a third job waits for a thread instead of starting one.
        let (release2, blocked2) = hold(started);
        for _ in 0..2 {
            running.recv_timeout(Duration::from_secs(10)).unwrap();
        }
        let third = pool.run(|| 3);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            workers.lock().jobs.len(),
            1,
            "the third job waits for a thread"
        );
        release.send(()).unwrap();
        assert!(block_on(blocked).unwrap());
        release2.send(()).unwrap();
        assert!(block_on(blocked2).unwrap());
        assert_eq!(block_on(third).unwrap(), 3);
        let down_to = |n: usize, what: &str| {
            let start = std::time::Instant::now();
            while workers.lock().threads > n {
                assert!(start.elapsed() < Duration::from_secs(10), "{what}");
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        down_to(1, "the extra thread outlived its keep-alive");
        // A job that panics fails alone: the thread goes on to the next one.
        assert!(matches!(
            block_on(pool.run(|| panic!("a job that panics"))),
            Err(StoreError::WorkerGone)
        ));
        assert_eq!(block_on(pool.run(|| 4)).unwrap(), 4);
        drop(pool);
        down_to(0, "the core thread outlived the executor");
    }
}
