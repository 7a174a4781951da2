//! Deterministic batching: loads run when the request has nothing else to do.
//!
//! async-graphql's `DataLoader` batches the keys asked for within a timer delay. Under load (or
//! when tokio's cooperative budget makes a resolver yield) a timer can fire before every
//! sibling has asked, splitting a level into several statements. Here the `DataLoader` gets a
//! zero delay and a "spawner" that only queues its batch; [`drive`] polls the GraphQL
//! execution and starts the queued batches only once the execution is idle, i.e. every
//! resolver of the level is waiting for its data. The batches run inside the request's own
//! task. Result: one statement per relation per level, whatever the timing.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};

/// Batches waiting for the request to become idle.
#[derive(Clone, Default)]
pub struct BatchQueue {
    queued: Arc<Mutex<Vec<BoxFuture<'static, ()>>>>,
}

impl BatchQueue {
    /// The `DataLoader` spawner: queue the batch, do not start it yet.
    pub fn push(&self, batch: BoxFuture<'static, ()>) {
        if let Ok(mut queued) = self.queued.lock() {
            queued.push(batch);
        }
    }

    fn take(&self) -> Vec<BoxFuture<'static, ()>> {
        self.queued
            .lock()
            .map(|mut queued| std::mem::take(&mut *queued))
            .unwrap_or_default()
    }
}

/// Runs `execution`, starting queued batches whenever it is idle.
pub async fn drive<T>(queue: BatchQueue, execution: impl Future<Output = T>) -> T {
    Driver {
        execution: Box::pin(execution),
        queue,
        running: FuturesUnordered::new(),
    }
    .await
}

struct Driver<F> {
    execution: Pin<Box<F>>,
    queue: BatchQueue,
    running: FuturesUnordered<BoxFuture<'static, ()>>,
}

/// Forwards wake-ups to the task, remembering that one happened.
struct FlagWaker {
    woken: AtomicBool,
    task: Waker,
}

impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.task.wake_by_ref();
    }
}

impl<F: Future> Future for Driver<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        loop {
            // Let running batches make progress (they wake the execution when they deliver).
            while let Poll::Ready(Some(())) = this.running.poll_next_unpin(cx) {}

            let flag = Arc::new(FlagWaker {
                woken: AtomicBool::new(false),
                task: cx.waker().clone(),
            });
            let waker = Waker::from(flag.clone());
            if let Poll::Ready(output) = this
                .execution
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
            {
                return Poll::Ready(output);
            }
            if flag.woken.load(Ordering::SeqCst) {
                // The execution yielded (cooperative budget) and will be polled again:
                // it is not idle yet, so queued batches keep collecting keys.
                return Poll::Pending;
            }
            let batches = this.queue.take();
            if batches.is_empty() {
                return Poll::Pending;
            }
            this.running.extend(batches);
        }
    }
}
