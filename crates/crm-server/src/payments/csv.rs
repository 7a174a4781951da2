//! Payments as CSV columns, out and in.

use crate::csv::import::{Cell, ImportColumn};
use crate::csv::{Column, Sheet};

pub const SHEET: Sheet = Sheet {
    name: "payments",
    filter_type: "PaymentFilter",
    order_type: "PaymentOrder",
    columns: &[
        Column::value("id", &["id"]),
        Column::value("contract_id", &["contractId"]),
        Column::text("contract_number", &["contract", "contractNumber"]),
        Column::value("client_id", &["clientId"]),
        Column::text("client_company_name", &["client", "companyName"]),
        Column::value("amount", &["amount"]),
        Column::value("currency", &["contract", "currency"]),
        Column::value("payment_date", &["paymentDate"]),
        Column::text("payment_method", &["paymentMethod"]),
        Column::value("status", &["status"]),
        Column::text("reference", &["reference"]),
        Column::value("created_at", &["createdAt"]),
        Column::value("updated_at", &["updatedAt"]),
    ],
};

/// The columns an import reads (keys: `id`, `idempotency_key`: a payment already recorded is
/// left as it is).
pub const IMPORT: &[ImportColumn] = &[
    ImportColumn::key("id", Cell::Id),
    ImportColumn::key("contract_id", Cell::Id),
    ImportColumn::key("contract_number", Cell::Text),
    ImportColumn::required("amount", "amount", Cell::Money),
    ImportColumn::kept("payment_date", "paymentDate", Cell::Date),
    ImportColumn::optional("payment_method", "paymentMethod", Cell::Text),
    ImportColumn::optional("reference", "reference", Cell::Text),
    ImportColumn::optional("idempotency_key", "idempotencyKey", Cell::Text),
];
