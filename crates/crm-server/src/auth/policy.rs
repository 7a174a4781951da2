//! Which writes each role may make ([`Action`]); which rows it sees is
//! [`crate::engine::access`], applied to every statement the engine and the services run.
//!
//! | role | sees | writes |
//! |---|---|---|
//! | `admin` | everything | everything, user management, webhooks |
//! | `manager` | all clients, contracts, payments, documents, notes; own mailboxes | clients (incl. reassigning, deleting), contracts, payments, notes |
//! | `commercial` | clients assigned to them and those clients' contracts, payments, documents, notes; own mailboxes | notes and payments on those clients, their details, new prospects (assigned to themselves) |

use entity::Role;

pub use crate::engine::access::Viewer;
use crate::error::{AppError, AppResult};

/// Writes that not every role may make (checked by [`Viewer::require`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create, change, deactivate users; reset passwords; see every mailbox.
    ManageUsers,
    /// Assign clients to someone else, or to nobody.
    ReassignClients,
    /// Delete clients and contracts for good (others archive them).
    DeleteForGood,
    /// Create, change, sign, complete, cancel and delete contracts.
    ManageContracts,
    /// Change, refund and delete recorded payments.
    CorrectPayments,
    /// Write notes on someone else's behalf; change or delete other users' notes.
    ModerateNotes,
    /// Register, change and remove webhook endpoints; read their deliveries.
    ManageWebhooks,
}

impl Action {
    fn describe(self) -> &'static str {
        match self {
            Action::ManageUsers => "manage users",
            Action::ReassignClients => "reassign clients",
            Action::DeleteForGood => "delete clients and contracts for good (archive them instead)",
            Action::ManageContracts => "manage contracts",
            Action::CorrectPayments => "change, refund or delete recorded payments",
            Action::ModerateNotes => "write or change notes in another user's name",
            Action::ManageWebhooks => "manage webhooks",
        }
    }
}

impl Viewer {
    /// Whether the role allows `action`.
    pub fn can(&self, action: Action) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Manager => !matches!(
                action,
                Action::ManageUsers | Action::ManageWebhooks | Action::DeleteForGood
            ),
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
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Manager => "manager",
        Role::Commercial => "commercial",
    }
}
