//! Clients as CSV columns.

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
