//! The fast read path answers exactly what the plain one does.
//!
//! Queries are generated from the schema itself (so a new type, field, filter or sort field is
//! covered without touching this file): selections with aliases, inline and named fragments,
//! `@skip` / `@include` (literal and variable), relations in both directions, `totalCount`,
//! `edges` / `pageInfo`, filters with `and` / `or` / `not` and relation filters, `orderBy`,
//! `first` / `last` / `after` / `before`, lookups by id, as an admin and as a commercial.
//! Each is sent to two routers over the same seeded database: the default one
//! (`CRM_READ_PATH=fast`) and one with `CRM_READ_PATH=plain`, where async-graphql resolves
//! every field and list item with full validation, SeaORM decodes every row and serde_json
//! writes the answer. Status and body must be byte-for-byte the same.
//!
//! Cases: the seeds `1..=CRM_DIFF_FIXED` (default 150), then `CRM_DIFF_CASES` (default 100)
//! random ones from `CRM_DIFF_SEED` (printed; set it to replay a run).

use std::collections::{BTreeMap, HashSet};

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use crm_server::engine::loader::ReadPath;
use crm_server::seed::{SeedArgs, seed};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{send, session_token, test_config};

/// splitmix64: small, deterministic, good enough to pick from lists.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A field or input value: name, named type, whether a list, whether required.
#[derive(Clone)]
struct Slot {
    name: String,
    ty: String,
    list: bool,
    required: bool,
    args: Vec<Slot>,
}

fn named(ty: &Type) -> (String, bool) {
    match &ty.base {
        BaseType::Named(name) => (name.to_string(), false),
        BaseType::List(inner) => (named(inner).0, true),
    }
}

/// The schema's object, input and enum types.
struct Shapes {
    objects: BTreeMap<String, Vec<Slot>>,
    inputs: BTreeMap<String, Vec<Slot>>,
    enums: BTreeMap<String, Vec<String>>,
}

impl Shapes {
    fn load() -> Shapes {
        let document = parse_schema(crm_server::graphql::sdl()).unwrap();
        let mut shapes = Shapes {
            objects: BTreeMap::new(),
            inputs: BTreeMap::new(),
            enums: BTreeMap::new(),
        };
        let slot = |name: &str, ty: &Type, has_default: bool, args: Vec<Slot>| {
            let (base, list) = named(ty);
            Slot {
                name: name.to_owned(),
                ty: base,
                list,
                required: !ty.nullable && !has_default,
                args,
            }
        };
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let name = ty.node.name.node.to_string();
            match &ty.node.kind {
                TypeKind::Object(object) => {
                    let fields = object
                        .fields
                        .iter()
                        .map(|f| {
                            let args = f
                                .node
                                .arguments
                                .iter()
                                .map(|a| {
                                    slot(
                                        &a.node.name.node,
                                        &a.node.ty.node,
                                        a.node.default_value.is_some(),
                                        Vec::new(),
                                    )
                                })
                                .collect();
                            slot(&f.node.name.node, &f.node.ty.node, false, args)
                        })
                        .collect();
                    shapes.objects.insert(name, fields);
                }
                TypeKind::InputObject(input) => {
                    let fields = input
                        .fields
                        .iter()
                        .map(|f| {
                            slot(
                                &f.node.name.node,
                                &f.node.ty.node,
                                f.node.default_value.is_some(),
                                Vec::new(),
                            )
                        })
                        .collect();
                    shapes.inputs.insert(name, fields);
                }
                TypeKind::Enum(values) => {
                    let values = values
                        .values
                        .iter()
                        .map(|v| v.node.value.node.to_string())
                        .collect();
                    shapes.enums.insert(name, values);
                }
                _ => {}
            }
        }
        shapes
    }

    fn is_connection(&self, ty: &str) -> bool {
        ty.ends_with("Connection") && self.objects.contains_key(ty)
    }

    /// The node type of a connection type.
    fn node_of(&self, connection: &str) -> Option<String> {
        self.objects[connection]
            .iter()
            .find(|f| f.name == "nodes")
            .map(|f| f.ty.clone())
    }
}

/// What the generated documents refer to: ids per type, first-page cursors per node type.
struct Known {
    ids: BTreeMap<String, Vec<String>>,
    cursors: BTreeMap<String, Vec<String>>,
}

/// Writes one document.
struct Writer<'a> {
    shapes: &'a Shapes,
    known: &'a Known,
    rng: Rng,
    fragments: Vec<String>,
    uses_flag: bool,
    aliases: usize,
}

const MAX_DEPTH: usize = 3;

