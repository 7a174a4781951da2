//! The API's behaviour tests: one binary, each test run on SQLite and on PostgreSQL against a
//! fresh database, through the real router.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod helpers;

mod access;
mod archive;
mod audit;
mod auth;
mod dashboards;
mod database;
mod differential;
mod documents;
mod filters;
mod generated;
mod graphql_over_http;
mod hostile;
mod http;
mod live;
mod mailbox_connections;
mod mailboxes;
mod ordering;
mod pagination;
mod read_by_id;
mod reassignment;
mod relations;
mod scale_out;
mod schema;
mod search;
mod seed;
mod spreadsheets;
mod storage;
mod subscriptions;
mod telemetry;
mod timeline;
mod totals;
mod webhooks;
mod workflows;
mod writes;
