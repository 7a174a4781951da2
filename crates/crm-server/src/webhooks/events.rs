//! The events an endpoint can receive: one per table and operation of the change log.

use async_graphql::Enum;

/// A kind of change an endpoint receives (its name in the body's `type`, such as
/// `client.created`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[graphql(name = "WebhookEvent")]
pub enum EventType {
    /// `client.created`
    ClientCreated,
    /// `client.updated`
    ClientUpdated,
    /// `client.deleted`
    ClientDeleted,
    /// `contract.created`
    ContractCreated,
    /// `contract.updated` (its status, amounts or details changed)
    ContractUpdated,
    /// `contract.deleted`
    ContractDeleted,
    /// `payment.created`
    PaymentCreated,
    /// `payment.updated` (including refunds)
    PaymentUpdated,
    /// `payment.deleted`
    PaymentDeleted,
    /// `client_note.created`
    ClientNoteCreated,
    /// `client_note.updated`
    ClientNoteUpdated,
    /// `client_note.deleted`
    ClientNoteDeleted,
    /// `document.created`
    DocumentCreated,
    /// `document.updated`
    DocumentUpdated,
    /// `document.deleted`
    DocumentDeleted,
}

/// Each event: its name, and the change log's table and operation it stands for.
const EVENTS: [(EventType, &str, &str, &str); 15] = [
    (
        EventType::ClientCreated,
        "client.created",
        "clients",
        "created",
    ),
    (
        EventType::ClientUpdated,
        "client.updated",
        "clients",
        "updated",
    ),
    (
        EventType::ClientDeleted,
        "client.deleted",
        "clients",
        "deleted",
    ),
    (
        EventType::ContractCreated,
        "contract.created",
        "contracts",
        "created",
    ),
    (
        EventType::ContractUpdated,
        "contract.updated",
        "contracts",
        "updated",
    ),
    (
        EventType::ContractDeleted,
        "contract.deleted",
        "contracts",
        "deleted",
    ),
    (
        EventType::PaymentCreated,
        "payment.created",
        "payments",
        "created",
    ),
    (
        EventType::PaymentUpdated,
        "payment.updated",
        "payments",
        "updated",
    ),
    (
        EventType::PaymentDeleted,
        "payment.deleted",
        "payments",
        "deleted",
    ),
    (
        EventType::ClientNoteCreated,
        "client_note.created",
        "client_notes",
        "created",
    ),
    (
        EventType::ClientNoteUpdated,
        "client_note.updated",
        "client_notes",
        "updated",
    ),
    (
        EventType::ClientNoteDeleted,
        "client_note.deleted",
        "client_notes",
        "deleted",
    ),
    (
        EventType::DocumentCreated,
        "document.created",
        "documents",
        "created",
    ),
    (
        EventType::DocumentUpdated,
        "document.updated",
        "documents",
        "updated",
    ),
    (
        EventType::DocumentDeleted,
        "document.deleted",
        "documents",
        "deleted",
    ),
];

impl EventType {
    /// Its name: `client.created` …
    pub fn name(self) -> &'static str {
        EVENTS
            .iter()
            .find(|(event, ..)| *event == self)
            .map_or("", |(_, name, ..)| name)
    }

    /// The event of a name (`None` for an unknown one).
    pub fn parse(name: &str) -> Option<EventType> {
        EVENTS
            .iter()
            .find(|(_, known, ..)| *known == name)
            .map(|(event, ..)| *event)
    }

    /// The event of a change log entry (`None` for a table without events).
    pub fn of_change(table: &str, operation: &str) -> Option<EventType> {
        EVENTS
            .iter()
            .find(|(_, _, t, o)| *t == table && *o == operation)
            .map(|(event, ..)| *event)
    }

    /// The stored form of a list of events: their names, comma-separated, each once.
    pub fn join(events: &[EventType]) -> String {
        let mut names: Vec<&str> = events.iter().map(|event| event.name()).collect();
        names.sort_unstable();
        names.dedup();
        names.join(",")
    }

    /// The events of a stored list (unknown names, from a newer version, left out).
    pub fn split(stored: &str) -> Vec<EventType> {
        stored.split(',').filter_map(EventType::parse).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_one_name_and_one_change() {
        for (event, name, table, operation) in EVENTS {
            assert_eq!(event.name(), name);
            assert_eq!(EventType::parse(name), Some(event));
            assert_eq!(EventType::of_change(table, operation), Some(event));
        }
        let names: std::collections::HashSet<_> = EVENTS.iter().map(|e| e.1).collect();
        assert_eq!(names.len(), EVENTS.len());
        assert_eq!(EventType::of_change("credentials", "updated"), None);
    }

    #[test]
    fn lists_are_stored_sorted_once() {
        let stored = EventType::join(&[
            EventType::PaymentCreated,
            EventType::ClientCreated,
            EventType::PaymentCreated,
        ]);
        assert_eq!(stored, "client.created,payment.created");
        assert_eq!(
            EventType::split(&stored),
            [EventType::ClientCreated, EventType::PaymentCreated]
        );
        assert_eq!(
            EventType::split("gone.event,client.created"),
            [EventType::ClientCreated]
        );
    }
}
