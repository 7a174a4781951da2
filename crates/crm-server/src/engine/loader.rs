//! Batched loading by primary key, one generic implementation for the seven types.
//!
//! Each request gets one [`Loaders`] (see [`crate::app`]); relation fields and `…(id:)` root
//! fields call it, and async-graphql's `DataLoader` folds every key asked for at one level of
//! the query into a single `WHERE id IN (…)` statement.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::Context;
use async_graphql::dataloader::Loader;
use uuid::Uuid;

use crate::engine::Record;
use crate::engine::access::{Credentials, Viewer};
use crate::engine::aggregate::{AggregateKey, Figures, Measures, aggregate_children};
use crate::engine::batch::{Batcher, Dispatcher};
use crate::engine::columns::ColumnSet;
use crate::engine::joins::{Primed, fetch_by_ids, selected_joins};
use crate::engine::reader::Reader;
use crate::engine::{
    Args, ChildrenKey, Connection, CountKey, Listable, Page, PageLimits, Prehashed, RowBudget,
    SharedArgs, count_children, fetch_children, fetch_page,
};
use crate::error::AppError;

/// The key that loads one `R` by id, with the to-one relations to join (bits of positions in
/// [`Record::TO_ONE`]).
pub struct ById<R> {
    id: Uuid,
    joins: u64,
    row: PhantomData<fn() -> R>,
}

impl<R> ById<R> {
    pub fn new(id: Uuid, joins: u64) -> Self {
        ById {
            id,
            joins,
            row: PhantomData,
        }
    }
}

impl<R> Clone for ById<R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for ById<R> {}
impl<R> PartialEq for ById<R> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.joins == other.joins
    }
}
impl<R> Eq for ById<R> {}
impl<R> Hash for ById<R> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.joins.hash(state);
    }
}

/// The per-request loader behind every batched read.
pub struct CrmLoader {
    pub(crate) db: Reader,
    pub(crate) limits: PageLimits,
    auth: Arc<dyn Credentials>,
    primed: Arc<Primed>,
    /// The rows the request may still read.
    budget: Arc<RowBudget>,
    /// The plain read path (`CRM_READ_PATH=plain`).
    plain: bool,
}

impl CrmLoader {
    /// Who is asking; `UNAUTHENTICATED` for anonymous requests.
    pub(crate) fn viewer(&self) -> Result<Viewer, AppError> {
        self.auth.viewer()
    }

    /// What is left of the rows the request may read.
    pub(crate) fn budget(&self) -> &RowBudget {
        &self.budget
    }
}

impl<R: Record> Loader<ById<R>> for CrmLoader {
    type Value = R;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[ById<R>]) -> Result<HashMap<ById<R>, R>, Self::Error> {
        let viewer = self.viewer().map_err(Arc::new)?;
        // One statement per set of joined relations: normally one for the whole level.
        let mut groups: HashMap<u64, Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups.entry(key.joins).or_default().push(key.id);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (joins, ids) in groups {
            let rows = fetch_by_ids::<R>(&self.db, viewer, ids, joins, &self.primed, self.plain)
                .await
                .map_err(Arc::new)?;
            out.extend(
                rows.into_iter()
                    .map(|record| (ById::new(record.id(), joins), record)),
            );
        }
        Ok(out)
    }
}

impl<R: Listable> Loader<ChildrenKey<R>> for CrmLoader {
    type Value = Arc<Page<R>>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[ChildrenKey<R>],
    ) -> Result<HashMap<ChildrenKey<R>, Arc<Page<R>>>, Self::Error> {
        // One statement per distinct (relation, arguments): normally one for the whole level.
        type Group<R> = (&'static str, SharedArgs<R>, ColumnSet);
        let mut groups: HashMap<Group<R>, Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.parent_col, key.args.clone(), key.columns))
                .or_default()
                .push(key.parent);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for ((parent_col, args, columns), parents) in groups {
            let viewer = self.viewer().map_err(Arc::new)?;
            let mut pages = fetch_children::<R>(
                &self.db,
                viewer,
                parent_col,
                &parents,
                &args,
                columns,
                self.limits,
                &self.budget,
            )
            .await
            .map_err(Arc::new)?;
            for parent in parents {
                let page = pages.remove(&parent).unwrap_or_default();
                out.insert(
                    ChildrenKey {
                        parent_col,
                        parent,
                        args: args.clone(),
                        columns,
                    },
                    Arc::new(page),
                );
            }
        }
        Ok(out)
    }
}

