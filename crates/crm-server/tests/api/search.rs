//! Search: prefixes, accents, several words, kinds, ranking then recency, pages, snippets, the
//! index kept by the database through writes, and the viewer's portfolio.

use entity::{ContractStatus, Role};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, fixtures};

struct World {
    ann_token: String,
    societe: Uuid,
    zephyr: Uuid,
    contract: Uuid,
    note: Uuid,
    document: Uuid,
}

async fn world(app: &TestApp) -> World {
    let db = &app.db;
    let (ann, ann_token) = app.user("ann", Role::Commercial, None).await;
    let societe = fixtures::client(db, "Société Générale", Some(ann)).await;
    let zephyr = fixtures::client(db, "Zephyr Logistics", None).await;
    let contract = fixtures::contract(
        db,
        zephyr.id,
        "ZL-2026-001",
        "10.00",
        ContractStatus::Active,
    )
    .await;
    let note = fixtures::note(db, zephyr.id, None, "Relance société Zephyr demain").await;
    let document = fixtures::document(db, societe.id, None, None).await;
    World {
        ann_token,
        societe: societe.id,
        zephyr: zephyr.id,
        contract: contract.id,
        note: note.id,
        document: document.id,
    }
}

const SEARCH: &str = "query($q: String!, $types: [SearchKind!], $first: Int, $after: String) {
    search(query: $q, types: $types, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { kind id snippet { text matched }
            node { __typename ... on Client { companyName } ... on ClientNote { content } ... on Contract { contractNumber } ... on Document { fileName } } } } }";

