//! What one request may ask, checked before async-graphql parses, validates or runs it.
//!
//! async-graphql's own checks run after its parser and walk fragments expanded: a 900-byte
//! document whose fragments each spread the previous one twice holds a core for seconds, and
//! nested input values recurse until the stack overflows. Here every walk is bounded before it
//! recurses, and a document is measured once per fragment (memoised), so refusing costs time
//! in proportion to the text, never to its expansion:
//!
//! 1. [`scan`] reads the text once, without parsing it: tokens counted, brackets nested at most
//!    [`Limits::text_nesting`] deep (the parser recurses once per bracket).
//! 2. [`check_document`] measures the parsed document: operations, variables, directives per
//!    location, input values nested, and per operation and fragment the selections with
//!    fragments expanded (`__typename` and introspection fields count), aliases, depth, and
//!    introspection lists nested (as graphql-js's `MaxIntrospectionDepthRule`).
//! 3. [`check_variables`] bounds the nesting of the JSON variables.
//!
//! Every refusal is one error with a stable code, `extensions.limit` (the setting's variable)
//! and `extensions.max`.

use std::collections::HashMap;

use async_graphql::parser::types::{
    Directive, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, ServerError, Variables};
use async_graphql_value::{ConstValue, Value};

use crate::error::codes;

/// Nesting of introspection selections accepted whatever `max_depth` is: graphql-js's
/// introspection query (GraphiQL, codegen, Postman …) reaches 15 with its nine `ofType`.
pub const INTROSPECTION_DEPTH: usize = 16;

/// `fields`, `inputFields`, `interfaces` and `possibleTypes` nested in one introspection path:
/// each level multiplies the answer by the schema's size. graphql-js's limit (its
/// `MaxIntrospectionDepthRule` refuses three).
pub const INTROSPECTION_LISTS: usize = 2;

/// Introspection lists whose nesting is counted.
const LIST_FIELDS: [&str; 4] = ["fields", "inputFields", "interfaces", "possibleTypes"];

/// Root fields a request without valid credentials may select.
const PUBLIC_QUERY_FIELDS: [&str; 3] = ["__schema", "__type", "__typename"];
const PUBLIC_MUTATION_FIELDS: [&str; 3] = ["signIn", "refreshSession", "__typename"];

/// The limits, from the configuration (`CRM_MAX_…`; the README's table lists them).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Fields nested in one path of data (introspection has [`INTROSPECTION_DEPTH`]).
    pub max_depth: usize,
    /// Selections with fragments expanded: every field, `__typename` and introspection field
    /// included, every fragment spread and inline fragment.
    pub max_complexity: usize,
    /// Aliased fields, fragments expanded.
    pub max_aliases: usize,
    /// Directives on one field, fragment, operation or variable.
    pub max_directives: usize,
    /// Variables declared by one operation.
    pub max_variables: usize,
    /// Operations in one document.
    pub max_operations: usize,
    /// Objects and lists nested in one input value (literal or variable).
    pub max_input_depth: usize,
    /// Values in a request's variables: scalars, list items and objects, all counted.
    pub max_input_values: usize,
    /// Tokens in the query text.
    pub max_tokens: usize,
    /// Errors in one response (the rest are summed up in one more).
    pub max_errors: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 12,
            max_complexity: 2_000,
            max_aliases: 200,
            max_directives: 8,
            max_variables: 50,
            max_operations: 20,
            max_input_depth: 16,
            max_input_values: 2_000,
            max_tokens: 10_000,
            max_errors: 50,
        }
    }
}

impl Limits {
    /// Deepest nesting of fields in any path, introspection included.
    pub fn total_depth(&self) -> usize {
        self.max_depth.max(INTROSPECTION_DEPTH)
    }

    /// Deepest nesting of selection sets, fragment spreads and inline fragments included
    /// (async-graphql's `limit_recursive_depth` is set to the same).
    pub fn recursion(&self) -> usize {
        2 * self.total_depth()
    }

    /// Deepest nesting of brackets in the text: selections and an argument's value inside.
    pub fn text_nesting(&self) -> usize {
        self.recursion() + self.max_input_depth + 2
    }
}

/// A request refused by a limit: one error, a stable code, the setting it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
    /// The setting (`CRM_MAX_QUERY_DEPTH` …); `None` for a fixed rule.
    pub limit: Option<&'static str>,
    pub max: Option<usize>,
    /// The variable or argument concerned.
    pub field: Option<String>,
}

