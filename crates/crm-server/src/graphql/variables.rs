//! Variables checked before execution, as the GraphQL specification coerces them.
//!
//! async-graphql's validation asks each scalar whether a value is valid, but its `UUID` scalar
//! has no validator: a malformed id in a variable (`$id`, or `$input.clientId`) passed
//! validation and failed only when the field ran, as a field error of an executed request
//! (`200` with `"data": null` under `application/graphql-response+json`). This walks every
//! variable's value along its declared type, through input objects and lists, using the
//! schema's own definitions, and refuses a value that is not a UUID where one is expected:
//! a request error (`400`, no `data`), like any other variable of the wrong type. A required
//! variable without a value (async-graphql reports it when the field runs) is refused the same
//! way.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Type, TypeKind, TypeSystemDefinition,
};
use async_graphql::{ErrorExtensions, ServerError, Value, Variables};

/// The schema's input objects, to check variables' values against their declared types: a
/// required variable is given, and a UUID is a UUID.
#[derive(Debug, Default)]
pub struct VariableTypes {
    /// Input object name → its fields (name, type).
    inputs: HashMap<String, Vec<(String, Type)>>,
}

const UUID: &str = "UUID";

impl VariableTypes {
    /// From the schema's SDL.
    pub fn from_sdl(sdl: &str) -> VariableTypes {
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            return VariableTypes::default();
        };
        let mut inputs = HashMap::new();
        for definition in document.definitions {
            let TypeSystemDefinition::Type(definition) = definition else {
                continue;
            };
            let definition = definition.node;
            if let TypeKind::InputObject(object) = definition.kind {
                let fields = object
                    .fields
                    .into_iter()
                    .map(|field| (field.node.name.node.to_string(), field.node.ty.node))
                    .collect();
                inputs.insert(definition.name.node.to_string(), fields);
            }
        }
        VariableTypes { inputs }
    }

    /// The first variable of the operation `name` of `document` that is missing while required,
    /// or holds something else than a UUID where its type expects one.
    /// [`VariableTypes::check`] on a request's own document and variables (a request whose
    /// text does not parse passes: async-graphql reports the syntax error).
    pub fn check_request(&self, request: &mut async_graphql::Request) -> Result<(), ServerError> {
        // The variables are taken out while the document is borrowed, then put back.
        let variables = std::mem::take(&mut request.variables);
        let name = request.operation_name.clone();
        let checked = match request.parsed_query() {
            Ok(document) => self.check(document, name.as_deref(), &variables),
            Err(_) => Ok(()),
        };
        request.variables = variables;
        checked
    }

    pub fn check(
        &self,
        document: &ExecutableDocument,
        name: Option<&str>,
        variables: &Variables,
    ) -> Result<(), ServerError> {
        let Some(operation) = super::http::selected_operation(document, name) else {
            return Ok(());
        };
        for definition in &operation.node.variable_definitions {
            let variable = &definition.node.name.node;
            let ty = &definition.node.var_type.node;
            let value = variables.get(variable);
            if !ty.nullable
                && value.is_none_or(|value| *value == Value::Null)
                && definition.node.default_value.is_none()
            {
                let message =
                    format!("Variable \"${variable}\" of required type \"{ty}\" was not provided");
                let error = async_graphql::Error::new(message).extend_with(|_, ext| {
                    ext.set("code", crate::error::codes::BAD_USER_INPUT);
                    ext.set("field", variable.as_str());
                });
                return Err(error.into_server_error(definition.pos));
            }
            let Some(value) = value else {
                continue;
            };
            let mut path = format!("${variable}");
            if let Err(path) = self.walk(&definition.node.var_type.node, value, &mut path) {
                let message = format!(
                    "Variable \"${variable}\" got an invalid value: {path} is not a valid UUID"
                );
                let error = async_graphql::Error::new(message).extend_with(|_, ext| {
                    ext.set("code", crate::error::codes::BAD_USER_INPUT);
                    ext.set("field", variable.as_str());
                });
                return Err(error.into_server_error(definition.pos));
            }
        }
        Ok(())
    }

    /// `Err(path)` of the first value that should be a UUID and is not.
    fn walk(&self, ty: &Type, value: &Value, path: &mut String) -> Result<(), String> {
        if *value == Value::Null {
            return Ok(());
        }
        match &ty.base {
            BaseType::List(inner) => match value {
                Value::List(items) => {
                    for (index, item) in items.iter().enumerate() {
                        let length = path.len();
                        path.push_str(&format!("[{index}]"));
                        self.walk(inner, item, path)?;
                        path.truncate(length);
                    }
                    Ok(())
                }
                // A single value stands for a list of one.
                single => self.walk(inner, single, path),
            },
            BaseType::Named(name) if name.as_str() == UUID => match value {
                Value::String(text) if uuid::Uuid::parse_str(text).is_ok() => Ok(()),
                _ => Err(path.clone()),
            },
            BaseType::Named(name) => {
                let (Some(fields), Value::Object(object)) = (self.inputs.get(name.as_str()), value)
                else {
                    return Ok(());
                };
                for (field, field_type) in fields {
                    if let Some(value) = object.get(field.as_str()) {
                        let length = path.len();
                        path.push('.');
                        path.push_str(field);
                        self.walk(field_type, value, path)?;
                        path.truncate(length);
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_checked_wherever_a_variable_holds_one() {
        let types = VariableTypes::from_sdl(
            "input F { id: UUIDFilter, and: [F!] } input UUIDFilter { eq: UUID, in: [UUID!] }
             type Query { a(id: UUID!, f: F): Int }",
        );
        let document = async_graphql::parser::parse_query(
            "query($id: UUID!, $ids: [UUID!], $f: F) { a(id: $id, f: $f) }",
        );
        let Ok(document) = document else {
            unreachable!("the document parses");
        };
        let good = "0192f3c4-0000-7000-8000-000000000001";
        let check = |variables: serde_json::Value| {
            types
                .check(&document, None, &Variables::from_json(variables))
                .map_err(|err| err.message)
        };
        let refused = |variables| check(variables).err().unwrap_or_default();
        assert_eq!(
            check(
                serde_json::json!({ "id": good, "ids": [good], "f": { "and": [{ "id": { "in": [good] } }] } })
            ),
            Ok(())
        );
        assert!(refused(serde_json::json!({ "id": null })).contains("required type \"UUID!\""));
        assert!(refused(serde_json::json!({})).contains("was not provided"));
        assert!(refused(serde_json::json!({ "id": "nope" })).contains("$id is not"));
        assert!(
            refused(serde_json::json!({ "id": good, "ids": [good, 5] })).contains("$ids[1] is not")
        );
        assert!(
            refused(
                serde_json::json!({ "id": good, "f": { "and": [{ "id": { "in": [good, "x"] } }] } })
            )
            .contains("$f.and[0].id.in[1] is not")
        );
    }
}
