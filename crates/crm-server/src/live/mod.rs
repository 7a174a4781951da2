//! Live updates: the change feed every subscription reads (see [`feed`]).

pub mod feed;
