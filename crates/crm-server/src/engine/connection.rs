//! Relay connections: the `…Connection` and `…Edge` objects over a page, `pageInfo`,
//! `totalCount` computed only when asked, and the keys that batch relation loads.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject, TypeName};
use uuid::Uuid;

use crate::engine::access::Viewer;
use crate::engine::aggregate::{aggregate_root, requested};
use crate::engine::args::*;
use crate::engine::columns::ColumnSet;
use crate::engine::cursor::{Cursor, SortValue};
use crate::engine::loader::loaders;
use crate::engine::page::*;
use crate::engine::record::{Listable, Record};
use crate::engine::rows::{RowList, RowRef};

/// Which rows the list holds across its pages: what `totalCount` and `aggregate` count,
/// computed only when asked.
pub enum CountSource<R: Listable> {
    /// A root list; `known`: its count, when counted with the page.
    Root {
        filter: Option<Arc<R::Filter>>,
        viewer: Viewer,
        known: Option<i64>,
        _r: PhantomData<fn() -> R>,
    },
    Relation {
        parent_col: &'static str,
        parent: Uuid,
        filter: Option<Arc<R::Filter>>,
    },
}

/// A page of `R` with Relay's `edges`, `nodes`, `pageInfo` and `totalCount`.
pub struct Connection<R: Listable> {
    page: Arc<Page<R>>,
    count: CountSource<R>,
}

impl<R: Listable> Connection<R> {
    pub(crate) fn new(page: Arc<Page<R>>, count: CountSource<R>) -> Self {
        Connection { page, count }
    }

    /// The connection of a relation page already loaded.
    pub fn of_relation(
        page: Arc<Page<R>>,
        filter: Option<Arc<R::Filter>>,
        parent_col: &'static str,
        parent: Uuid,
    ) -> Self {
        Connection::new(
            page,
            CountSource::Relation {
                parent_col,
                parent,
                filter,
            },
        )
    }
}

impl<R: Listable> Connection<R> {
    /// A root list whose rows are not selected (only `totalCount`, `aggregate`): no page read.
    pub fn without_rows(filter: Option<Arc<R::Filter>>, viewer: Viewer) -> Self {
        Connection::new(
            Arc::new(Page::default()),
            CountSource::Root {
                filter,
                viewer,
                known: None,
                _r: PhantomData,
            },
        )
    }
}

/// Whether the connection being resolved selects its rows (`edges`, `nodes`, `pageInfo`);
/// when it does not, no page is read.
pub fn rows_selected(ctx: &Context<'_>) -> bool {
    let look = ctx.look_ahead();
    look.field("edges").exists() || look.field("nodes").exists() || look.field("pageInfo").exists()
}

impl<R: Record> Edge<R> {
    fn encode_cursor(&self) -> String {
        Cursor {
            order: self.order.to_string(),
            keys: self.keys.iter().map(SortValue::to_wire).collect(),
            id: self.node.id(),
        }
        .encode()
    }
}

/// Where a page sits in the whole list.
#[derive(SimpleObject, Debug, Clone)]
pub struct PageInfo {
    /// More rows follow this page.
    pub has_next_page: bool,
    /// Rows come before this page.
    pub has_previous_page: bool,
    /// Cursor of the first row of the page.
    pub start_cursor: Option<String>,
    /// Cursor of the last row of the page.
    pub end_cursor: Option<String>,
}

impl<R: Listable> TypeName for Connection<R> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", R::NAME).into()
    }
}

impl<R: Listable> TypeName for Edge<R> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", R::NAME).into()
    }
}

/// A page of a list (Relay connection).
#[Object(name_type, serial)]
impl<R: Listable> Connection<R> {
    /// The rows of the page with their cursors.
    async fn edges(&self) -> &[Edge<R>] {
        &self.page.edges
    }

