//! Search across the portfolio: `search(query, first, after, types)`, one ranked list of the
//! clients, contracts, notes and documents whose text holds every word of the query (as a
//! prefix, accents and case ignored), best matches first, then the most recently changed,
//! within the viewer's portfolio.
//!
//! The index is `search_entries` (migration `search`), kept by triggers: a `tsvector` under a
//! GIN index on PostgreSQL, an FTS5 table on SQLite. [`terms`] reads the query and marks the
//! matches of a snippet, [`service`] runs the search, [`types`] and [`resolvers`] are the API.

pub mod resolvers;
pub mod service;
pub mod terms;
pub mod types;

pub use resolvers::SearchQuery;
