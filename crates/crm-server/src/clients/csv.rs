//! Clients as CSV columns, out and in.

use crate::csv::import::{Cell, ImportColumn, is_enum};
use crate::csv::{Column, Sheet};

pub const SHEET: Sheet = Sheet {
    name: "clients",
    filter_type: "ClientFilter",
    order_type: "ClientOrder",
    columns: &[
        Column::value("id", &["id"]),
        Column::text("company_name", &["companyName"]),
        Column::text("email", &["email"]),
        Column::text("phone", &["phone"]),
        Column::text("address", &["address"]),
        Column::text("city", &["city"]),
        Column::text("postal_code", &["postalCode"]),
        Column::text("country", &["country"]),
        Column::value("status", &["status"]),
        Column::value("kyc_completed", &["kycCompleted"]),
        Column::value("kyc_completed_at", &["kycCompletedAt"]),
        Column::value("assigned_to_id", &["assignedToId"]),
        Column::text("assigned_to_email", &["assignedTo", "email"]),
        Column::value("contract_count", &["contractCount"]),
        Column::value("total_contract_value", &["totalContractValue"]),
        Column::value("outstanding_amount", &["outstandingAmount"]),
        Column::value("created_at", &["createdAt"]),
        Column::value("updated_at", &["updatedAt"]),
    ],
};

/// The columns an import reads (keys: `id`, else `email`).
pub const IMPORT: &[ImportColumn] = &[
    ImportColumn::key("id", Cell::Id),
    ImportColumn::required("company_name", "companyName", Cell::Text),
    ImportColumn::optional("email", "email", Cell::Text),
    ImportColumn::optional("phone", "phone", Cell::Text),
    ImportColumn::optional("address", "address", Cell::Text),
    ImportColumn::optional("city", "city", Cell::Text),
    ImportColumn::optional("postal_code", "postalCode", Cell::Text),
    ImportColumn::optional("country", "country", Cell::Text),
    ImportColumn::kept(
        "status",
        "status",
        Cell::Enum(is_enum::<entity::ClientStatus>),
    ),
    ImportColumn::key("assigned_to_id", Cell::Id),
    ImportColumn::key("assigned_to_email", Cell::Text),
];