impl Writer<'_> {
    fn document(mut self) -> (String, Value) {
        let mut body = String::new();
        self.selection("Query", 0, &mut body);
        let header = if self.uses_flag {
            "query Differential($flag: Boolean!)"
        } else {
            "query Differential"
        };
        let mut document = format!("{header} {body}");
        for fragment in &self.fragments {
            document.push('\n');
            document.push_str(fragment);
        }
        let variables = if self.uses_flag {
            json!({ "flag": self.rng.chance(50) })
        } else {
            json!({})
        };
        (document, variables)
    }

    /// `{ … }` on an object of type `ty`.
    fn selection(&mut self, ty: &str, depth: usize, out: &mut String) {
        let fields = self.shapes.objects[ty].clone();
        let mut keys = HashSet::new();
        let mut items = Vec::new();
        let wanted = if ty == "Query" {
            1 + self.rng.below(2)
        } else {
            1 + self.rng.below(6)
        };
        let mut tries = 0;
        while items.len() < wanted && tries < 30 {
            tries += 1;
            let field = self.rng.pick(&fields).clone();
            if let Some(item) = self.field(&field, depth, &mut keys) {
                items.push(item);
            }
        }
        if items.is_empty() {
            items.push("__typename".to_owned());
        }
        if self.rng.chance(10) {
            items.push("__typename".to_owned());
        }
        // Some fields go into a fragment: inline, or named and spread.
        if items.len() > 1 && ty != "Query" && self.rng.chance(30) {
            let cut = 1 + self.rng.below(items.len() - 1);
            let inner = items.split_off(cut).join(" ");
            if self.rng.chance(50) {
                items.push(format!("... on {ty} {{ {inner} }}"));
            } else {
                let name = format!("F{}", self.fragments.len());
                self.fragments
                    .push(format!("fragment {name} on {ty} {{ {inner} }}"));
                items.push(format!("...{name}"));
            }
        }
        out.push_str("{ ");
        out.push_str(&items.join(" "));
        out.push_str(" }");
    }

    /// One selected field (with alias, arguments, directive, sub-selection), unless it cannot
    /// be selected here.
    fn field(&mut self, field: &Slot, depth: usize, keys: &mut HashSet<String>) -> Option<String> {
        let object = self.shapes.objects.contains_key(&field.ty);
        let connection = self.shapes.is_connection(&field.ty);
        if object && depth >= MAX_DEPTH {
            return None;
        }
        if field.args.iter().any(|a| a.required && a.name != "id") {
            return None;
        }
        let mut text = String::new();
        // A second selection of a plain field under the same key merges with the first.
        let merge = !object && field.args.is_empty() && keys.contains(&field.name);
        if !merge && (keys.contains(&field.name) || self.rng.chance(15)) {
            self.aliases += 1;
            let alias = format!("a{}", self.aliases);
            text.push_str(&alias);
            text.push_str(": ");
            keys.insert(alias);
        } else {
            keys.insert(field.name.clone());
        }
        text.push_str(&field.name);
        let mut args = Vec::new();
        if field.args.iter().any(|a| a.name == "id" && a.required) {
            let ids = self.known.ids.get(&field.ty)?;
            let id = if self.rng.chance(90) {
                self.rng.pick(ids).clone()
            } else {
                "00000000-0000-7000-8000-000000000000".to_owned()
            };
            args.push(format!("id: \"{id}\""));
        } else if connection {
            args = self.connection_args(field, depth);
        }
        if !args.is_empty() {
            text.push('(');
            text.push_str(&args.join(", "));
            text.push(')');
        }
        if self.rng.chance(10) {
            text.push_str(&self.directive());
        }
        if connection {
            text.push(' ');
            self.connection(&field.ty, depth, &mut text);
        } else if object {
            text.push(' ');
            self.selection(&field.ty, depth + 1, &mut text);
        }
        Some(text)
    }

    fn directive(&mut self) -> String {
        let name = if self.rng.chance(50) {
            "skip"
        } else {
            "include"
        };
        let condition = if self.rng.chance(50) {
            self.uses_flag = true;
            "$flag".to_owned()
        } else {
            self.rng.chance(50).to_string()
        };
        format!(" @{name}(if: {condition})")
    }

    fn connection_args(&mut self, field: &Slot, depth: usize) -> Vec<String> {
        let has = |name: &str| field.args.iter().any(|a| a.name == name);
        let node = self
            .shapes
            .node_of(&field.ty)
            .unwrap_or_else(|| panic!("{} has no nodes", field.ty));
        let mut args = Vec::new();
        let ordered = has("orderBy") && self.rng.chance(40);
        if ordered {
            let order = field.args.iter().find(|a| a.name == "orderBy").unwrap();
            let order_fields = &self.shapes.inputs[&order.ty];
            let field_enum = &order_fields.iter().find(|f| f.name == "field").unwrap().ty;
            let values = self.shapes.enums[field_enum].clone();
            let count = 1 + self.rng.below(2);
            let orders: Vec<String> = (0..count)
                .map(|_| {
                    let mut one = format!("{{ field: {}", self.rng.pick(&values));
                    if self.rng.chance(50) {
                        one.push_str(if self.rng.chance(50) {
                            ", direction: DESC"
                        } else {
                            ", direction: ASC"
                        });
                    }
                    if self.rng.chance(30) {
                        one.push_str(if self.rng.chance(50) {
                            ", nulls: FIRST"
                        } else {
                            ", nulls: LAST"
                        });
                    }
                    one.push_str(" }");
                    one
                })
                .collect();
            args.push(format!("orderBy: [{}]", orders.join(", ")));
        }
        // Nested lists always give a size: the defaults multiply to more rows than a test needs.
        let sized = depth > 0 || self.rng.chance(80);
        let backward = sized && self.rng.chance(25);
        if sized && has("first") {
            let size = self.rng.below(5);
            args.push(format!(
                "{}: {size}",
                if backward { "last" } else { "first" }
            ));
        }
        if !ordered
            && has("after")
            && self.rng.chance(20)
            && let Some(cursors) = self.known.cursors.get(&node)
            && !cursors.is_empty()
        {
            let cursor = self.rng.pick(cursors).clone();
            let which = if backward { "before" } else { "after" };
            args.push(format!("{which}: \"{cursor}\""));
        }
        if has("filter") && self.rng.chance(35) {
            let filter = field.args.iter().find(|a| a.name == "filter").unwrap();
            let ty = filter.ty.clone();
            args.push(format!("filter: {}", self.filter(&ty, 0)));
        }
        args
    }

    /// `{ totalCount nodes { … } edges { cursor node { … } } pageInfo { … } }`, some of them.
    fn connection(&mut self, ty: &str, depth: usize, out: &mut String) {
        let node = self.shapes.node_of(ty).unwrap();
        let mut parts = Vec::new();
        if self.rng.chance(45) {
            parts.push("totalCount".to_owned());
        }
        if self.rng.chance(75) {
            let mut nodes = "nodes ".to_owned();
            self.selection(&node, depth + 1, &mut nodes);
            parts.push(nodes);
        }
        if self.rng.chance(30) {
            let mut edges = "edges { ".to_owned();
            if self.rng.chance(60) {
                edges.push_str("cursor ");
            }
            edges.push_str("node ");
            self.selection(&node, depth + 1, &mut edges);
            edges.push_str(" }");
            parts.push(edges);
        }
        if self.rng.chance(25) {
            parts.push("pageInfo { hasNextPage hasPreviousPage startCursor endCursor }".to_owned());
        }
        if parts.is_empty() || self.rng.chance(5) {
            parts.push("__typename".to_owned());
        }
        out.push_str("{ ");
        out.push_str(&parts.join(" "));
        out.push_str(" }");
    }

    /// A value of the filter input type `ty`.
    fn filter(&mut self, ty: &str, depth: usize) -> String {
        let fields = self.shapes.inputs[ty].clone();
        let count = 1 + self.rng.below(2);
        let mut parts = Vec::new();
        let mut used = HashSet::new();
        for _ in 0..count {
            let field = self.rng.pick(&fields).clone();
            if !used.insert(field.name.clone()) {
                continue;
            }
            let nested = self.shapes.inputs.get(&field.ty).cloned();
            let value = match (field.name.as_str(), nested) {
                ("and" | "or", _) if depth < 2 => {
                    let a = self.filter(&field.ty, depth + 1);
                    let b = self.filter(&field.ty, depth + 1);
                    format!("[{a}, {b}]")
                }
                ("not", _) if depth < 2 => self.filter(&field.ty, depth + 1),
                ("and" | "or" | "not", _) => continue,
                // A filter on a related row or list of rows.
                (_, Some(inner)) if inner.iter().any(|f| f.name == "and" || f.name == "some") => {
                    if depth >= 2 {
                        continue;
                    }
                    self.filter(&field.ty, depth + 1)
                }
                // A scalar filter: one or two of its operators.
                (_, Some(operators)) => {
                    let mut ops = Vec::new();
                    let mut seen = HashSet::new();
                    for _ in 0..1 + self.rng.below(2) {
                        let op = self.rng.pick(&operators).clone();
                        if seen.insert(op.name.clone()) {
                            ops.push(format!("{}: {}", op.name, self.value(&op)));
                        }
                    }
                    format!("{{ {} }}", ops.join(", "))
                }
                (_, None) => continue,
            };
            parts.push(format!("{}: {value}", field.name));
        }
        format!("{{ {} }}", parts.join(", "))
    }

    /// A literal for the input value `slot`.
    fn value(&mut self, slot: &Slot) -> String {
        let one = |w: &mut Self| -> String {
            match slot.ty.as_str() {
                "String" => format!(
                    "\"{}\"",
                    w.rng
                        .pick(&["a", "e", "Tech", "SAS", "Paris", "%", "_", "", "CTR-0", "é"])
                ),
                "Decimal" => format!(
                    "\"{}\"",
                    w.rng.pick(&["0", "1000", "1500.50", "-1", "25000", "0.01"])
                ),
                "Int" => w.rng.below(6).to_string(),
                "Boolean" => w.rng.chance(50).to_string(),
                "Date" => format!(
                    "\"{}\"",
                    w.rng.pick(&["2025-01-01", "2026-03-01", "2026-12-31"])
                ),
                "DateTime" => format!(
                    "\"{}\"",
                    w.rng.pick(&[
                        "2025-01-01T00:00:00Z",
                        "2026-02-01T12:00:00Z",
                        "2027-01-01T00:00:00Z"
                    ])
                ),
                "UUID" => {
                    let all: Vec<String> = w.known.ids.values().flatten().cloned().collect();
                    format!("\"{}\"", w.rng.pick(&all))
                }
                other => match w.shapes.enums.get(other) {
                    Some(values) => w.rng.pick(values).clone(),
                    None => "null".to_owned(),
                },
            }
        };
        if slot.list {
            let count = self.rng.below(4);
            let items: Vec<String> = (0..count).map(|_| one(self)).collect();
            format!("[{}]", items.join(", "))
        } else {
            one(self)
        }
    }
}

