//! The subscriptions: what changed, re-read for each subscriber.
//!
//! Each subscription reads the instance's [`Feed`] (after replaying the log from `after:` when
//! resuming). A created or updated row is read again by id through the subscriber's own
//! loaders, the engine path of queries, so it reaches only a viewer who may see it at delivery
//! time, as it is then; a row no longer there or no longer visible is skipped (its deletion
//! follows). A deletion carries only ids: it reaches a viewer who sees the row's client (every
//! admin and manager; for a deleted client, only them), and passes the status and contract
//! filters, whose values died with the row: a subscriber drops the id if it shows it.

use std::collections::VecDeque;
use std::sync::Arc;

use async_graphql::{Context, Result, SimpleObject, Subscription, Union};
use entity::{ClientStatus, ContractStatus, PaymentStatus};
use futures_util::stream::{self, Stream, StreamExt};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::feed::{Change, Ended, Feed, Interest, Operation, since};
use crate::client_notes::ClientNote;
use crate::clients::Client;
use crate::contracts::Contract;
use crate::documents::Document;
use crate::engine::loader::Loaders;
use crate::engine::record::Record;
use crate::error::AppError;
use crate::payments::Payment;

/// Log entries a resuming subscription may replay; further behind, it reloads instead.
pub const MAX_REPLAY: usize = 10_000;

/// Log entries read per statement while replaying.
const REPLAY_PAGE: i64 = 500;

/// Why the socket of a subscription closes: a subscriber fell too far behind.
pub trait Lagging: Send + Sync {
    fn lagged(&self);
}

