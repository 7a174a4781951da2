//! What `aggregate` and `contractGroups` figure over contracts.

use crate::engine::aggregate::Currency;
use crate::engine::scalars::Date;
use uuid::Uuid;

crate::aggregates! {
    /// Figures over the contracts of a list (every page), per currency for amounts.
    ContractAggregate for Contract {
        currency Currency::Column("currency");
        distinct ContractDistinctField {
            /// The client.
            ClientId = "client_id",
            /// The commercial in charge.
            CommercialId = "commercial_id",
            /// The status.
            Status = "status",
            /// The currency.
            Currency = "currency",
        }
        money ContractMoneyField {
            /// The contract amount.
            Amount = "amount",
            /// The sum of its completed payments.
            PaidAmount = "paid_amount",
            /// What is still owed (zero for drafts and cancelled contracts).
            OutstandingAmount = "outstanding_amount",
        }
        date ContractDateField {
            /// The start date.
            StartDate = "start_date",
            /// The end date.
            EndDate = "end_date",
            /// The date of the latest completed payment.
            LastPaymentDate = "last_payment_date",
        }
        date_time ContractDateTimeField {
            /// When the contract was signed.
            SignedAt = "signed_at",
            /// When the contract was created.
            CreatedAt = "created_at",
            /// When the contract was last changed.
            UpdatedAt = "updated_at",
        }
        group ContractGroupField, keys ContractGroupKeys, by ContractGroupBy,
            measure ContractGroupMeasure, having ContractGroupCondition, order ContractGroupOrder {
            + currency "The currency of the group's rows (groupings are always split by currency).";
            /// The status.
            Status: status: entity::ContractStatus = KeySource::Column("status"),
            /// The commercial in charge.
            CommercialId: commercial_id: Uuid = KeySource::Column("commercial_id"),
            /// The client.
            ClientId: client_id: Uuid = KeySource::Column("client_id"),
            /// The start date, or the first day of its period.
            StartDate: start_date: Date = KeySource::Date("start_date"),
            /// The end date, or the first day of its period.
            EndDate: end_date: Date = KeySource::Date("end_date"),
            /// The day of signature (in the grouping's time zone), or the first day of its period.
            SignedAt: signed_at: Date = KeySource::Timestamp("signed_at"),
            /// The day of creation (in the grouping's time zone), or the first day of its period.
            CreatedAt: created_at: Date = KeySource::Timestamp("created_at"),
            /// The client's status.
            ClientStatus: client_status: entity::ClientStatus = KeySource::Parent {
                table: "clients", key: "client_id", column: "status",
            },
            /// The user the client is assigned to.
            ClientAssignedTo: client_assigned_to: Uuid = KeySource::Parent {
                table: "clients", key: "client_id", column: "assigned_to",
            },
        }
    }
}
