//! Which rows each role sees, in one place, for every table the engine reads.
//!
//! Every statement that selects rows of a table (root lists, lookups by id, relation pages,
//! `totalCount`, relation filters, joins, computed figures, the rows a mutation reads or
//! references) adds [`visible`] for that table, under the [`Scope`] that carries the
//! [`Viewer`]. Rows outside the viewer's portfolio therefore do not exist for them: lists skip
//! them, lookups answer null or `NOT_FOUND`, counts ignore them. Computed figures (a client's
//! `outstandingAmount` …) aggregate rows of the same client, so they never reach outside a
//! visible row.
//!
//! Each table states its [`Rule`] in [`rule`], a match without a catch-all: a new table
//! ([`Table`]) does not compile until it says who sees its rows. Which writes a role may make
//! is `auth::policy`.
//!
//! | table | admin | manager | commercial |
//! |---|---|---|---|
//! | users | all | all | all |
//! | clients | all | all | assigned to them |
//! | contracts, payments, documents, client notes | all | all | of their clients |
//! | mailboxes | all | their own | their own |

use entity::{Role, Table, Tabled};
use sea_orm::DbBackend;
use sea_orm::sea_query::{Alias, Condition, ExprTrait, Query};
use uuid::Uuid;

use crate::engine::scope::Scope;
use crate::error::AppError;

/// Who is asking: a signed-in, active user and their current role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: Uuid,
    pub role: Role,
}

impl Viewer {
    /// Whether the viewer sees every client (not only those assigned to them).
    pub fn sees_all_clients(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Manager)
    }
}

/// Who is asking, as the request's credentials tell (`UNAUTHENTICATED` when they do not).
pub trait Credentials: Send + Sync {
    fn viewer(&self) -> Result<Viewer, AppError>;
}

/// Who sees the rows of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Every signed-in user sees every row.
    Everyone,
    /// Admins and managers see every row; commercials the rows whose `column` is their id.
    AssignedTo(&'static str),
    /// The rows whose client (`column`) the viewer sees.
    ThroughClient(&'static str),
    /// Admins see every row; the others the rows whose `column` is their id.
    OwnedBy(&'static str),
}

/// The rule of each table.
pub const fn rule(table: Table) -> Rule {
    match table {
        Table::Users => Rule::Everyone,
        Table::Clients => Rule::AssignedTo("assigned_to"),
        Table::Contracts | Table::Payments | Table::Documents | Table::ClientNotes => {
            Rule::ThroughClient("client_id")
        }
        Table::OAuthEmailAccounts => Rule::OwnedBy("user_id"),
    }
}

/// The condition a row of `table`, aliased by `scope`, must meet to be visible to the scope's
/// viewer; `None` when every row is.
pub fn visible(table: Table, scope: &Scope) -> Option<Condition> {
    visible_in_reach(table, scope, Reach::Table)
}

/// How many rows a statement's other conditions leave for the access rule to check, which
/// decides how the rule is written (never what it admits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Any number (a root list, a count): a row of a client's child table is visible when its
    /// client is among the viewer's clients, a join with that set.
    Table,
    /// Rows bounded by ids (rows by id, a level of relation pages under given parents): each
    /// row's client is looked up by its key and checked, so the cost follows the rows. As a
    /// join, PostgreSQL read a commercial's whole portfolio for every level of a page (0.5 ms
    /// per statement for 2,300 clients, whatever the page's size).
    Ids,
}

/// [`visible`], written for statements of the given [`Reach`].
pub fn visible_in_reach(table: Table, scope: &Scope, reach: Reach) -> Option<Condition> {
    let viewer = scope.viewer;
    match rule(table) {
        Rule::Everyone => None,
        Rule::AssignedTo(column) => (!viewer.sees_all_clients())
            .then(|| Condition::all().add(scope.col(column).eq(viewer.user_id))),
        Rule::ThroughClient(column) => through_client(column, scope, reach),
        Rule::OwnedBy(column) => (viewer.role != Role::Admin)
            .then(|| Condition::all().add(scope.col(column).eq(viewer.user_id))),
    }
}

/// The rows (aliased by `scope`) whose client, named by `column`, the viewer sees: the
/// [`Rule::ThroughClient`] of the child tables, for any row that names its client (search
/// entries too).
pub fn through_client(column: &str, scope: &Scope, reach: Reach) -> Option<Condition> {
    let viewer = scope.viewer;
    if viewer.sees_all_clients() {
        return None;
    }
    let Rule::AssignedTo(assignee) = rule(Table::Clients) else {
        return Some(Condition::all().add(sea_orm::sea_query::Expr::val(false)));
    };
    let own = scope.child();
    let mut clients = Query::select();
    clients.from_as(Alias::new(Table::Clients.name()), Alias::new(&own.alias));
    Some(Condition::all().add(match reach {
        Reach::Table => {
            clients
                .expr(own.col("id"))
                .and_where(own.col(assignee).eq(viewer.user_id));
            scope.col(column).in_subquery(clients)
        }
        Reach::Ids => {
            clients.expr(own.col(assignee)).and_where(
                own.col("id")
                    .equals((Alias::new(&scope.alias), Alias::new(column))),
            );
            sea_orm::sea_query::Expr::from(clients).eq(viewer.user_id)
        }
    }))
}

/// [`visible`] for a SeaORM query on `E` itself (such queries name the table, not an alias).
pub fn visible_in<E: Tabled>(backend: DbBackend, viewer: Viewer) -> Option<Condition> {
    let table = E::TABLE;
    visible(table, &Scope::named(table.name(), backend, viewer))
}

/// `condition AND visible(table)`.
pub fn restrict(condition: Condition, table: Table, scope: &Scope) -> Condition {
    restrict_in_reach(condition, table, scope, Reach::Table)
}

/// [`restrict`], written for statements of the given [`Reach`].
pub fn restrict_in_reach(
    condition: Condition,
    table: Table,
    scope: &Scope,
    reach: Reach,
) -> Condition {
    match visible_in_reach(table, scope, reach) {
        Some(visible) => condition.add(visible),
        None => condition,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of<E: Tabled>() -> (&'static str, &'static str) {
        (E::TABLE.name(), E::default().table_name())
    }

    #[test]
    fn each_table_is_named_as_its_entity() {
        let names = [
            name_of::<entity::users::Entity>(),
            name_of::<entity::clients::Entity>(),
            name_of::<entity::contracts::Entity>(),
            name_of::<entity::payments::Entity>(),
            name_of::<entity::documents::Entity>(),
            name_of::<entity::client_notes::Entity>(),
            name_of::<entity::oauth_email_accounts::Entity>(),
        ];
        for (ours, entity) in names {
            assert_eq!(ours, entity);
        }
        assert_eq!(names.len(), Table::ALL.len());
    }

    #[test]
    fn only_admins_and_managers_see_every_client_and_only_admins_every_mailbox() {
        let viewer = |role| Viewer {
            user_id: Uuid::nil(),
            role,
        };
        for table in Table::ALL {
            let sees_all =
                |role| visible(table, &Scope::root(DbBackend::Sqlite, viewer(role))).is_none();
            assert!(sees_all(Role::Admin), "{table:?}");
            assert_eq!(
                sees_all(Role::Manager),
                table != Table::OAuthEmailAccounts,
                "{table:?}"
            );
            assert_eq!(
                sees_all(Role::Commercial),
                table == Table::Users,
                "{table:?}"
            );
        }
    }
}