impl<R: Listable> Loader<CountKey<R>> for CrmLoader {
    type Value = i64;
    type Error = Arc<AppError>;

    async fn load(&self, keys: &[CountKey<R>]) -> Result<HashMap<CountKey<R>, i64>, Self::Error> {
        type Group<F> = HashMap<(&'static str, Option<Arc<F>>), Vec<Uuid>>;
        let mut groups: Group<R::Filter> = HashMap::new();
        for key in keys {
            groups
                .entry((key.parent_col, key.filter.clone()))
                .or_default()
                .push(key.parent);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for ((parent_col, filter), parents) in groups {
            let viewer = self.viewer().map_err(Arc::new)?;
            let counts =
                count_children::<R>(&self.db, viewer, parent_col, &parents, filter.as_deref())
                    .await
                    .map_err(Arc::new)?;
            for parent in parents {
                let n = counts.get(&parent).copied().unwrap_or(0);
                out.insert(
                    CountKey {
                        parent_col,
                        parent,
                        filter: filter.clone(),
                    },
                    n,
                );
            }
        }
        Ok(out)
    }
}

impl<R: Listable> Loader<AggregateKey<R>> for CrmLoader {
    type Value = Arc<Figures>;
    type Error = Arc<AppError>;

    async fn load(
        &self,
        keys: &[AggregateKey<R>],
    ) -> Result<HashMap<AggregateKey<R>, Arc<Figures>>, Self::Error> {
        // One statement per distinct (relation, filter, figures): normally one per level.
        type Group<F> = (&'static str, Option<Arc<F>>, Arc<Measures>);
        let mut groups: HashMap<Group<R::Filter>, Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups
                .entry((key.parent_col, key.filter.clone(), key.measures.clone()))
                .or_default()
                .push(key.parent);
        }
        let viewer = self.viewer().map_err(Arc::new)?;
        let mut out = HashMap::with_capacity(keys.len());
        for ((parent_col, filter, measures), parents) in groups {
            let mut figures = aggregate_children::<R>(
                &self.db,
                viewer,
                parent_col,
                &parents,
                filter.as_deref(),
                &measures,
            )
            .await
            .map_err(Arc::new)?;
            for parent in parents {
                let value = figures
                    .remove(&parent)
                    .unwrap_or_else(|| Figures::empty(&measures));
                out.insert(
                    AggregateKey {
                        parent_col,
                        parent,
                        filter: filter.clone(),
                        measures: measures.clone(),
                    },
                    Arc::new(value),
                );
            }
        }
        Ok(out)
    }
}

/// The loaders of one request, and who is asking (a clone shares them).
#[derive(Clone)]
pub struct Loaders {
    loader: Batcher<CrmLoader>,
    db: Reader,
    limits: PageLimits,
    auth: Arc<dyn Credentials>,
    primed: Arc<Primed>,
    /// Whether lookups by id join the to-one relations they select (queries only).
    joining: bool,
    /// The rows the request may still read.
    budget: Arc<RowBudget>,
    /// The plain read path: async-graphql resolves every field and list, SeaORM decodes.
    plain: bool,
}

/// Which read path a request takes (`CRM_READ_PATH`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReadPath {
    /// Rows resolved and decoded by the engine's own code (`engine::rows`, `decode`, …).
    #[default]
    Fast,
    /// Everything by the libraries: async-graphql resolves each field and list item (strict
    /// validation, serde_json), SeaORM decodes each row, every column read. Answers the
    /// same as `Fast` (the differential tests hold them to it), more slowly: for ruling the
    /// fast path out.
    Plain,
}

/// The request's loaders (registered by the HTTP handler for every request).
pub fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, AppError> {
    ctx.data::<Loaders>()
        .map_err(|_| AppError::Internal("request has no loaders".to_owned()))
}

/// Whether the request being resolved takes the plain read path.
pub fn plain(ctx: &async_graphql::context::ContextBase<'_, impl Sync>) -> bool {
    ctx.data_opt::<Loaders>()
        .is_some_and(|loaders| loaders.plain)
}

impl Loaders {
    /// Loaders whose batches run when the request is driven by [`crate::engine::batch::drive`].
    /// `read_only`: the request holds only queries, so a row read early may answer later
    /// fields (see [`crate::engine::joins`]).
    pub fn new(
        db: Reader,
        limits: PageLimits,
        auth: Arc<dyn Credentials>,
        read_only: bool,
        path: ReadPath,
    ) -> Self {
        let plain = path == ReadPath::Plain;
        let primed = Arc::new(Primed::default());
        let budget = Arc::new(RowBudget::new(limits.max_rows));
        Loaders {
            loader: Batcher::new(CrmLoader {
                db: db.clone(),
                limits,
                auth: auth.clone(),
                primed: primed.clone(),
                budget: budget.clone(),
                plain,
            }),
            db,
            limits,
            auth,
            primed,
            joining: read_only,
            budget,
            plain,
        }
    }

