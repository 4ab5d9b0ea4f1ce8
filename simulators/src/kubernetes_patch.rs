//! The three PATCH flavours of the Kubernetes API server, on plain JSON:
//! RFC 7386 merge patch, strategic merge patch (lists merged by key) and
//! RFC 6902 JSON Patch.

use serde_json::{Map, Value};

/// RFC 7386: objects merge recursively, `null` deletes a key, anything else
/// (arrays included) replaces the target whole.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// The merge key of list field `field` for an element like `item`, as in
/// the `patchMergeKey` tags of the built-in types; `None` = replace whole.
fn merge_key(field: &str, item: &Value) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => Some("name"),
        "hostAliases" => Some("ip"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "ports" => Some(if item.get("containerPort").is_some() {
            "containerPort"
        } else {
            "port"
        }),
        "conditions" => Some("type"),
        _ => None,
    }
}

/// Strategic merge patch: like [`merge_patch`], but lists with a merge key
/// (`containers` by `name`, `ports` by `containerPort`/`port`, `env` by
/// `name`, ...) merge element-wise; honours `$patch: replace|delete` and
/// ignores `$setElementOrder/...` / `$retainKeys` directives.
pub fn strategic_merge(target: &mut Value, patch: &Value) -> Result<(), String> {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replaced = p.clone();
        replaced.remove("$patch");
        *target = Value::Object(replaced);
        return Ok(());
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let t = target.as_object_mut().expect("object");
    for (k, v) in p {
        if k.starts_with('$') {
            if k == "$patch" && v.as_str() == Some("delete") {
                t.clear();
            }
            continue;
        }
        match v {
            Value::Null => {
                t.remove(k);
            }
            Value::Array(items) => {
                let key = items.first().and_then(|i| merge_key(k, i));
                match (key, t.get_mut(k)) {
                    (Some(key), Some(Value::Array(current))) => {
                        merge_list(current, items, key)?;
                    }
                    _ => {
                        let cleaned: Vec<Value> = items
                            .iter()
                            .filter(|i| i.get("$patch").is_none())
                            .cloned()
                            .collect();
                        t.insert(k.clone(), Value::Array(cleaned));
                    }
                }
            }
            Value::Object(_) => {
                strategic_merge(t.entry(k.clone()).or_insert(Value::Null), v)?;
            }
            other => {
                t.insert(k.clone(), other.clone());
            }
        }
    }
    Ok(())
}

fn merge_list(current: &mut Vec<Value>, items: &[Value], key: &str) -> Result<(), String> {
    for item in items {
        let Some(id) = item.get(key) else {
            return Err(format!(
                "map: {item} does not contain declared merge key: {key}"
            ));
        };
        let position = current.iter().position(|c| c.get(key) == Some(id));
        let directive = item.get("$patch").and_then(Value::as_str);
        match (directive, position) {
            (Some("delete"), Some(i)) => {
                current.remove(i);
            }
            (Some("delete"), None) => {}
            (_, Some(i)) => strategic_merge(&mut current[i], item)?,
            (_, None) => {
                let mut fresh = Value::Null;
                strategic_merge(&mut fresh, item)?;
                current.push(fresh);
            }
        }
    }
    Ok(())
}

/// Why a JSON Patch failed: `Err(Bad(..))` = undecodable (400),
/// `Err(Failed(..))` = an operation did not apply (422).
#[derive(Debug)]
pub enum JsonPatchError {
    Bad(String),
    Failed(String),
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn tokens(path: &str) -> Result<Vec<String>, JsonPatchError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(JsonPatchError::Bad(format!(
            "invalid JSON pointer {path:?}: must start with /"
        )));
    };
    Ok(rest.split('/').map(unescape).collect())
}

fn index(token: &str, len: usize, allow_end: bool) -> Option<usize> {
    if allow_end && token == "-" {
        return Some(len);
    }
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    let i: usize = token.parse().ok()?;
    let max = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    (i <= max && (allow_end || len > 0)).then_some(i)
}