impl Refusal {
    /// `what` went over the setting `limit`, whose value is `max`.
    fn over(limit: &'static str, max: usize, what: &str) -> Self {
        Refusal {
            code: codes::GRAPHQL_VALIDATION_FAILED,
            message: format!("{what}: more than {max} ({limit})"),
            limit: Some(limit),
            max: Some(max),
            field: None,
        }
    }

    /// Requests without valid credentials that ask for more than signing in.
    pub fn unauthenticated(message: &str) -> Self {
        Refusal {
            code: codes::UNAUTHENTICATED,
            message: message.to_owned(),
            limit: None,
            max: None,
            field: None,
        }
    }

    /// The error to answer.
    pub fn into_server_error(self) -> ServerError {
        let mut error = ServerError::new(self.message, None);
        let extensions = error.extensions.get_or_insert_with(Default::default);
        extensions.set("code", self.code);
        if let Some(limit) = self.limit {
            extensions.set("limit", limit);
        }
        if let Some(max) = self.max {
            extensions.set("max", max as u64);
        }
        if let Some(field) = self.field {
            extensions.set("field", field);
        }
        error
    }
}

/// What [`scan`] found in a text.
#[derive(Debug, Clone, Copy)]
pub struct Scan {
    pub tokens: usize,
}

/// Counts the tokens of a query text and the nesting of its brackets, without parsing it.
/// Strings, block strings and comments are skipped; a text the parser would refuse for its
/// syntax is measured all the same (the parser then says what is wrong).
pub fn scan(text: &str, limits: &Limits) -> Result<Scan, Refusal> {
    let bytes = text.as_bytes();
    let nesting_limit = limits.text_nesting();
    let mut tokens = 0usize;
    let mut nesting = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' => i = skip_string(bytes, i),
            b'{' | b'(' | b'[' => {
                nesting += 1;
                if nesting > nesting_limit {
                    return Err(Refusal::over(
                        "CRM_MAX_QUERY_DEPTH",
                        nesting_limit,
                        "brackets nested in the query text (selections and input values)",
                    ));
                }
                i += 1;
            }
            b'}' | b')' | b']' => {
                nesting = nesting.saturating_sub(1);
                i += 1;
            }
            b'.' => {
                // `...` is one token.
                while i < bytes.len() && bytes[i] == b'.' {
                    i += 1;
                }
            }
            _ if is_word(byte) => {
                // A number's decimal point is part of it.
                let number = byte.is_ascii_digit() || byte == b'-';
                while i < bytes.len() && (is_word(bytes[i]) || (number && bytes[i] == b'.')) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(Refusal::over(
                "CRM_MAX_QUERY_TOKENS",
                limits.max_tokens,
                "tokens in the query text",
            ));
        }
    }
    Ok(Scan { tokens })
}

/// Names, numbers and their signs and exponents (`-1.5e3`).
fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'+')
}

/// The index after the string starting at `start` (a `"`): a block string ends at the next
/// `"""` not escaped as `\"""`, a string at the next unescaped `"` or at the end of the line.
/// As the parser does, a `"""` never closed is read as the empty string `""` followed by
/// the rest of the text (counted, so the parser never meets brackets the scan did not).
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return start + 2;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    i.min(bytes.len())
}

/// What [`check_document`] found out about a document that fits the limits.
#[derive(Debug, Clone, Copy)]
pub struct DocumentFacts {
    /// Every operation selects only what a request without credentials may ask: signing in,
    /// refreshing a session, introspection.
    pub public: bool,
    /// Every operation is a query.
    pub read_only: bool,
}

