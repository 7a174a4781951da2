//! What `aggregate` and `paymentGroups` figure over payments.

use crate::engine::aggregate::Currency;
use crate::engine::periods::AgingBucket;
use crate::engine::scalars::Date;
use uuid::Uuid;

crate::aggregates! {
    /// Figures over the payments of a list (every page), in the contract's currency.
    PaymentAggregate for Payment {
        currency Currency::Parent {
            table: "contracts",
            key: "contract_id",
            column: "currency",
        };
        distinct PaymentDistinctField {
            /// The contract paid.
            ContractId = "contract_id",
            /// The paying client.
            ClientId = "client_id",
            /// The status.
            Status = "status",
            /// The payment method.
            PaymentMethod = "payment_method",
        }
        money PaymentMoneyField {
            /// The amount paid.
            Amount = "amount",
        }
        date PaymentDateField {
            /// The day of payment.
            PaymentDate = "payment_date",
        }
        date_time PaymentDateTimeField {
            /// When the payment was recorded.
            CreatedAt = "created_at",
            /// When the payment was last changed.
            UpdatedAt = "updated_at",
        }
        group PaymentGroupField, keys PaymentGroupKeys, by PaymentGroupBy,
            measure PaymentGroupMeasure, having PaymentGroupCondition, order PaymentGroupOrder {
            + currency "The currency of the group's rows (groupings are always split by currency).";
            /// The status.
            Status: status: entity::PaymentStatus = KeySource::Column("status"),
            /// The payment method.
            PaymentMethod: payment_method: String = KeySource::Column("payment_method"),
            /// The day of payment, or the first day of its period.
            PaymentDate: payment_date: Date = KeySource::Date("payment_date"),
            /// How long ago the day of payment was, as of today in the grouping's time zone
            /// (with `status: pending`, overdue payments by age).
            Aging: aging: AgingBucket = KeySource::Aging("payment_date"),
            /// The contract paid.
            ContractId: contract_id: Uuid = KeySource::Column("contract_id"),
            /// The paying client.
            ClientId: client_id: Uuid = KeySource::Column("client_id"),
            /// The contract's status.
            ContractStatus: contract_status: entity::ContractStatus = KeySource::Parent {
                table: "contracts", key: "contract_id", column: "status",
            },
            /// The contract's commercial.
            ContractCommercialId: contract_commercial_id: Uuid = KeySource::Parent {
                table: "contracts", key: "contract_id", column: "commercial_id",
            },
            /// The client's status.
            ClientStatus: client_status: entity::ClientStatus = KeySource::Parent {
                table: "clients", key: "client_id", column: "status",
            },
            /// The user the client is assigned to.
            ClientAssignedTo: client_assigned_to: Uuid = KeySource::Parent {
                table: "clients", key: "client_id", column: "assigned_to",
            },
            /// The day the payment was recorded (in the grouping's time zone), or the first day of its period.
            CreatedAt: created_at: Date = KeySource::Timestamp("created_at"),
        }
    }
}