fn parent<'a>(doc: &'a mut Value, toks: &[String], path: &str) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m
                .get_mut(t)
                .ok_or_else(|| format!("doc is missing path: {path}"))?,
            Value::Array(a) => {
                let i = index(t, a.len(), false)
                    .ok_or_else(|| format!("doc is missing path: {path}"))?;
                &mut a[i]
            }
            _ => return Err(format!("doc is missing path: {path}")),
        };
    }
    Ok(cur)
}

fn get<'a>(doc: &'a Value, toks: &[String]) -> Option<&'a Value> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get(t)?,
            Value::Array(a) => a.get(index(t, a.len(), false)?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let toks = tokens(path).map_err(|_| format!("invalid path {path}"))?;
    let Some((last, init)) = toks.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, init, path)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            let i = index(last, a.len(), true).ok_or_else(|| {
                format!("add operation does not apply: index out of bounds: {path}")
            })?;
            a.insert(i, value);
        }
        _ => {
            return Err(format!(
                "add operation does not apply: doc is missing path: {path}"
            ));
        }
    }
    Ok(())
}

fn remove(doc: &mut Value, path: &str, op: &str) -> Result<Value, String> {
    let toks = tokens(path).map_err(|_| format!("invalid path {path}"))?;
    let Some((last, init)) = toks.split_last() else {
        return Err(format!(
            "{op} operation does not apply: cannot remove the root"
        ));
    };
    let missing = || format!("{op} operation does not apply: doc is missing path: \"{path}\"");
    match parent(doc, init, path).map_err(|_| missing())? {
        Value::Object(m) => m.remove(last).ok_or_else(missing),
        Value::Array(a) => {
            let i = index(last, a.len(), false).ok_or_else(missing)?;
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

/// Applies an RFC 6902 patch (`add`, `remove`, `replace`, `move`, `copy`,
/// `test`) to `doc`, all or nothing.
pub fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), JsonPatchError> {
    let Value::Array(ops) = patch else {
        return Err(JsonPatchError::Bad(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch".into(),
        ));
    };
    let mut work = doc.clone();
    for op in ops {
        let name = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| JsonPatchError::Bad(format!("operation missing path: {op}")))?;
        tokens(path)?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| JsonPatchError::Bad(format!("missing value for op {name}: {op}")))
        };
        let from = || {
            op.get("from")
                .and_then(Value::as_str)
                .ok_or_else(|| JsonPatchError::Bad(format!("missing from for op {name}: {op}")))
        };
        let failed = JsonPatchError::Failed;
        match name {
            "add" => add(&mut work, path, value()?).map_err(failed)?,
            "remove" => {
                remove(&mut work, path, "remove").map_err(failed)?;
            }
            "replace" => {
                let v = value()?;
                if path.is_empty() {
                    work = v;
                } else {
                    remove(&mut work, path, "replace").map_err(failed)?;
                    add(&mut work, path, v).map_err(failed)?;
                }
            }
            "move" => {
                let from = from()?;
                let v = remove(&mut work, from, "move").map_err(failed)?;
                add(&mut work, path, v).map_err(failed)?;
            }
            "copy" => {
                let from = from()?;
                let v = get(&work, &tokens(from)?).cloned().ok_or_else(|| {
                    failed(format!(
                        "copy operation does not apply: doc is missing from path: {from}"
                    ))
                })?;
                add(&mut work, path, v).map_err(failed)?;
            }
            "test" => {
                let expected = value()?;
                match get(&work, &tokens(path)?) {
                    Some(actual) if *actual == expected => {}
                    Some(_) => {
                        return Err(failed(format!("testing value {path} failed: test failed")));
                    }
                    None => {
                        return Err(failed(format!(
                            "testing value {path} failed: doc is missing path: {path}"
                        )));
                    }
                }
            }
            other => {
                return Err(JsonPatchError::Bad(format!("Unexpected kind: {other}")));
            }
        }
    }
    *doc = work;
    Ok(())
}