/// Measures a parsed document against the limits; nothing is expanded, each fragment is
/// measured once.
pub fn check_document(
    document: &ExecutableDocument,
    limits: &Limits,
) -> Result<DocumentFacts, Refusal> {
    let operations = document.operations.iter().count();
    if operations > limits.max_operations {
        return Err(Refusal::over(
            "CRM_MAX_OPERATIONS",
            limits.max_operations,
            "operations in the document",
        ));
    }
    let mut walker = Walker {
        document,
        limits,
        measured: HashMap::new(),
        open: Vec::new(),
        nesting: 0,
    };
    let mut total = Measure::default();
    let mut public = true;
    let mut read_only = true;
    for (_, operation) in document.operations.iter() {
        let operation = &operation.node;
        read_only &= operation.ty == OperationType::Query;
        walker.directives(&operation.directives)?;
        if operation.variable_definitions.len() > limits.max_variables {
            return Err(Refusal::over(
                "CRM_MAX_VARIABLES",
                limits.max_variables,
                "variables declared by one operation",
            ));
        }
        for variable in &operation.variable_definitions {
            walker.directives(&variable.node.directives)?;
            if let Some(default) = &variable.node.default_value {
                input_depth(&variable.node.name.node, &default.node, limits)?;
            }
        }
        let measure = walker.selection_set(&operation.selection_set.node, false)?;
        total = walker.add(total, measure)?;
        public &= is_public(document, operation.ty, &operation.selection_set.node);
    }
    // Fragments no operation uses are still walked by the validation.
    for (name, fragment) in &document.fragments {
        walker.fragment(name)?;
        walker.directives(&fragment.node.directives)?;
    }
    Ok(DocumentFacts { public, read_only })
}

/// Sizes of a selection set with its fragments expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    selections: usize,
    aliases: usize,
    /// Fields nested in a path of data (an introspection root counts one, what it selects
    /// none).
    data_depth: usize,
    /// Fields nested in any path.
    depth: usize,
    /// Introspection lists nested in one path.
    lists: usize,
}

struct Walker<'a> {
    document: &'a ExecutableDocument,
    limits: &'a Limits,
    /// Fragments measured, by name.
    measured: HashMap<&'a str, Measure>,
    /// Fragments being measured (a spread of one of them is a cycle).
    open: Vec<&'a str>,
    /// Selection sets entered and not left.
    nesting: usize,
}

impl<'a> Walker<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, intro: bool) -> Result<Measure, Refusal> {
        self.nesting += 1;
        let recursion = self.limits.recursion();
        if self.nesting > recursion {
            return Err(Refusal::over(
                "CRM_MAX_QUERY_DEPTH",
                recursion,
                "selection sets nested, fragments included",
            ));
        }
        let mut measure = Measure::default();
        for item in &set.items {
            self.directives(item.node.directives())?;
            let inner = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    for (name, value) in &field.arguments {
                        input_depth(&name.node, &value.node, self.limits)?;
                    }
                    let name = field.name.node.as_str();
                    let root = !intro && (name == "__schema" || name == "__type");
                    let below = intro || root;
                    let sub = if field.selection_set.node.items.is_empty() {
                        Measure::default()
                    } else {
                        self.selection_set(&field.selection_set.node, below)?
                    };
                    Measure {
                        selections: sub.selections + 1,
                        aliases: sub.aliases + usize::from(field.alias.is_some()),
                        data_depth: if intro {
                            0
                        } else if root {
                            1
                        } else {
                            sub.data_depth + 1
                        },
                        depth: sub.depth + 1,
                        lists: sub.lists + usize::from(below && LIST_FIELDS.contains(&name)),
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let fragment = self.fragment(&spread.node.fragment_name.node)?;
                    Measure {
                        selections: fragment.selections + 1,
                        ..fragment
                    }
                }
                Selection::InlineFragment(inline) => {
                    let sub = self.selection_set(&inline.node.selection_set.node, intro)?;
                    Measure {
                        selections: sub.selections + 1,
                        ..sub
                    }
                }
            };
            measure = self.add(measure, inner)?;
        }
        self.nesting -= 1;
        Ok(measure)
    }

    /// `a` and `b` side by side, within the limits. Depths are counted from the selection set
    /// being measured: the operation's own are the absolute ones.
    fn add(&self, a: Measure, b: Measure) -> Result<Measure, Refusal> {
        let limits = self.limits;
        let sum = Measure {
            selections: a.selections.saturating_add(b.selections),
            aliases: a.aliases.saturating_add(b.aliases),
            data_depth: a.data_depth.max(b.data_depth),
            depth: a.depth.max(b.depth),
            lists: a.lists.max(b.lists),
        };
        if sum.selections > limits.max_complexity {
            return Err(Refusal::over(
                "CRM_MAX_QUERY_COMPLEXITY",
                limits.max_complexity,
                "fields selected, fragments expanded",
            ));
        }
        if sum.aliases > limits.max_aliases {
            return Err(Refusal::over(
                "CRM_MAX_ALIASES",
                limits.max_aliases,
                "aliases, fragments expanded",
            ));
        }
        if sum.data_depth > limits.max_depth {
            return Err(Refusal::over(
                "CRM_MAX_QUERY_DEPTH",
                limits.max_depth,
                "fields nested in one path",
            ));
        }
        if sum.depth > limits.total_depth() {
            return Err(Refusal::over(
                "CRM_MAX_QUERY_DEPTH",
                limits.total_depth(),
                "fields nested in one path, introspection included",
            ));
        }
        if sum.lists > INTROSPECTION_LISTS {
            return Err(Refusal {
                code: codes::GRAPHQL_VALIDATION_FAILED,
                message: format!(
                    "introspection nests `fields`, `inputFields`, `interfaces` or \
                     `possibleTypes` more than {INTROSPECTION_LISTS} deep"
                ),
                limit: None,
                max: Some(INTROSPECTION_LISTS),
                field: None,
            });
        }
        Ok(sum)
    }

    /// The fragment `name` measured from its own selection set (once per document).
    fn fragment(&mut self, name: &'a Name) -> Result<Measure, Refusal> {
        let name = name.as_str();
        if let Some(measure) = self.measured.get(name) {
            return Ok(*measure);
        }
        if self.open.contains(&name) {
            return Err(Refusal {
                code: codes::GRAPHQL_VALIDATION_FAILED,
                message: format!("the fragment `{name}` spreads itself"),
                limit: None,
                max: None,
                field: None,
            });
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            // Unknown: the validation reports it.
            return Ok(Measure::default());
        };
        let intro = fragment.node.type_condition.node.on.node.starts_with("__");
        self.open.push(name);
        let measure = self.selection_set(&fragment.node.selection_set.node, intro);
        self.open.pop();
        let measure = measure?;
        self.measured.insert(name, measure);
        Ok(measure)
    }

    fn directives(&self, directives: &[Positioned<Directive>]) -> Result<(), Refusal> {
        let limits = self.limits;
        if directives.len() > limits.max_directives {
            return Err(Refusal::over(
                "CRM_MAX_DIRECTIVES",
                limits.max_directives,
                "directives in one place",
            ));
        }
        for directive in directives {
            for (name, value) in &directive.node.arguments {
                input_depth(&name.node, &value.node, limits)?;
            }
        }
        Ok(())
    }
}

