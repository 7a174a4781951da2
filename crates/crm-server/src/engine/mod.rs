//! The read engine: from a GraphQL selection to SQL and back to the answer's values, for every
//! record type alike. Domains declare their types and call it; it knows no domain.
//!
//! What domains use: [`Record`] / [`Listable`] (a type backed by a table row), the
//! `record!`, `sort_fields!`, `list_filter!`, `relation_lists!`, `root_queries!` and
//! `aggregates!` macros,
//! [`loaders`] (`list`, `children`, `one`, `by_id`), [`Scope`] for computed SQL, [`access`]
//! for the rows a viewer sees, the filter and order inputs, the scalars.
//!
//! How a read goes, file by file:
//!
//! 1. `root_queries!` / `relation_lists!` ([`macros`]) read the list arguments ([`args`]) and
//!    which columns the selection needs ([`columns`]).
//! 2. [`loader::Loaders`] batches the loads of one level ([`batch`]: dispatched when the
//!    execution is idle), per request, under its row budget ([`budget`]).
//! 3. [`keyset`] checks the arguments and cursors ([`cursor`]), [`page`] builds the statement
//!    (filters: [`filters`], order: [`order`], visibility: [`access`], aliases: [`scope`]),
//!    lookups by id join their to-one relations ([`joins`]).
//! 4. [`reader`] runs it on its own connections; [`decode`] reads the values by position.
//! 5. [`connection`] answers `edges`, `nodes`, `pageInfo`, `totalCount`; [`rows`] resolves the
//!    rows' fields without a future per field, and falls back to async-graphql's own
//!    resolution for anything it does not handle (and for every field on the plain path,
//!    `CRM_READ_PATH=plain`, which the differential tests hold it equal to).
//! 6. Figures: a connection's `aggregate` ([`aggregate`]: one statement, one per level under
//!    relations) and the root lists' groupings ([`groups`]; dates cut to periods in a time zone
//!    by [`periods`]), declared per table by `aggregates!`.

pub mod access;
pub mod aggregate;
pub mod args;
pub mod batch;
pub mod budget;
pub mod columns;
pub mod connection;
pub mod counts;
pub mod cursor;
pub mod decode;
pub mod filters;
pub mod forward;
pub mod groups;
pub mod joins;
pub mod keyset;
pub mod loader;
mod macros;
pub mod order;
pub mod page;
pub mod periods;
pub mod reader;
pub mod record;
pub mod replicas;
pub mod rows;
pub mod scalars;
pub mod scope;

pub use access::Viewer;
pub use args::{Args, ListArgs, Prehashed, Shared, SharedArgs};
pub use budget::{PageLimits, RowBudget};
pub use connection::{ChildrenKey, Connection, CountKey, PageInfo};
pub use keyset::MAX_SORT_KEYS;
pub use loader::{Loaders, ReadPath, loaders};
pub use page::{Edge, Page, count_children, fetch_children, fetch_page};
pub use record::{Listable, Record};
pub use scope::Scope;
