//! Random and adversarial documents and variables, generated (proptest strategies) and sent
//! through the real router, signed in and not, while `/health` is asked all along. Every
//! answer must come within a bound, as JSON with a stable error code, never an internal error;
//! the process must not panic or abort. `CRM_FUZZ_CASES` (default 150 per backend) and
//! `CRM_FUZZ_SEED` (printed at the start) set the run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

/// Codes an answer may carry.
const STABLE_CODES: [&str; 9] = [
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "CONFLICT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "RATE_LIMITED",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "TOO_MANY_ERRORS",
];

/// A bound no answer may take longer than (a debug build on a loaded machine).
const ANSWER_WITHIN: Duration = Duration::from_secs(20);

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("clients"),
        Just("client"),
        Just("contracts"),
        Just("payments"),
        Just("nodes"),
        Just("edges"),
        Just("node"),
        Just("id"),
        Just("companyName"),
        Just("totalCount"),
        Just("me"),
        Just("users"),
        Just("__typename"),
        Just("__schema"),
        Just("__type"),
        Just("types"),
        Just("fields"),
        Just("type"),
        Just("ofType"),
        Just("name"),
        Just("signIn"),
        Just("not"),
        Just("or"),
        Just("and"),
        Just("eq"),
        Just("in"),
        Just("containsInsensitive"),
        Just("filter"),
        Just("first"),
        Just("after"),
        Just("orderBy"),
        Just("some"),
        Just("unknown"),
    ]
    .prop_map(str::to_owned)
}

/// A GraphQL input literal, up to 40 levels deep, with long strings and variables.
fn literal() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[a-z0-9 -]{0,12}".prop_map(|s| format!("\"{s}\"")),
        (0usize..3_000).prop_map(|n| format!("\"{}\"", "x".repeat(n))),
        Just("$v".to_owned()),
        Just("\"\"\"block \\\"\"\" string\"\"\"".to_owned()),
        prop_oneof![Just("active"), Just("ASC"), Just("true"), Just("1e999")]
            .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(40, 400, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8)
                .prop_map(|items| format!("[{}]", items.join(" "))),
            prop::collection::vec((name(), inner), 0..6).prop_map(|fields| {
                let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{ {} }}", fields.join(" "))
            }),
        ]
    })
}

fn directives() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("@include(if: true)".to_owned()),
            Just("@skip(if: $v)".to_owned()),
            Just("@unknown".to_owned()),
            literal().prop_map(|v| format!("@skip(if: {v})")),
        ],
        0..12,
    )
    .prop_map(|d| d.join(" "))
}

/// A selection: fields with aliases, arguments, directives and sub-selections; spreads.
fn selection() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        name(),
        (0u8..6).prop_map(|k| format!("...F{k}")),
        Just("__typename".to_owned()),
    ];
    leaf.prop_recursive(30, 300, 6, |inner| {
        (
            prop::option::of("[a-z]{1,3}"),
            name(),
            prop::collection::vec((name(), literal()), 0..4),
            directives(),
            prop::collection::vec(inner, 0..6),
            any::<bool>(),
        )
            .prop_map(|(alias, field, args, directives, sub, inline)| {
                let alias = alias.map(|a| format!("{a}: ")).unwrap_or_default();
                let args: Vec<String> = args.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                let args = if args.is_empty() {
                    String::new()
                } else {
                    format!("({})", args.join(", "))
                };
                let sub = if sub.is_empty() {
                    String::new()
                } else {
                    format!("{{ {} }}", sub.join(" "))
                };
                if inline && !sub.is_empty() {
                    format!("... on Query {directives} {sub}")
                } else {
                    format!("{alias}{field}{args} {directives} {sub}")
                }
            })
    })
}

/// Known hostile shapes at random sizes.
fn amplified() -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..40).prop_map(|k| crate::hostile::fan_out(k, "__typename")),
        (1usize..400).prop_map(|k| {
            format!(
                "{{ clients(filter: {}{}{}) {{ totalCount }} }}",
                "{ not: ".repeat(k),
                "{ id: { eq: \"x\" } }",
                " }".repeat(k)
            )
        }),
        (1usize..6_000).prop_map(|k| {
            let aliases: String = (0..k).map(|i| format!("a{i}: __typename ")).collect();
            format!("{{ {aliases} }}")
        }),
        (1usize..3_000)
            .prop_map(|k| format!("{{ me {{ id {} }} }}", "@include(if: true) ".repeat(k))),
        (1usize..3_000).prop_map(|k| {
            let variables: String = (0..k).map(|i| format!("$v{i}: Int ")).collect();
            format!("query({variables}) {{ __typename }}")
        }),
        (1usize..30).prop_map(|k| {
            let mut text = "name".to_owned();
            for _ in 0..k {
                text = format!("fields {{ type {{ {text} }} }}");
            }
            format!("{{ __schema {{ types {{ {text} }} }} }}")
        }),
    ]
}

