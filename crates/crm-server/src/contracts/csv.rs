//! Contracts as CSV columns, out and in.

use crate::csv::import::{Cell, ImportColumn, is_enum};
use crate::csv::{Column, Sheet};

pub const SHEET: Sheet = Sheet {
    name: "contracts",
    filter_type: "ContractFilter",
    order_type: "ContractOrder",
    columns: &[
        Column::value("id", &["id"]),
        Column::text("contract_number", &["contractNumber"]),
        Column::value("client_id", &["clientId"]),
        Column::text("client_email", &["client", "email"]),
        Column::text("client_company_name", &["client", "companyName"]),
        Column::value("commercial_id", &["commercialId"]),
        Column::text("commercial_email", &["commercial", "email"]),
        Column::text("title", &["title"]),
        Column::value("amount", &["amount"]),
        Column::value("currency", &["currency"]),
        Column::value("status", &["status"]),
        Column::value("start_date", &["startDate"]),
        Column::value("end_date", &["endDate"]),
        Column::value("signed_at", &["signedAt"]),
        Column::value("paid_amount", &["paidAmount"]),
        Column::value("outstanding_amount", &["outstandingAmount"]),
        Column::value("last_payment_date", &["lastPaymentDate"]),
        Column::value("created_at", &["createdAt"]),
        Column::value("updated_at", &["updatedAt"]),
    ],
};

/// The columns an import reads (key: `contract_number`). `status` moves the contract there
/// through the status mutations' rules (`signContract` with `signed_at`, `completeContract`,
/// `cancelContract`).
pub const IMPORT: &[ImportColumn] = &[
    ImportColumn::required("contract_number", "contractNumber", Cell::Text),
    ImportColumn::key("client_id", Cell::Id),
    ImportColumn::key("client_email", Cell::Text),
    ImportColumn::key("commercial_id", Cell::Id),
    ImportColumn::key("commercial_email", Cell::Text),
    ImportColumn::required("title", "title", Cell::Text),
    ImportColumn::required("amount", "amount", Cell::Money),
    ImportColumn::kept("currency", "currency", Cell::Text),
    ImportColumn::optional("start_date", "startDate", Cell::Date),
    ImportColumn::optional("end_date", "endDate", Cell::Date),
    ImportColumn::key("status", Cell::Enum(is_enum::<entity::ContractStatus>)),
    ImportColumn::key("signed_at", Cell::Text),
];
