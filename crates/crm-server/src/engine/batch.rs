//! Deterministic batching without timers.
//!
//! A resolver asks [`Batcher::load_one`] for a key; the key joins the pending batch of its
//! type and the resolver waits. [`drive`] polls the GraphQL execution and, once the execution
//! is idle (every resolver of the level is waiting for data), starts every pending batch: one
//! `Loader::load` call, hence one SQL statement, per key type and level. The batches run
//! inside the request's own task. Unlike a timer-based `DataLoader`, the statement count does
//! not depend on timing or load, and no request waits for a timer tick, which under load
//! tokio only processes between tasks.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use async_graphql::dataloader::Loader;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, Stream, StreamExt};
use tokio::sync::oneshot;

use crate::error::AppError;

type Reply<V> = oneshot::Sender<Result<Option<V>, Arc<AppError>>>;
type ReplyMany<V> = oneshot::Sender<Result<Vec<Option<V>>, Arc<AppError>>>;

/// The pending keys of one key type.
struct Batch<K, V> {
    keys: HashSet<K>,
    waiters: Vec<(K, Reply<V>)>,
    /// Callers waiting for several keys at once (a relation of every row of a list).
    groups: Vec<(Vec<K>, ReplyMany<V>)>,
}

impl<K, V> Batch<K, V> {
    fn new() -> Self {
        Batch {
            keys: HashSet::new(),
            waiters: Vec::new(),
            groups: Vec::new(),
        }
    }
}

/// A pending batch whose key type is erased, ready to start.
trait Pending<L>: Send {
    fn as_any(&mut self) -> &mut dyn Any;
    fn start(self: Box<Self>, loader: Arc<L>) -> BoxFuture<'static, ()>;
}

impl<K, L> Pending<L> for Batch<K, L::Value>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K, Error = Arc<AppError>>,
{
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn start(self: Box<Self>, loader: Arc<L>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let keys: Vec<K> = self.keys.into_iter().collect();
            let result = loader.load(&keys).await;
            for (key, reply) in self.waiters {
                let answer = match &result {
                    Ok(values) => Ok(values.get(&key).cloned()),
                    Err(err) => Err(err.clone()),
                };
                let _ = reply.send(answer);
            }
            for (keys, reply) in self.groups {
                let answer = match &result {
                    Ok(values) => Ok(keys.iter().map(|key| values.get(key).cloned()).collect()),
                    Err(err) => Err(err.clone()),
                };
                let _ = reply.send(answer);
            }
        })
    }
}

fn lost() -> Arc<AppError> {
    Arc::new(AppError::Internal("batch lost".to_owned()))
}

/// Collects keys per type until the request is idle, then loads each type in one call.
pub struct Batcher<L> {
    loader: Arc<L>,
    pending: Arc<Mutex<PendingBatches<L>>>,
}

/// Another handle on the same batches.
impl<L> Clone for Batcher<L> {
    fn clone(&self) -> Self {
        Batcher {
            loader: self.loader.clone(),
            pending: self.pending.clone(),
        }
    }
}

/// The pending batch of each key type.
type PendingBatches<L> = HashMap<TypeId, Box<dyn Pending<L>>>;

impl<L: Send + Sync + 'static> Batcher<L> {
    pub fn new(loader: L) -> Self {
        Batcher {
            loader: Arc::new(loader),
            pending: Arc::default(),
        }
    }

    /// Loads one key, batched with every other key of its type asked for at this level.
    pub async fn load_one<K>(&self, key: K) -> Result<Option<L::Value>, Arc<AppError>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K, Error = Arc<AppError>>,
    {
        let receiver = self.with_batch(|batch: &mut Batch<K, L::Value>| {
            let (reply, receiver) = oneshot::channel();
            batch.keys.insert(key.clone());
            batch.waiters.push((key, reply));
            receiver
        })?;
        receiver.await.map_err(|_| lost())?
    }

    /// Loads several keys in the same batch as [`Batcher::load_one`], with one wait for all:
    /// the values in the order of `keys`.
    pub async fn load_many<K>(&self, keys: Vec<K>) -> Result<Vec<Option<L::Value>>, Arc<AppError>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K, Error = Arc<AppError>>,
    {
        let receiver = self.with_batch(|batch: &mut Batch<K, L::Value>| {
            let (reply, receiver) = oneshot::channel();
            batch.keys.extend(keys.iter().cloned());
            batch.groups.push((keys, reply));
            receiver
        })?;
        receiver.await.map_err(|_| lost())?
    }

    /// Runs `add` on the pending batch of key type `K`.
    fn with_batch<K, T>(
        &self,
        add: impl FnOnce(&mut Batch<K, L::Value>) -> T,
    ) -> Result<T, Arc<AppError>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K, Error = Arc<AppError>>,
    {
        let mut pending = self.pending.lock().map_err(|_| lost())?;
        let batch = pending
            .entry(TypeId::of::<K>())
            .or_insert_with(|| Box::new(Batch::<K, L::Value>::new()));
        let batch = batch
            .as_any()
            .downcast_mut::<Batch<K, L::Value>>()
            .ok_or_else(lost)?;
        Ok(add(batch))
    }

    /// What [`drive`] needs to start the pending batches.
    pub fn dispatcher(&self) -> Dispatcher {
        let loader = self.loader.clone();
        let pending = self.pending.clone();
        Dispatcher(Arc::new(move || {
            let batches: Vec<Box<dyn Pending<L>>> = match pending.lock() {
                Ok(mut pending) => pending.drain().map(|(_, batch)| batch).collect(),
                Err(_) => Vec::new(),
            };
            batches
                .into_iter()
                .map(|batch| batch.start(loader.clone()))
                .collect()
        }))
    }
}