/// A whole document: operations and fragments, or an amplified shape, then maybe damaged.
fn document() -> impl Strategy<Value = String> {
    let built = (
        prop_oneof![
            Just("query"),
            Just("mutation"),
            Just("subscription"),
            Just("")
        ],
        (0usize..80),
        prop::collection::vec(selection(), 1..8),
        prop::collection::vec(
            (
                0u8..6,
                prop_oneof![Just("Query"), Just("Client"), Just("__Type")],
                prop::collection::vec(selection(), 1..4),
            ),
            0..6,
        ),
    )
        .prop_map(|(kind, variables, selections, fragments)| {
            let variables: String = (0..variables).map(|i| format!("$v{i}: Boolean ")).collect();
            let head = if kind.is_empty() {
                String::new()
            } else if variables.is_empty() {
                format!("{kind} ($v: Boolean)")
            } else {
                format!("{kind} ($v: Boolean {variables})")
            };
            let mut text = format!("{head} {{ {} }}", selections.join(" "));
            for (k, on, body) in fragments {
                text.push_str(&format!(" fragment F{k} on {on} {{ {} }}", body.join(" ")));
            }
            text
        });
    (
        prop_oneof![3 => built, 1 => amplified()],
        any::<u16>(),
        0u8..8,
    )
        .prop_map(|(text, at, damage)| {
            let at = usize::from(at) % (text.len() + 1);
            let at = (0..=at)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            match damage {
                0 => text[..at].to_owned(),
                1 => format!("{}{{{}", &text[..at], &text[at..]),
                2 => format!("{}\"{}", &text[..at], &text[at..]),
                _ => text,
            }
        })
}

/// Variables: JSON nested up to 200 levels (past the JSON parser's 128), long strings.
fn variables() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z]{0,8}".prop_map(Value::from),
        (0usize..100_000).prop_map(|n| Value::from("y".repeat(n))),
    ];
    let nested = leaf.prop_recursive(200, 2_000, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((name(), inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    });
    (nested, 0usize..3_000).prop_map(|(v, n)| {
        let mut variables = json!({ "v": v, "f": { "or": [] } });
        for i in 0..n {
            variables[format!("v{i}")] = json!(i);
        }
        variables
    })
}

fn assert_answer(status: StatusCode, text: &str, case: &str) {
    assert!(
        [
            StatusCode::OK,
            StatusCode::BAD_REQUEST,
            StatusCode::PAYLOAD_TOO_LARGE
        ]
        .contains(&status),
        "{status} for {case}"
    );
    let answer: Value =
        serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON for {case}"));
    for error in answer["errors"].as_array().into_iter().flatten() {
        let code = error["extensions"]["code"].as_str().unwrap_or("<none>");
        let allowed = STABLE_CODES.contains(&code)
            || (["BAD_REQUEST", "PAYLOAD_TOO_LARGE"].contains(&code) && status != StatusCode::OK);
        assert!(allowed, "code {code} for {case}: {error}");
    }
}

test_both! {
    async fn generated_hostile_requests_get_stable_codes_and_the_server_keeps_answering(app) {
        let cases: usize = std::env::var("CRM_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(150);
        let seed: u64 = std::env::var("CRM_FUZZ_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
        });
        eprintln!("generated hostile requests: CRM_FUZZ_SEED={seed} CRM_FUZZ_CASES={cases}");
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
        let strategy = (document(), variables(), any::<bool>());

        // `/health` asked all along, each answer within the bound.
        let app = Arc::new(app);
        let done = Arc::new(AtomicBool::new(false));
        let health = {
            let (app, done) = (app.clone(), done.clone());
            tokio::spawn(async move {
                let mut answered = 0u32;
                while !done.load(Ordering::SeqCst) {
                    let (status, _) = tokio::time::timeout(ANSWER_WITHIN, app.get("/health")).await.expect("/health answered in time");
                    assert_eq!(status, StatusCode::OK);
                    answered += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                answered
            })
        };
        for _ in 0..cases {
            let (query, variables, signed_in) = strategy.new_tree(&mut runner).expect("a case").current();
            let body = json!({ "query": query, "variables": variables }).to_string();
            let case = format!("seed {seed}: {}", query.chars().take(300).collect::<String>());
            let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
            if signed_in {
                request = request.header(header::AUTHORIZATION, format!("Bearer {}", app.token));
            }
            let request = request.body(Body::from(body)).expect("request");
            let (status, text) = tokio::time::timeout(ANSWER_WITHIN, app.request(request))
                .await
                .unwrap_or_else(|_| panic!("no answer within {ANSWER_WITHIN:?} for {case}"));
            assert_answer(status, &text, &case);
        }
        done.store(true, Ordering::SeqCst);
        let answered = health.await.expect("the health task ended cleanly");
        assert!(answered > 0);
        let (status, _) = app.get("/health").await;
        assert_eq!(status, StatusCode::OK);
    }
}
