//! `/api/v1/docs`: the OpenAPI document as a page people read (no script: tables of the
//! endpoints, their parameters and answers, and the shapes of the JSON), drawn from the same
//! document that `/api/v1/openapi.json` serves, so the two cannot disagree.

use askama::Template;
use serde_json::Value;

#[derive(Template)]
#[template(path = "api_docs.html")]
pub struct ReferencePage<'a> {
    pub chrome: crate::web::Chrome,
    pub r: &'a Reference,
}

/// What the page shows, read once from the document.
pub struct Reference {
    title: String,
    description: String,
    endpoints: Vec<Endpoint>,
    schemas: Vec<SchemaView>,
}

struct Endpoint {
    method: String,
    path: String,
    anchor: String,
    summary: String,
    description: String,
    /// Which scope a token needs; empty for the public reads.
    security: String,
    params: Vec<Row>,
    body: String,
    responses: Vec<Row>,
}

/// A line of a table: a name, its type (HTML-safe text and an optional link), whether it is
/// required, and what it means.
struct Row {
    name: String,
    kind: String,
    link: String,
    required: bool,
    description: String,
}

struct SchemaView {
    name: String,
    description: String,
    fields: Vec<Row>,
}

/// The endpoints and schemas of `doc`, for the page.
pub fn read(doc: &utoipa::openapi::OpenApi) -> Reference {
    let v = serde_json::to_value(doc).unwrap_or_default();
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let mut endpoints = Vec::new();
    for (path, item) in v["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let params = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let (kind, link) = type_of(&p["schema"]);
                    Row {
                        name: format!("{} ({})", text(p, "name"), text(p, "in")),
                        kind,
                        link,
                        required: p["required"].as_bool().unwrap_or(false),
                        description: text(p, "description"),
                    }
                })
                .collect();
            let body = op["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|c| type_of(&c["schema"]).0)
                .unwrap_or_default();
            let responses = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, r)| {
                    let (kind, link) = r["content"]
                        .as_object()
                        .and_then(|c| c.values().next())
                        .map(|c| type_of(&c["schema"]))
                        .unwrap_or_default();
                    Row {
                        name: status.clone(),
                        kind,
                        link,
                        required: false,
                        description: text(r, "description"),
                    }
                })
                .collect();
            let security = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .flat_map(|s| s.values())
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            endpoints.push(Endpoint {
                method: method.to_uppercase(),
                anchor: format!("{method}-{}", path.replace(['/', '{', '}'], "-")),
                path: path.clone(),
                summary: text(op, "summary"),
                description: text(op, "description"),
                security,
                params,
                body,
                responses,
            });
        }
    }
    let schemas = v["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| {
            let required: Vec<&str> = s["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            SchemaView {
                name: name.clone(),
                description: text(s, "description"),
                fields: s["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(field, f)| {
                        let (kind, link) = type_of(f);
                        Row {
                            required: required.contains(&field.as_str()),
                            name: field.clone(),
                            kind,
                            link,
                            description: text(f, "description"),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    Reference {
        title: text(&v["info"], "title"),
        description: text(&v["info"], "description"),
        endpoints,
        schemas,
    }
}

/// A schema's type in words, and the anchor of the named schema it refers to (if any).
fn type_of(s: &Value) -> (String, String) {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r).to_string();
        return (name.clone(), format!("#schema-{name}"));
    }
    if let Some(any) = s["oneOf"].as_array().or(s["anyOf"].as_array()) {
        let kinds: Vec<(String, String)> = any.iter().map(type_of).collect();
        let link = kinds.iter().map(|k| k.1.clone()).find(|l| !l.is_empty());
        let words: Vec<String> = kinds.into_iter().map(|k| k.0).collect();
        return (words.join(" or "), link.unwrap_or_default());
    }
    let kinds: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let words: Vec<String> = kinds
        .iter()
        .map(|k| match *k {
            "array" => format!("list of {}", type_of(&s["items"]).0),
            other => other.to_string(),
        })
        .collect();
    let link = if kinds.contains(&"array") {
        type_of(&s["items"]).1
    } else {
        String::new()
    };
    (words.join(" or "), link)
}