/// [`value_depth`] of the value of the argument or variable `name`: `BAD_USER_INPUT` naming it.
fn input_depth<V: Nested>(name: &str, value: &V, limits: &Limits) -> Result<(), Refusal> {
    value_depth(value, 1, limits).map_err(|refusal| Refusal {
        code: codes::BAD_USER_INPUT,
        field: Some(name.to_owned()),
        ..refusal
    })
}

fn input_too_deep(limits: &Limits) -> Refusal {
    Refusal::over(
        "CRM_MAX_INPUT_DEPTH",
        limits.max_input_depth,
        "objects and lists nested in one input value",
    )
}

/// An input value: a literal of the document (variables in it) or a constant.
trait Nested {
    /// The items of a list or the fields of an object; `None` for a scalar.
    fn children(&self) -> Option<Box<dyn Iterator<Item = &Self> + '_>>;
}

impl Nested for Value {
    fn children(&self) -> Option<Box<dyn Iterator<Item = &Self> + '_>> {
        match self {
            Value::List(items) => Some(Box::new(items.iter())),
            Value::Object(fields) => Some(Box::new(fields.values())),
            _ => None,
        }
    }
}

impl Nested for ConstValue {
    fn children(&self) -> Option<Box<dyn Iterator<Item = &Self> + '_>> {
        match self {
            ConstValue::List(items) => Some(Box::new(items.iter())),
            ConstValue::Object(fields) => Some(Box::new(fields.values())),
            _ => None,
        }
    }
}

/// Checks that a value nests at most `max_input_depth` objects and lists (`depth`: the level
/// of `value`); never recurses past the limit.
fn value_depth<V: Nested>(value: &V, depth: usize, limits: &Limits) -> Result<(), Refusal> {
    let Some(children) = value.children() else {
        return Ok(());
    };
    if depth > limits.max_input_depth {
        return Err(input_too_deep(limits));
    }
    for child in children {
        value_depth(child, depth + 1, limits)?;
    }
    Ok(())
}

