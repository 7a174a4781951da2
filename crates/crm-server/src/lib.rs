//! CRM GraphQL API: the server library (`main.rs` is a thin wrapper, tests use it directly).

pub mod app;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod csv;
pub mod db;
pub mod engine;
pub mod error;
pub mod graphiql;
pub mod graphql;
pub mod metrics;
pub mod proxy;
pub mod secrets;
pub mod seed;
pub mod telemetry;
pub mod totals;
pub mod validate;

pub mod client_notes;
pub mod clients;
pub mod contracts;
pub mod digest;
pub mod documents;
pub mod live;
pub mod oauth_email_accounts;
pub mod payments;
pub mod search;
pub mod users;
pub mod webhooks;