macro_rules! event_type {
    ($(#[doc = $doc:literal])* $name:ident { $(#[doc = $id_doc:literal])* $id:ident, $(#[doc = $row_doc:literal])* $row:ident: $ty:ty }) => {
        $(#[doc = $doc])*
        #[derive(SimpleObject, Clone)]
        pub struct $name {
            /// The change's place in the log: pass it as `after` to resume after this event.
            pub sequence: String,
            /// Created, updated or deleted.
            pub operation: Operation,
            $(#[doc = $id_doc])*
            pub $id: Uuid,
            /// Id of the client the row belongs to (the client itself for a client).
            pub client_id: Uuid,
            $(#[doc = $row_doc])*
            pub $row: Option<$ty>,
        }

        impl From<(Change, Option<$ty>)> for $name {
            fn from((change, row): (Change, Option<$ty>)) -> Self {
                $name {
                    sequence: change.seq.to_string(),
                    operation: change.operation,
                    $id: change.row_id,
                    client_id: change.client_id.unwrap_or(change.row_id),
                    $row: row,
                }
            }
        }
    };
}

event_type! {
    /// A client created, changed (details, status, assignment, or its totals after a contract
    /// or payment) or deleted.
    ClientEvent {
        /// Id of the client.
        id,
        /// The client as it is now; null when deleted.
        client: Client
    }
}

event_type! {
    /// A contract created, changed (signed, completed, cancelled, re-priced, paid) or deleted.
    ContractEvent {
        /// Id of the contract.
        id,
        /// The contract as it is now; null when deleted.
        contract: Contract
    }
}

event_type! {
    /// A payment recorded, changed (received, refunded, corrected) or deleted.
    PaymentEvent {
        /// Id of the payment.
        id,
        /// The payment as it is now; null when deleted.
        payment: Payment
    }
}

event_type! {
    /// A note added to a client's history (or, on the timeline, changed or deleted).
    NoteEvent {
        /// Id of the note.
        id,
        /// The note as it is now; null when deleted.
        note: ClientNote
    }
}

event_type! {
    /// A document uploaded, changed (type, contract, file) or deleted.
    DocumentEvent {
        /// Id of the document.
        id,
        /// The document as it is now; null when deleted.
        document: Document
    }
}

/// Anything that happened to a client or its rows.
#[derive(Union, Clone)]
pub enum TimelineEvent {
    Client(ClientEvent),
    Contract(ContractEvent),
    Payment(PaymentEvent),
    Note(NoteEvent),
    Document(DocumentEvent),
}

/// Every subscription: each is a stream of events, live from the moment it starts, or from
/// `after` (an event's `sequence`) to resume where a previous subscription stopped.
#[derive(Default)]
pub struct Subscription;

/// Every subscription (over WebSocket, `graphql-transport-ws`).
#[Subscription]
impl Subscription {
    /// Clients created, changed or deleted: all those the viewer sees, or one.
    async fn client_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this client.")] client_id: Option<Uuid>,
        #[graphql(desc = "Only clients with this status (deletions always pass).")] status: Option<
            ClientStatus,
        >,
        #[graphql(desc = "Resume after this `sequence`: the events since come first.")]
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<ClientEvent>> + use<>> {
        let watch = Watch::new(ctx, interest("clients", client_id), after)?;
        Ok(watch.of::<Client, _>(
            "clients",
            move |change| client_id.is_none_or(|id| change.row_id == id),
            move |client: &Client| status.is_none_or(|s| client.status == s),
        ))
    }

    /// Contracts created, changed or deleted.
    async fn contract_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this client's contracts.")] client_id: Option<Uuid>,
        #[graphql(desc = "Only this contract.")] contract_id: Option<Uuid>,
        #[graphql(desc = "Only contracts with this status (deletions always pass).")]
        status: Option<ContractStatus>,
        #[graphql(desc = "Resume after this `sequence`: the events since come first.")]
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<ContractEvent>> + use<>> {
        let watch = Watch::new(ctx, interest("contracts", client_id), after)?;
        Ok(watch.of::<Contract, _>(
            "contracts",
            move |change| {
                client_id.is_none_or(|id| change.client_id == Some(id))
                    && contract_id.is_none_or(|id| change.row_id == id)
            },
            move |contract: &Contract| status.is_none_or(|s| contract.status == s),
        ))
    }

    /// Payments recorded, changed or deleted.
    async fn payment_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this client's payments.")] client_id: Option<Uuid>,
        #[graphql(desc = "Only payments of this contract (deletions of the client's \
                          payments pass).")]
        contract_id: Option<Uuid>,
        #[graphql(desc = "Only payments with this status (deletions always pass).")] status: Option<
            PaymentStatus,
        >,
        #[graphql(desc = "Resume after this `sequence`: the events since come first.")]
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<PaymentEvent>> + use<>> {
        let watch = Watch::new(ctx, interest("payments", client_id), after)?;
        Ok(watch.of::<Payment, _>(
            "payments",
            move |change| client_id.is_none_or(|id| change.client_id == Some(id)),
            move |payment: &Payment| {
                contract_id.is_none_or(|id| payment.contract_id == id)
                    && status.is_none_or(|s| payment.status == s)
            },
        ))
    }

    /// Notes added to clients' histories.
    async fn note_added(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this client's notes.")] client_id: Option<Uuid>,
        #[graphql(desc = "Resume after this `sequence`: the events since come first.")]
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<NoteEvent>> + use<>> {
        let watch = Watch::new(ctx, interest("client_notes", client_id), after)?;
        Ok(watch.of::<ClientNote, _>(
            "client_notes",
            move |change| {
                change.operation == Operation::Created
                    && client_id.is_none_or(|id| change.client_id == Some(id))
            },
            |_: &ClientNote| true,
        ))
    }

    /// Documents uploaded, changed or deleted.
    async fn document_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this client's documents.")] client_id: Option<Uuid>,
        #[graphql(desc = "Only documents of this contract (deletions of the client's \
                          documents pass).")]
        contract_id: Option<Uuid>,
        #[graphql(desc = "Resume after this `sequence`: the events since come first.")]
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<DocumentEvent>> + use<>> {
        let watch = Watch::new(ctx, interest("documents", client_id), after)?;
        Ok(watch.of::<Document, _>(
            "documents",
            move |change| client_id.is_none_or(|id| change.client_id == Some(id)),
            move |document: &Document| {
                contract_id.is_none_or(|id| document.contract_id == Some(id))
            },
        ))
    }

    /// Everything that happens to one client: its own changes, its contracts', payments',
    /// notes' and documents', in the order they happened.
    async fn client_timeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client.")] client_id: Uuid,
        #[graphql(desc = "Resume after this `sequence`: the events since come first.")]
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<TimelineEvent>> + use<>> {
        let watch = Watch::new(
            ctx,
            Interest {
                table: None,
                client: Some(client_id),
            },
            after,
        )?;
        Ok(watch.stream(
            move |change| change.client_id == Some(client_id),
            |loaders, change| async move {
                Ok(match change.table.as_str() {
                    "clients" => reread::<Client>(&loaders, change)
                        .await?
                        .map(|event| TimelineEvent::Client(event.into())),
                    "contracts" => reread::<Contract>(&loaders, change)
                        .await?
                        .map(|event| TimelineEvent::Contract(event.into())),
                    "payments" => reread::<Payment>(&loaders, change)
                        .await?
                        .map(|event| TimelineEvent::Payment(event.into())),
                    "client_notes" => reread::<ClientNote>(&loaders, change)
                        .await?
                        .map(|event| TimelineEvent::Note(event.into())),
                    "documents" => reread::<Document>(&loaders, change)
                        .await?
                        .map(|event| TimelineEvent::Document(event.into())),
                    _ => None,
                })
            },
        ))
    }
}

/// The changes of `table`, of one client or all.
fn interest(table: &'static str, client: Option<Uuid>) -> Interest {
    Interest {
        table: Some(table),
        client,
    }
}

/// What a subscription reads: the feed, the log to resume from, its loaders.
struct Watch {
    receiver: super::feed::Subscription,
    db: DatabaseConnection,
    loaders: Loaders,
    after: Option<i64>,
    lagging: Option<Arc<dyn Lagging>>,
}

impl Watch {
    /// Subscribes to the feed now (before any replay, so nothing falls between the two), for
    /// the changes of `interest`.
    fn new(
        ctx: &Context<'_>,
        interest: Interest,
        after: Option<String>,
    ) -> Result<Watch, AppError> {
        let loaders = crate::engine::loader::loaders(ctx)?.clone();
        // Signed in, or no subscription.
        loaders.viewer()?;
        let after = after
            .map(|after| {
                after.trim().parse::<i64>().map_err(|_| {
                    AppError::bad_input("after", "`after` takes an event's `sequence`")
                })
            })
            .transpose()?;
        let feed = ctx
            .data::<Arc<Feed>>()
            .map_err(|_| AppError::Internal("schema has no change feed".to_owned()))?;
        Ok(Watch {
            receiver: feed.subscribe(interest),
            db: crate::graphql::context::db(ctx)?.clone(),
            loaders,
            after,
            lagging: ctx.data_opt::<Arc<dyn Lagging>>().cloned(),
        })
    }

    /// The events on rows of `R` (`table`) that pass `wanted` (on the log entry) and `keep`
    /// (on the row, when not deleted).
    fn of<R, E>(
        self,
        table: &'static str,
        wanted: impl Fn(&Change) -> bool + Send + Sync + 'static,
        keep: impl Fn(&R) -> bool + Send + Sync + 'static,
    ) -> impl Stream<Item = Result<E>>
    where
        R: Record,
        E: From<(Change, Option<R>)> + Send + 'static,
    {
        let keep = Arc::new(keep);
        self.stream(
            move |change| change.table == table && wanted(change),
            move |loaders, change| {
                let keep = keep.clone();
                async move {
                    Ok(reread::<R>(&loaders, change)
                        .await?
                        .filter(|(_, row)| row.as_ref().is_none_or(|row| keep(row)))
                        .map(E::from))
                }
            },
        )
    }

    /// The log entries that pass `wanted`, turned into events by `deliver` (none: skipped).
    fn stream<E, F>(
        self,
        wanted: impl Fn(&Change) -> bool + Send + Sync + 'static,
        deliver: impl Fn(Loaders, Change) -> F + Send + Sync + 'static,
    ) -> impl Stream<Item = Result<E>>
    where
        E: Send + 'static,
        F: Future<Output = Result<Option<E>, AppError>> + Send + 'static,
    {
        let loaders = self.loaders.clone();
        let deliver = Arc::new(deliver);
        changes(self)
            .filter(move |change| {
                std::future::ready(change.as_ref().map_or(true, |change| wanted(change)))
            })
            .then(move |change| {
                let loaders = loaders.clone();
                let deliver = deliver.clone();
                async move {
                    let change = change?;
                    loaders.renew();
                    // Boxed: the stream keeps a pointer, not room for the largest re-read, while idle.
                    Box::pin(deliver(loaders, (*change).clone())).await
                }
            })
            .filter_map(|event| {
                std::future::ready(match event {
                    Ok(Some(event)) => Some(Ok(event)),
                    Ok(None) => None,
                    Err(err) => Some(Err(err.into())),
                })
            })
    }
}

/// The row of `change` as the subscriber's viewer sees it now: `None` to skip the event (not
/// visible, or gone since: its deletion follows); `Some(change, None)` for a deletion the
/// viewer may know of.
async fn reread<R: Record>(
    loaders: &Loaders,
    change: Change,
) -> Result<Option<(Change, Option<R>)>, AppError> {
    if change.operation == Operation::Deleted {
        let viewer = loaders.viewer()?;
        let knows = viewer.sees_all_clients()
            || match (change.table.as_str(), change.client_id) {
                ("clients", _) | (_, None) => false,
                (_, Some(client)) => loaders.by_id::<Client>(client).await?.is_some(),
            };
        return Ok(knows.then_some((change, None)));
    }
    Ok(loaders
        .by_id::<R>(change.row_id)
        .await?
        .map(|row| (change, Some(row))))
}

/// Where a subscription is in the log.
struct Position {
    watch: Watch,
    /// The next entry to replay after (none: replay over, or never asked).
    replay_after: Option<i64>,
    replay: VecDeque<Change>,
    /// Sequence numbers replayed (sorted), not to deliver twice from the feed.
    replayed: Vec<i64>,
    /// When the feed can no longer bring a replayed change (the longest a gap in the log is
    /// waited for, after the replay): `replayed` is dropped then.
    replayed_until: Option<std::time::Instant>,
    done: bool,
}

/// The subscription's log entries: the replay, then the feed's; an error ends it.
fn changes(watch: Watch) -> impl Stream<Item = Result<Arc<Change>, AppError>> {
    let position = Position {
        replay_after: watch.after,
        watch,
        replay: VecDeque::new(),
        replayed: Vec::new(),
        replayed_until: None,
        done: false,
    };
    stream::unfold(position, |mut at| async move {
        if at.done {
            return None;
        }
        let next = at.next().await;
        if next.is_err() {
            at.done = true;
        }
        Some((next, at))
    })
}

impl Position {
    async fn next(&mut self) -> Result<Arc<Change>, AppError> {
        loop {
            if let Some(change) = self.replay.pop_front() {
                return Ok(Arc::new(change));
            }
            if let Some(after) = self.replay_after {
                Box::pin(self.read_replay(after)).await?;
                continue;
            }
            match self.watch.receiver.recv().await {
                Ok(change) => {
                    if self
                        .replayed_until
                        .is_some_and(|until| std::time::Instant::now() >= until)
                    {
                        self.replayed = Vec::new();
                        self.replayed_until = None;
                    }
                    if self.replayed.binary_search(&change.seq).is_err() {
                        return Ok(change);
                    }
                }
                Err(Ended::Lagged) => {
                    if let Some(lagging) = &self.watch.lagging {
                        lagging.lagged();
                    }
                    return Err(AppError::rule(
                        None,
                        "SUBSCRIBER_TOO_SLOW",
                        "this subscriber fell too many changes behind (CRM_SUBSCRIPTION_LAG): \
                         subscribe again with `after` set to the last sequence received",
                    ));
                }
                Err(Ended::Closed) => {
                    return Err(AppError::Internal("the change feed stopped".to_owned()));
                }
            }
        }
    }

    /// Reads the next page of the log to replay.
    async fn read_replay(&mut self, after: i64) -> Result<(), AppError> {
        if self.replayed.is_empty() {
            // Entries pruned since `after`: events were lost, the subscriber must reload.
            let oldest = super::feed::first_seq(&self.watch.db).await?;
            if oldest.is_some_and(|oldest| after + 1 < oldest) {
                return Err(expired("the changes after this sequence were pruned"));
            }
        }
        let page = since(&self.watch.db, after, REPLAY_PAGE).await?;
        self.replay_after = match page.last() {
            Some(last) if page.len() as i64 == REPLAY_PAGE => Some(last.seq),
            _ => {
                self.replayed_until = Some(std::time::Instant::now() + super::feed::GAP_WAIT);
                None
            }
        };
        self.replayed.extend(page.iter().map(|change| change.seq));
        if self.replayed.len() > MAX_REPLAY {
            return Err(expired(
                "more changes happened since this sequence than a resume replays",
            ));
        }
        self.replay.extend(page);
        Ok(())
    }
}

fn expired(why: &str) -> AppError {
    AppError::rule(
        Some("after"),
        "CHANGES_EXPIRED",
        format!(
            "{why} ({MAX_REPLAY} at most, kept CRM_CHANGE_LOG_RETENTION_SECS): reload the data, then subscribe without `after`"
        ),
    )
}