    /// The rows of the page.
    async fn nodes(&self) -> RowList<'_, R> {
        RowList(self.page.nodes().collect())
    }

    /// Where the page sits in the whole list.
    async fn page_info(&self) -> PageInfo {
        // Cursors are encoded only when asked for.
        PageInfo {
            has_next_page: self.page.has_next_page,
            has_previous_page: self.page.has_previous_page,
            start_cursor: self.page.edges.first().map(Edge::encode_cursor),
            end_cursor: self.page.edges.last().map(Edge::encode_cursor),
        }
    }

    /// How many rows match the filter, across all pages (counted only when asked).
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        match &self.count {
            CountSource::Root {
                known: Some(total), ..
            } => Ok(*total),
            CountSource::Root { filter, viewer, .. } => {
                Ok(count_root::<R>(loaders(ctx)?.reader(), *viewer, filter.as_deref()).await?)
            }
            CountSource::Relation {
                parent_col,
                parent,
                filter,
            } => Ok(loaders(ctx)?
                .count_children::<R>(parent_col, *parent, filter.clone())
                .await?),
        }
    }

    /// Figures over every row of the list (all pages), computed only when asked: one
    /// statement, or one per level for a relation of every row of a list.
    async fn aggregate(&self, ctx: &Context<'_>) -> async_graphql::Result<R::Aggregate> {
        let measures = requested::<R::Aggregate>(ctx.field())?;
        let loaders = loaders(ctx)?;
        let figures = match &self.count {
            CountSource::Root { filter, viewer, .. } => Arc::new(
                aggregate_root::<R>(loaders.reader(), *viewer, filter.as_deref(), &measures)
                    .await?,
            ),
            CountSource::Relation {
                parent_col,
                parent,
                filter,
            } => {
                loaders
                    .aggregate_children::<R>(parent_col, *parent, filter.clone(), measures)
                    .await?
            }
        };
        Ok(R::Aggregate::from(figures))
    }
}

/// One row of a page.
#[Object(name_type, serial)]
impl<R: Listable> Edge<R> {
    /// The row.
    async fn node(&self) -> RowRef<'_, R> {
        RowRef(&self.node)
    }

    /// Opaque cursor of the row, for `after` / `before`.
    async fn cursor(&self) -> String {
        self.encode_cursor()
    }
}

/// Keys that group relation loads: the same relation and arguments share one statement.
pub struct ChildrenKey<R: Listable> {
    pub parent_col: &'static str,
    pub parent: Uuid,
    pub args: SharedArgs<R>,
    /// The columns the selection reads (aliases of one relation may select differently).
    pub columns: ColumnSet,
}

impl<R: Listable> Clone for ChildrenKey<R> {
    fn clone(&self) -> Self {
        ChildrenKey {
            parent_col: self.parent_col,
            parent: self.parent,
            args: self.args.clone(),
            columns: self.columns,
        }
    }
}
impl<R: Listable> PartialEq for ChildrenKey<R> {
    fn eq(&self, other: &Self) -> bool {
        self.parent_col == other.parent_col
            && self.parent == other.parent
            && (Arc::ptr_eq(&self.args, &other.args) || self.args == other.args)
            && self.columns == other.columns
    }
}
impl<R: Listable> Eq for ChildrenKey<R> {}
impl<R: Listable> Hash for ChildrenKey<R> {
    /// The parent and the arguments' own hash: two words to hash per key instead of four
    /// fields' bytes (keys of one level differ by parent; equal keys still hash alike).
    fn hash<H: Hasher>(&self, state: &mut H) {
        let (high, low) = self.parent.as_u64_pair();
        state.write_u64(high ^ low);
        self.args.hash(state);
    }
}

/// Keys for relation `totalCount`s.
pub struct CountKey<R: Listable> {
    pub parent_col: &'static str,
    pub parent: Uuid,
    pub filter: Option<Arc<R::Filter>>,
}

impl<R: Listable> Clone for CountKey<R> {
    fn clone(&self) -> Self {
        CountKey {
            parent_col: self.parent_col,
            parent: self.parent,
            filter: self.filter.clone(),
        }
    }
}
impl<R: Listable> PartialEq for CountKey<R> {
    fn eq(&self, other: &Self) -> bool {
        self.parent_col == other.parent_col
            && self.parent == other.parent
            && self.filter == other.filter
    }
}
impl<R: Listable> Eq for CountKey<R> {}
impl<R: Listable> Hash for CountKey<R> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parent_col.hash(state);
        self.parent.hash(state);
        self.filter.hash(state);
    }
}
