//! The tables the API reads, as a closed set: code that must say something about every table
//! (who may see its rows) matches on [`Table`] without a catch-all, so a new table does not
//! compile until it is given its rule.

use sea_orm::EntityTrait;

/// A table the API reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Users,
    Clients,
    Contracts,
    Payments,
    Documents,
    ClientNotes,
    OAuthEmailAccounts,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 7] = [
        Table::Users,
        Table::Clients,
        Table::Contracts,
        Table::Payments,
        Table::Documents,
        Table::ClientNotes,
        Table::OAuthEmailAccounts,
    ];

    /// The table's SQL name.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Clients => "clients",
            Table::Contracts => "contracts",
            Table::Payments => "payments",
            Table::Documents => "documents",
            Table::ClientNotes => "client_notes",
            Table::OAuthEmailAccounts => "oauth_email_accounts",
        }
    }
}

/// An entity of one of the API's tables.
pub trait Tabled: EntityTrait + Default {
    const TABLE: Table;
}

macro_rules! tabled {
    ($($module:ident => $table:ident),* $(,)?) => {$(
        impl Tabled for crate::$module::Entity {
            const TABLE: Table = Table::$table;
        }
    )*};
}

tabled! {
    users => Users,
    clients => Clients,
    contracts => Contracts,
    payments => Payments,
    documents => Documents,
    client_notes => ClientNotes,
    oauth_email_accounts => OAuthEmailAccounts,
}
