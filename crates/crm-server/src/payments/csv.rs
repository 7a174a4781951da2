//! Payments as CSV columns.

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