/// Checks the nesting and the size of a request's variables (JSON nested over 128 levels is
/// refused by the JSON parser before this), before they are hashed, validated or parsed.
pub fn check_variables(variables: &Variables, limits: &Limits) -> Result<(), Refusal> {
    let mut values = 0usize;
    for (name, value) in variables.iter() {
        input_depth(name, value, limits)?;
        let named = |refusal: Refusal| Refusal {
            code: codes::BAD_USER_INPUT,
            field: Some(name.to_string()),
            ..refusal
        };
        let mut pending = vec![value];
        while let Some(value) = pending.pop() {
            values += 1;
            if values > limits.max_input_values {
                return Err(named(Refusal::over(
                    "CRM_MAX_INPUT_VALUES",
                    limits.max_input_values,
                    "values in the variables",
                )));
            }
            if let Some(children) = value.children() {
                pending.extend(children);
            }
        }
    }
    Ok(())
}

/// Whether the root selections of an operation (fragments at the root included) are only
/// those a request without credentials may run.
fn is_public(document: &ExecutableDocument, ty: OperationType, set: &SelectionSet) -> bool {
    let allowed: &[&str] = match ty {
        OperationType::Query => &PUBLIC_QUERY_FIELDS,
        OperationType::Mutation => &PUBLIC_MUTATION_FIELDS,
        OperationType::Subscription => return false,
    };
    let mut pending = vec![set];
    let mut spread: Vec<&str> = Vec::new();
    while let Some(set) = pending.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    if !allowed.contains(&field.node.name.node.as_str()) {
                        return false;
                    }
                }
                Selection::InlineFragment(inline) => pending.push(&inline.node.selection_set.node),
                Selection::FragmentSpread(fragment) => {
                    let name = fragment.node.fragment_name.node.as_str();
                    if !spread.contains(&name) {
                        spread.push(name);
                        if let Some(fragment) = document.fragments.get(name) {
                            pending.push(&fragment.node.selection_set.node);
                        }
                    }
                }
            }
        }
    }
    true
}