/// Takes the pending batches of a request, as futures to run.
#[derive(Clone)]
pub struct Dispatcher(Arc<dyn Fn() -> Vec<BoxFuture<'static, ()>> + Send + Sync>);

/// Runs `execution`, starting the pending batches whenever it is idle.
pub async fn drive<T>(dispatcher: Dispatcher, execution: impl Future<Output = T>) -> T {
    Driver {
        execution: Box::pin(execution),
        dispatcher,
        running: FuturesUnordered::new(),
    }
    .await
}

struct Driver<F> {
    execution: Pin<Box<F>>,
    dispatcher: Dispatcher,
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
        let execution = &mut this.execution;
        poll_driven(&mut this.running, &this.dispatcher, cx, |cx| {
            execution.as_mut().poll(cx)
        })
    }
}

/// Polls `stream` (a subscription's answers, each resolved like an execution), starting the
/// pending batches whenever it is idle, as [`drive`] does for one execution.
pub fn drive_stream<S: Stream>(dispatcher: Dispatcher, stream: S) -> impl Stream<Item = S::Item> {
    StreamDriver {
        stream: Box::pin(stream),
        dispatcher,
        running: FuturesUnordered::new(),
    }
}

struct StreamDriver<S> {
    stream: Pin<Box<S>>,
    dispatcher: Dispatcher,
    running: FuturesUnordered<BoxFuture<'static, ()>>,
}

impl<S: Stream> Stream for StreamDriver<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        let stream = &mut this.stream;
        poll_driven(&mut this.running, &this.dispatcher, cx, |cx| {
            stream.as_mut().poll_next(cx)
        })
    }
}

/// One poll of a driven execution (`poll`): runs the started batches, polls the execution,
/// and when it is idle (waiting, and not merely yielding) starts the pending batches and
/// polls again.
fn poll_driven<T>(
    running: &mut FuturesUnordered<BoxFuture<'static, ()>>,
    dispatcher: &Dispatcher,
    cx: &mut Context<'_>,
    mut poll: impl FnMut(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    loop {
        // Let running batches make progress (they wake the execution when they deliver).
        while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}

        let flag = Arc::new(FlagWaker {
            woken: AtomicBool::new(false),
            task: cx.waker().clone(),
        });
        let waker = Waker::from(flag.clone());
        if let Poll::Ready(output) = poll(&mut Context::from_waker(&waker)) {
            return Poll::Ready(output);
        }
        if flag.woken.load(Ordering::SeqCst) {
            // The execution yielded (cooperative budget) and will be polled again:
            // it is not idle yet, so pending batches keep collecting keys.
            return Poll::Pending;
        }
        let batches = (dispatcher.0)();
        if batches.is_empty() {
            return Poll::Pending;
        }
        running.extend(batches);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Doubles its keys, counting its calls.
    struct Doubler(Arc<AtomicUsize>);

    impl Loader<u32> for Doubler {
        type Value = u32;
        type Error = Arc<AppError>;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Arc<AppError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(keys.iter().map(|key| (*key, key * 2)).collect())
        }
    }

    #[tokio::test]
    async fn each_level_is_one_load_for_an_execution_and_for_each_item_of_a_stream() {
        let calls = Arc::new(AtomicUsize::new(0));
        let batcher = Arc::new(Batcher::new(Doubler(calls.clone())));
        let level = |base: u32| {
            let batcher = batcher.clone();
            async move {
                let loads = (base..base + 3).map(|key| {
                    let batcher = batcher.clone();
                    async move { batcher.load_one(key).await.ok().flatten() }
                });
                futures_util::future::join_all(loads).await
            }
        };
        let values = drive(batcher.dispatcher(), level(1)).await;
        assert_eq!(values, [Some(2), Some(4), Some(6)]);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one load for the level");

        // A stream whose items each need a level of loads (a subscription's events).
        let items = futures_util::stream::iter([10u32, 20, 30]).then(level);
        let answers: Vec<_> = drive_stream(batcher.dispatcher(), items).collect().await;
        assert_eq!(answers[2], [Some(60), Some(62), Some(64)]);
        assert_eq!(calls.load(Ordering::SeqCst), 4, "one load per item");
    }
}