/// One request; `id` as its `X-Request-Id`, so that errors name the same request on both paths.
async fn post(router: &Router, token: &str, id: &str, document: &str, variables: &Value) -> String {
    let body = json!({ "query": document, "variables": variables }).to_string();
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-request-id", id)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap();
    let (status, body) = send(router, request).await;
    format!("{status}\n{body}")
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

test_both! {
    async fn the_fast_path_answers_what_the_plain_path_answers(app) {
        seed(&app.db, &SeedArgs {
            users: 14,
            clients: 30,
            contracts_per_client: 2,
            payments_per_contract: 2,
            notes: 30,
            documents: 20,
            email_accounts: 4,
            seed: 11,
            password: None,
        })
        .await
        .unwrap();
        let mut config = test_config();
        config.server.read_path = ReadPath::Plain;
        let plain = app.router_with(&config);
        let commercial = entity::users::Entity::find()
            .filter(entity::users::Column::Role.eq(entity::Role::Commercial))
            .one(&app.db)
            .await
            .unwrap()
            .expect("the seed makes commercials");
        let commercial_token = session_token(&app.auth, commercial).await;

        let shapes = Shapes::load();
        let mut known = Known { ids: BTreeMap::new(), cursors: BTreeMap::new() };
        for root in &shapes.objects["Query"] {
            if !shapes.is_connection(&root.ty) || root.args.iter().any(|a| a.required) {
                continue;
            }
            let node = shapes.node_of(&root.ty).unwrap();
            let data = app
                .data(&format!("{{ list: {}(first: 12) {{ edges {{ cursor node {{ id }} }} }} }}", root.name), json!({}))
                .await;
            let edges = data["list"]["edges"].as_array().cloned().unwrap_or_default();
            known.cursors.insert(node.clone(), edges.iter().map(|e| e["cursor"].as_str().unwrap().to_owned()).collect());
            known.ids.insert(node, edges.iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()).collect());
        }

        let fixed = env_number("CRM_DIFF_FIXED", 150);
        let random = env_number("CRM_DIFF_CASES", 100);
        let start = std::env::var("CRM_DIFF_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64);
        eprintln!("differential: seeds 1..={fixed}, then {random} from CRM_DIFF_SEED={start}");
        let seeds = (1..=fixed).chain((0..random).map(|i| Rng(start.wrapping_add(i)).next()));
        let (mut answered, mut failed) = (0, 0);
        for case in seeds {
            let writer = Writer {
                shapes: &shapes,
                known: &known,
                rng: Rng(case),
                fragments: Vec::new(),
                uses_flag: false,
                aliases: 0,
            };
            let (document, variables) = writer.document();
            let token = if case % 3 == 0 { &commercial_token } else { &app.token };
            let id = format!("differential-{case}");
            let fast = post(&app.router, token, &id, &document, &variables).await;
            let library = post(&plain, token, &id, &document, &variables).await;
            assert_eq!(
                fast, library,
                "seed {case}: the fast path (left) and the plain path (right) differ on\n{document}\nvariables: {variables}"
            );
            if fast.contains("\"errors\"") {
                failed += 1;
            } else {
                answered += 1;
            }
        }
        eprintln!("differential: {answered} answered alike, {failed} refused alike");
        // Most documents are valid: the generator is not testing error paths only.
        assert!(answered > failed * 2, "{answered} answered, {failed} with errors");
    }
}