    /// Starts afresh for the next event of a subscription: the whole row budget again.
    /// (Subscriptions do not join: nothing was primed.)
    pub fn renew(&self) {
        self.budget.reset();
    }

    /// Who is asking; `UNAUTHENTICATED` for anonymous requests and refused tokens.
    pub fn viewer(&self) -> Result<Viewer, AppError> {
        self.auth.viewer()
    }

    /// A page of a root list: the rows the viewer may see, with the `columns` the selection
    /// reads (`count`: `totalCount` is selected).
    pub async fn list<R: Listable>(
        &self,
        args: Args<R>,
        columns: ColumnSet,
        count: bool,
    ) -> Result<Connection<R>, AppError> {
        let viewer = self.viewer()?;
        fetch_page::<R>(
            &self.db,
            viewer,
            args,
            columns,
            self.limits,
            &self.budget,
            count,
        )
        .await
    }

    /// A root list whose rows are not selected (only `totalCount`, `aggregate`): its arguments
    /// checked as a page's would be, no page read.
    pub fn unpaged<R: Listable>(&self, args: Args<R>) -> Result<Connection<R>, AppError> {
        crate::engine::keyset::plan(R::table().name(), &args, self.limits)?;
        Ok(Connection::without_rows(args.filter, self.viewer()?))
    }

    /// [`Loaders::unpaged`] for a to-many relation of `parent`.
    pub fn unpaged_children<R: Listable>(
        &self,
        parent_col: &'static str,
        parent: Uuid,
        args: Args<R>,
    ) -> Result<Connection<R>, AppError> {
        crate::engine::keyset::plan(R::table().name(), &args, self.limits)?;
        Ok(Connection::of_relation(
            Arc::default(),
            args.filter,
            parent_col,
            parent,
        ))
    }

    /// What the request handler drives.
    pub fn dispatcher(&self) -> Dispatcher {
        self.loader.dispatcher()
    }

    /// Where the read path's statements run.
    pub fn reader(&self) -> &Reader {
        &self.db
    }

    /// The figure of a `SELECT COUNT(*) …` (a forward-only list's `totalCount`), on the reader.
    pub async fn count(
        &self,
        select: &sea_orm::sea_query::SelectStatement,
    ) -> Result<i64, AppError> {
        use sea_orm::ConnectionTrait;
        Ok(match self.db.query_one(select).await? {
            Some(row) => crate::engine::decode::read_at::<i64>(&row, 0)?,
            None => 0,
        })
    }

    /// The page sizes in force.
    pub fn limits(&self) -> PageLimits {
        self.limits
    }

    /// The loader itself, for domain-specific keys (computed fields).
    pub fn inner(&self) -> &Batcher<CrmLoader> {
        &self.loader
    }

    /// A to-many relation of `parent` as a connection, batched with the same relation of
    /// every other parent at this level of the query.
    pub async fn children<R: Listable>(
        &self,
        parent_col: &'static str,
        parent: Uuid,
        args: Args<R>,
        columns: ColumnSet,
    ) -> Result<Connection<R>, AppError> {
        let filter = args.filter.clone();
        let args = Arc::new(Prehashed::new(args));
        let page = self
            .pages_of(parent_col, std::iter::once(parent), args, columns)
            .await?
            .pop()
            .unwrap_or_default();
        Ok(Connection::of_relation(page, filter, parent_col, parent))
    }