/// Keeps the first `max_errors - 1` errors of a response and sums up the rest in one.
pub fn cap_errors(errors: &mut Vec<ServerError>, limits: &Limits) {
    let keep = limits.max_errors.max(1) - 1;
    if errors.len() <= limits.max_errors.max(1) {
        return;
    }
    let dropped = errors.len() - keep;
    errors.truncate(keep);
    errors.push(
        Refusal {
            code: codes::TOO_MANY_ERRORS,
            message: format!("{dropped} more errors not shown (CRM_MAX_ERRORS)"),
            limit: Some("CRM_MAX_ERRORS"),
            max: Some(limits.max_errors),
            field: None,
        }
        .into_server_error(),
    );
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<DocumentFacts, Refusal> {
        let limits = Limits::default();
        scan(text, &limits)?;
        let document = async_graphql::parser::parse_query(text).expect("parses");
        check_document(&document, &limits)
    }

    fn refused_by(text: &str) -> Option<&'static str> {
        check(text)
            .err()
            .map(|refusal| refusal.limit.unwrap_or(refusal.code))
    }

    /// `{ ...F<levels> }`, each fragment spreading the one below twice: 2^levels fields.
    fn fan_out(levels: usize) -> String {
        let mut text = format!("{{ ...F{levels} }} fragment F0 on Query {{ __typename }}");
        for k in 1..=levels {
            text.push_str(&format!(
                " fragment F{k} on Query {{ ...F{j} ...F{j} }}",
                j = k - 1
            ));
        }
        text
    }

    #[test]
    fn the_introspection_query_of_graphql_js_fits() {
        let text = include_str!("../../tests/api/fixtures/introspection.graphql");
        let facts = check(text).expect("admitted");
        assert!(facts.public && facts.read_only);
    }

    #[test]
    fn fragments_are_measured_expanded_without_expanding_them() {
        // 2^10 = 1,024 fields, plus the spreads: within 2,000.
        assert!(check(&fan_out(9)).is_ok());
        assert_eq!(refused_by(&fan_out(11)), Some("CRM_MAX_QUERY_COMPLEXITY"));
        // 2^28: measured once per fragment, refused at once.
        assert_eq!(refused_by(&fan_out(28)), Some("CRM_MAX_QUERY_COMPLEXITY"));
        // Deeper than async-graphql's recursion limit: refused for that first.
        assert_eq!(refused_by(&fan_out(60)), Some("CRM_MAX_QUERY_DEPTH"));
        // A fragment no operation uses is measured too (the validation walks it).
        let unused = fan_out(28).replacen("{ ...F28 }", "{ __typename }", 1);
        assert_eq!(refused_by(&unused), Some("CRM_MAX_QUERY_COMPLEXITY"));
        assert_eq!(
            refused_by("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
            Some("GRAPHQL_VALIDATION_FAILED")
        );
    }

    #[test]
    fn fields_aliases_and_depth_count() {
        let aliases = |n: usize| {
            let fields: String = (0..n).map(|i| format!("a{i}: __typename ")).collect();
            format!("{{ {fields} }}")
        };
        assert!(check(&aliases(200)).is_ok());
        assert_eq!(refused_by(&aliases(201)), Some("CRM_MAX_ALIASES"));
        let plain = format!("{{ {} }}", "__typename ".repeat(2_001));
        assert_eq!(refused_by(&plain), Some("CRM_MAX_QUERY_COMPLEXITY"));
        let deep = |n: usize| {
            let mut text = "id".to_owned();
            for _ in 1..n {
                text = format!("client {{ {text} }}");
            }
            format!("{{ {text} }}")
        };
        assert!(check(&deep(12)).is_ok());
        assert_eq!(refused_by(&deep(13)), Some("CRM_MAX_QUERY_DEPTH"));
        // Through fragments as well.
        let through = "{ a { ...F } } fragment F on X { b { c { d { e { f { g { h { i { j { k { l { m } } } } } } } } } } } }";
        assert_eq!(refused_by(through), Some("CRM_MAX_QUERY_DEPTH"));
        // A chain of fragments nests selection sets without fields.
        let mut chain = "{ ...F0 }".to_owned();
        for k in 0..40 {
            chain.push_str(&format!(" fragment F{k} on Query {{ ...F{} }}", k + 1));
        }
        chain.push_str(" fragment F40 on Query { __typename }");
        assert_eq!(refused_by(&chain), Some("CRM_MAX_QUERY_DEPTH"));
    }

    #[test]
    fn introspection_may_nest_deeper_but_not_multiply_its_lists() {
        let mut of_type = "name".to_owned();
        for _ in 0..9 {
            of_type = format!("ofType {{ {of_type} }}");
        }
        let deep = format!(
            "{{ __schema {{ types {{ fields {{ args {{ type {{ {of_type} }} }} }} }} }} }}"
        );
        assert!(check(&deep).is_ok());
        let lists =
            "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
        let two = "{ __schema { types { fields { type { fields { name } } } } } }";
        assert!(check(two).is_ok());
        assert_eq!(refused_by(lists), Some("GRAPHQL_VALIDATION_FAILED"));
        // Data under an introspection root's name is not introspection.
        let mut data = "id".to_owned();
        for _ in 0..13 {
            data = format!("client {{ {data} }}");
        }
        assert_eq!(
            refused_by(&format!("{{ {data} }}")),
            Some("CRM_MAX_QUERY_DEPTH")
        );
    }

    #[test]
    fn directives_variables_operations_and_input_nesting_are_capped() {
        let directives = |n: usize| format!("{{ __typename {} }}", "@include(if: true) ".repeat(n));
        assert!(check(&directives(8)).is_ok());
        assert_eq!(refused_by(&directives(9)), Some("CRM_MAX_DIRECTIVES"));
        let variables = |n: usize| {
            let list: String = (0..n).map(|i| format!("$v{i}: Int ")).collect();
            format!("query({list}) {{ __typename }}")
        };
        assert!(check(&variables(50)).is_ok());
        assert_eq!(refused_by(&variables(51)), Some("CRM_MAX_VARIABLES"));
        let operations = |n: usize| -> String {
            (0..n)
                .map(|i| format!("query Q{i} {{ __typename }} "))
                .collect()
        };
        assert!(check(&operations(20)).is_ok());
        assert_eq!(refused_by(&operations(21)), Some("CRM_MAX_OPERATIONS"));
        let nested = |n: usize| {
            let mut value = "{ companyName: { eq: \"x\" } }".to_owned();
            for _ in 1..n {
                value = format!("{{ not: {value} }}");
            }
            format!("{{ clients(filter: {value}) {{ totalCount }} }}")
        };
        // The filter's own object, then `companyName`'s: n + 1 levels.
        assert!(check(&nested(15)).is_ok());
        let refusal = check(&nested(16)).expect_err("too deep");
        assert_eq!(refusal.limit, Some("CRM_MAX_INPUT_DEPTH"));
        assert_eq!(refusal.field.as_deref(), Some("filter"));
        // 300 levels: refused by the text scan, before the parser recurses.
        assert_eq!(refused_by(&nested(300)), Some("CRM_MAX_QUERY_DEPTH"));
        let list = format!("{{ a(x: {}1{}) }}", "[".repeat(17), "]".repeat(17));
        assert_eq!(refused_by(&list), Some("CRM_MAX_INPUT_DEPTH"));
    }

    #[test]
    fn the_scan_skips_strings_and_comments_and_counts_tokens() {
        let limits = Limits::default();
        let brackets = "{".repeat(100);
        let quoted = format!(
            "{{ a(s: \"{brackets}\", b: \"\"\"{brackets} \\\"\"\" {brackets}\"\"\") # {brackets}\n }}"
        );
        assert_eq!(scan(&quoted, &limits).expect("scanned").tokens, 11);
        assert!(scan(&brackets, &limits).is_err());
        let words = "a ".repeat(10_001);
        let refusal = scan(&words, &limits).expect_err("too many tokens");
        assert_eq!(refusal.limit, Some("CRM_MAX_QUERY_TOKENS"));
        // A block string never closed is the empty string `""` to the parser, followed by the
        // rest of the text: the scan counts what the parser will read. Either the scan refuses,
        // or the parser stops at a string it cannot close before any of the brackets.
        for open in ["\"\"\"", "\"\"\"\"", "\"\"\"\"\"", "\"\"\"a\""] {
            let deep = format!("{{ a(x: [{open}]) {} }}", "{ b ".repeat(5_000));
            if scan(&deep, &limits).is_ok() {
                assert!(async_graphql::parser::parse_query(&deep).is_err(), "{open}");
            }
        }
        let deep = format!("{{ a(x: [\"\"\"\"]) {} }}", "{ b ".repeat(5_000));
        assert!(scan(&deep, &limits).is_err());
        // `...`, names, numbers and punctuation.
        assert_eq!(
            scan("{ ...F x(n: -1.5e3) }", &limits)
                .expect("scanned")
                .tokens,
            10
        );
    }

    #[test]
    fn variables_are_checked_for_nesting() {
        let limits = Limits::default();
        let mut value = serde_json::json!("x");
        for _ in 0..17 {
            value = serde_json::json!({ "not": value });
        }
        let variables = Variables::from_json(serde_json::json!({ "f": value }));
        let refusal = check_variables(&variables, &limits).expect_err("too deep");
        assert_eq!(
            (refusal.code, refusal.field.as_deref()),
            ("BAD_USER_INPUT", Some("f"))
        );
        let fine = Variables::from_json(serde_json::json!({ "f": { "a": [1, 2, { "b": 3 }] } }));
        assert!(check_variables(&fine, &limits).is_ok());
        // The list and its items, over two variables.
        let values = |n: usize| {
            Variables::from_json(serde_json::json!({ "a": vec![1; n], "b": vec![1; n] }))
        };
        assert!(check_variables(&values(999), &limits).is_ok());
        let refusal = check_variables(&values(1_000), &limits).expect_err("too many values");
        assert_eq!(refusal.limit, Some("CRM_MAX_INPUT_VALUES"));
    }

    #[test]
    fn errors_past_the_cap_are_summed_up_in_one() {
        let limits = Limits::default();
        let mut errors: Vec<ServerError> = (0..120)
            .map(|i| ServerError::new(format!("e{i}"), None))
            .collect();
        cap_errors(&mut errors, &limits);
        assert_eq!(errors.len(), 50);
        assert!(errors[48].message == "e48" && errors[49].message.starts_with("71 more"));
        let mut few: Vec<ServerError> = (0..50)
            .map(|i| ServerError::new(format!("e{i}"), None))
            .collect();
        cap_errors(&mut few, &limits);
        assert_eq!(few.len(), 50);
    }
}