/// `(kind, id)` of each hit.
fn hits(answer: &Value) -> Vec<(String, String)> {
    answer["search"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["kind"].as_str().unwrap().to_owned(),
                h["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn find(app: &TestApp, query: &str) -> Vec<(String, String)> {
    hits(&app.data(SEARCH, json!({ "q": query })).await)
}

test_both! {
    async fn search_finds_word_prefixes_without_accents_across_kinds(app) {
        let w = world(&app).await;
        let kind = |k: &str, id: Uuid| (k.to_owned(), id.to_string());
        // "acm" is in every client's e-mail (contact@acme.example): words are cut at `@` and `.`.
        let mut acme = find(&app, "acm").await;
        acme.sort();
        let mut clients = vec![kind("CLIENT", w.societe), kind("CLIENT", w.zephyr)];
        clients.sort();
        assert_eq!(acme, clients);
        // Accents and case ignored, both ways: the client's name and the note's text.
        let mut societe = find(&app, "SOCIETE").await;
        societe.sort();
        let mut expected = vec![kind("CLIENT", w.societe), kind("NOTE", w.note)];
        expected.sort();
        assert_eq!(societe, expected);
        assert_eq!(find(&app, "générale").await, vec![kind("CLIENT", w.societe)]);
        // Every word must match (as a prefix).
        assert_eq!(find(&app, "soc gen").await, vec![kind("CLIENT", w.societe)]);
        assert_eq!(find(&app, "zeph demain").await, vec![kind("NOTE", w.note)]);
        assert_eq!(find(&app, "zeph nowhere").await, vec![]);
        // Contracts by number, documents by file name.
        assert_eq!(find(&app, "2026 001").await, vec![kind("CONTRACT", w.contract)]);
        assert_eq!(find(&app, "kbis").await, vec![kind("DOCUMENT", w.document)]);
        // Only the kinds asked for.
        let notes = app.data(SEARCH, json!({ "q": "zeph", "types": ["NOTE"] })).await;
        assert_eq!(hits(&notes), vec![kind("NOTE", w.note)]);
        assert_eq!(notes["search"]["totalCount"], 1);
        // The row itself, and the snippet with the matched word as written.
        let note = app.data(SEARCH, json!({ "q": "societe", "types": ["NOTE"] })).await;
        let hit = &note["search"]["nodes"][0];
        assert_eq!(hit["node"], json!({ "__typename": "ClientNote", "content": "Relance société Zephyr demain" }));
        assert_eq!(
            hit["snippet"],
            json!([
                { "text": "Relance ", "matched": false },
                { "text": "société", "matched": true },
                { "text": " Zephyr demain", "matched": false },
            ])
        );
    }
}

test_both! {
    async fn better_matches_come_first_then_the_latest_changed_and_pages_follow(app) {
        let w = world(&app).await;
        let db = &app.db;
        let once = fixtures::note(db, w.zephyr, None, "Orbital mention once in a longer note about other things").await;
        let thrice = fixtures::note(db, w.zephyr, None, "Orbital orbital orbital").await;
        let older = fixtures::note(db, w.zephyr, None, "Quasar probe").await;
        let newer = fixtures::note(db, w.zephyr, None, "Quasar probe").await;
        let mut later: entity::client_notes::ActiveModel = newer.clone().into();
        later.updated_at = Set(fixtures::at(2026, 3, 1));
        later.update(db).await.unwrap();
        let ids = |hits: Vec<(String, String)>| hits.into_iter().map(|(_, id)| id).collect::<Vec<_>>();
        assert_eq!(ids(find(&app, "orbital").await), vec![thrice.id.to_string(), once.id.to_string()]);
        assert_eq!(ids(find(&app, "quasar").await), vec![newer.id.to_string(), older.id.to_string()]);

        // Page by page, the same hits in the same order as one page.
        let all = ids(find(&app, "zeph orbital quasar logistics relance contract").await);
        assert!(all.is_empty());
        let whole = app.data(SEARCH, json!({ "q": "acm", "first": 10 })).await;
        let mut paged = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = app.data(SEARCH, json!({ "q": "acm", "first": 1, "after": after })).await;
            paged.extend(hits(&page));
            if page["search"]["pageInfo"]["hasNextPage"] == json!(false) {
                break;
            }
            after = page["search"]["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(paged, hits(&whole));
        assert_eq!(whole["search"]["totalCount"], 2);
    }
}

test_both! {
    async fn the_index_follows_every_write(app) {
        let w = world(&app).await;
        app.data(
            "mutation($id: UUID!) { updateClient(id: $id, input: { companyName: \"Zenith Freight\" }) { id } }",
            json!({ "id": w.zephyr }),
        )
        .await;
        assert_eq!(find(&app, "zeni fre").await, vec![("CLIENT".to_owned(), w.zephyr.to_string())]);
        // The note still says Zephyr; the client no longer does.
        assert_eq!(find(&app, "zephyr").await, vec![("NOTE".to_owned(), w.note.to_string())]);
        app.data("mutation($id: UUID!) { deleteClientNote(id: $id) }", json!({ "id": w.note }))
            .await;
        assert_eq!(find(&app, "zephyr").await, vec![]);
        // Statements: the search, its count, then the rows of each kind found, batched (two
        // clients: one statement).
        app.take_statement_count();
        app.data(SEARCH, json!({ "q": "acm" })).await;
        assert_eq!(app.take_statement_count(), 3);
    }
}

test_both! {
    async fn a_commercial_finds_only_her_portfolio_not_even_by_count(app) {
        let w = world(&app).await;
        let answer = app.gql_as(Some(&w.ann_token), SEARCH, json!({ "q": "zeph" })).await;
        assert_eq!(answer["data"]["search"]["totalCount"], 0, "{answer}");
        assert_eq!(answer["data"]["search"]["nodes"], json!([]));
        let answer = app.gql_as(Some(&w.ann_token), SEARCH, json!({ "q": "societe" })).await;
        assert_eq!(hits(&answer["data"]), vec![("CLIENT".to_owned(), w.societe.to_string())]);
        assert_eq!(answer["data"]["search"]["totalCount"], 1);
    }
}

test_both! {
    async fn bad_searches_are_refused_with_the_argument_at_fault(app) {
        world(&app).await;
        let field_of = |answer: &Value| {
            (
                answer["errors"][0]["extensions"]["code"].clone(),
                answer["errors"][0]["extensions"]["field"].clone(),
            )
        };
        let bad = |field: &str| (json!("BAD_USER_INPUT"), json!(field));
        for query in ["", "  -- ", &"word ".repeat(9), &"x".repeat(201)] {
            let answer = app.gql(SEARCH, json!({ "q": query })).await;
            assert_eq!(field_of(&answer), bad("query"), "{query:?}");
        }
        let answer = app.gql(SEARCH, json!({ "q": "acm", "first": 1000 })).await;
        assert_eq!(field_of(&answer), bad("first"));
        let other = app.data(SEARCH, json!({ "q": "acm", "first": 1 })).await;
        let cursor = other["search"]["pageInfo"]["endCursor"].clone();
        let answer = app.gql(SEARCH, json!({ "q": "soc", "after": cursor })).await;
        assert_eq!(field_of(&answer), bad("after"));
        let answer = app.gql(SEARCH, json!({ "q": "acm", "after": "bm9wZQ" })).await;
        assert_eq!(field_of(&answer), bad("after"));
        // The query's own syntax is never the database's: quotes and operators are separators.
        let answer = app.data(SEARCH, json!({ "q": "\"kbis\" OR * NEAR(:*" })).await;
        assert_eq!(answer["search"]["totalCount"], 0);
    }
}