    /// The pages of a to-many relation of each of `parents`, in one wait, batched with the
    /// same relation of every other parent at this level of the query.
    pub async fn pages_of<R: Listable>(
        &self,
        parent_col: &'static str,
        parents: impl Iterator<Item = Uuid>,
        args: SharedArgs<R>,
        columns: ColumnSet,
    ) -> Result<Vec<Arc<Page<R>>>, AppError> {
        let keys = parents
            .map(|parent| ChildrenKey {
                parent_col,
                parent,
                args: args.clone(),
                columns,
            })
            .collect();
        Ok(self
            .loader
            .load_many(keys)
            .await
            .map_err(unshare)?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect())
    }

    /// `totalCount` of a relation, batched per level.
    pub async fn count_children<R: Listable>(
        &self,
        parent_col: &'static str,
        parent: Uuid,
        filter: Option<Arc<R::Filter>>,
    ) -> Result<i64, AppError> {
        Ok(self
            .loader
            .load_one(CountKey::<R> {
                parent_col,
                parent,
                filter,
            })
            .await
            .map_err(unshare)?
            .unwrap_or(0))
    }

    /// `aggregate` of a relation, batched per level.
    pub async fn aggregate_children<R: Listable>(
        &self,
        parent_col: &'static str,
        parent: Uuid,
        filter: Option<Arc<R::Filter>>,
        measures: Measures,
    ) -> Result<Arc<Figures>, AppError> {
        let measures = Arc::new(measures);
        let figures = self
            .loader
            .load_one(AggregateKey::<R> {
                parent_col,
                parent,
                filter,
                measures: measures.clone(),
            })
            .await
            .map_err(unshare)?;
        Ok(figures.unwrap_or_else(|| Arc::new(Figures::empty(&measures))))
    }

    /// One row by id, batched with every other id asked for at the same time.
    pub async fn by_id<R: Record>(&self, id: Uuid) -> Result<Option<R>, AppError> {
        self.load_by_id(id, 0).await
    }

    /// The row with this id that the field being resolved returns, read with the to-one
    /// relations its selection reads ([`crate::engine::joins`]).
    pub async fn one<R: Record>(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<R>, AppError> {
        let joins = if self.joining {
            selected_joins::<R>(ctx)
        } else {
            0
        };
        self.load_by_id(id, joins).await
    }

    async fn load_by_id<R: Record>(&self, id: Uuid, joins: u64) -> Result<Option<R>, AppError> {
        if let Some(row) = self.primed.get::<R>(id) {
            return Ok(Some(row));
        }
        self.loader
            .load_one(ById::<R>::new(id, joins))
            .await
            .map_err(unshare)
    }
}

/// A loader error is shared by every caller of the batch: give each its own copy, keeping
/// the code and field the client should see.
pub fn unshare(err: Arc<AppError>) -> AppError {
    match &*err {
        AppError::BadUserInput {
            field,
            message,
            reason,
        } => AppError::BadUserInput {
            field: field.clone(),
            message: message.clone(),
            reason: *reason,
        },
        AppError::NotFound { field, message } => AppError::NotFound {
            field: field.clone(),
            message: message.clone(),
        },
        AppError::Conflict {
            field,
            message,
            reason,
        } => AppError::Conflict {
            field: field.clone(),
            message: message.clone(),
            reason: *reason,
        },
        AppError::Unauthenticated(message) => AppError::Unauthenticated(message.clone()),
        AppError::RateLimited { retry_after_secs } => AppError::RateLimited {
            retry_after_secs: *retry_after_secs,
        },
        AppError::Forbidden(message) => AppError::Forbidden(message.clone()),
        AppError::Database(err) => AppError::Internal(format!("database error: {err}")),
        AppError::Unavailable(err) => {
            AppError::Unavailable(sea_orm::DbErr::Custom(err.to_string()))
        }
        AppError::Internal(message) => AppError::Internal(message.clone()),
    }
}
