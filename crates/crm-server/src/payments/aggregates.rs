//! What `aggregate` and `paymentGroups` figure over payments.

use crate::engine::aggregate::Currency;

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
    }
}
