//! Access control, in one place: which rows each role sees ([`visible`]) and which writes it
//! may make ([`Action`]).
//!
//! Every read goes through a [`Scope`] that carries the [`Viewer`], and every SQL statement
//! that selects rows of a table (root lists, by-id lookups, relation pages, `totalCount`,
//! relation filters, the rows a mutation reads or references) adds [`visible`] for that
//! table. Rows outside the viewer's portfolio therefore do not exist for them: lists skip
//! them, lookups return null or `NOT_FOUND`, counts ignore them. Computed figures (a client's
//! `paidAmount` …) aggregate rows of the same client, so they never reach outside a visible
//! row.
//!
//! | role | sees | writes |
//! |---|---|---|
//! | `admin` | everything | everything, user management |
//! | `manager` | all clients, contracts, payments, documents, notes; own mailboxes | clients (incl. reassigning, deleting), contracts, payments, notes |
//! | `commercial` | clients assigned to them and those clients' contracts, payments, documents, notes; own mailboxes | notes and payments on those clients, their details, new prospects (assigned to themselves) |

use entity::Role;
use sea_orm::sea_query::{Alias, Condition, ExprTrait, Query};
use sea_orm::{DbBackend, EntityTrait};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::graphql::query::Scope;

/// Who is asking: a signed-in, active user and their current role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: Uuid,
    pub role: Role,
}

/// Writes that not every role may make (checked by [`Viewer::require`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create, change, deactivate users; reset passwords; see every mailbox.
    ManageUsers,
    /// Assign clients to someone else, or to nobody.
    ReassignClients,
    /// Delete clients.
    DeleteClients,
    /// Create, change, sign, complete, cancel and delete contracts.
    ManageContracts,
    /// Change, refund and delete recorded payments.
    CorrectPayments,
    /// Write notes on someone else's behalf; change or delete other users' notes.
    ModerateNotes,
}

impl Action {
    fn describe(self) -> &'static str {
        match self {
            Action::ManageUsers => "manage users",
            Action::ReassignClients => "reassign clients",
            Action::DeleteClients => "delete clients",
            Action::ManageContracts => "manage contracts",
            Action::CorrectPayments => "change, refund or delete recorded payments",
            Action::ModerateNotes => "write or change notes in another user's name",
        }
    }
}

impl Viewer {
    /// Whether the role allows `action`.
    pub fn can(&self, action: Action) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Manager => action != Action::ManageUsers,
            Role::Commercial => false,
        }
    }

    /// `FORBIDDEN` unless the role allows `action`.
    pub fn require(&self, action: Action) -> AppResult<()> {
        if self.can(action) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "your role ({}) may not {}",
                role_name(self.role),
                action.describe()
            )))
        }
    }

    /// Whether the viewer sees every client (not only those assigned to them).
    pub fn sees_all_clients(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Manager)
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Manager => "manager",
        Role::Commercial => "commercial",
    }
}

/// The condition a row of `table`, aliased by `scope`, must meet to be visible to the scope's
/// viewer; `None` when every row is.
pub fn visible(table: &str, scope: &Scope) -> Option<Condition> {
    let viewer = scope.viewer;
    match table {
        "clients" if !viewer.sees_all_clients() => {
            Some(Condition::all().add(scope.col("assigned_to").eq(viewer.user_id)))
        }
        "contracts" | "payments" | "documents" | "client_notes" if !viewer.sees_all_clients() => {
            let own = scope.child();
            let own_clients = Query::select()
                .expr(own.col("id"))
                .from_as(Alias::new("clients"), Alias::new(&own.alias))
                .and_where(own.col("assigned_to").eq(viewer.user_id))
                .to_owned();
            Some(Condition::all().add(scope.col("client_id").in_subquery(own_clients)))
        }
        "oauth_email_accounts" if viewer.role != Role::Admin => {
            Some(Condition::all().add(scope.col("user_id").eq(viewer.user_id)))
        }
        _ => None,
    }
}

/// [`visible`] for a SeaORM query on `E` itself (such queries name the table, not an alias).
pub fn visible_in<E: EntityTrait>(backend: DbBackend, viewer: Viewer) -> Option<Condition> {
    let table = E::default().table_name();
    visible(table, &Scope::named(table, backend, viewer))
}

/// `condition AND visible(table)`.
pub fn restrict(condition: Condition, table: &str, scope: &Scope) -> Condition {
    match visible(table, scope) {
        Some(visible) => condition.add(visible),
        None => condition,
    }
}
