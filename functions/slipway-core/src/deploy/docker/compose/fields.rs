//! Compose → Engine API for single fields: environment and labels,
//! durations, health checks, ports, restart policies and secret references.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{
    ComposeError, ComposeFile, Healthcheck, KeyValues, Port, PortLong, RestartPolicy, Scalar,
    SecretUse, Service, StringOrList,
};
use crate::deploy::docker::engine::parse_duration_ns;

pub(super) fn key_values(
    kv: &Option<KeyValues>,
    path: &str,
) -> Result<BTreeMap<String, String>, ComposeError> {
    let mut out = BTreeMap::new();
    match kv {
        None => {}
        Some(KeyValues::Map(map)) => {
            for (k, v) in map {
                let v = v.as_ref().ok_or_else(|| {
                    ComposeError::at(
                        format!("{path}.{k}"),
                        "needs a value (nothing is taken from a shell)",
                    )
                })?;
                out.insert(k.clone(), v.text());
            }
        }
        Some(KeyValues::List(list)) => {
            for (i, item) in list.iter().enumerate() {
                let (k, v) = item.split_once('=').ok_or_else(|| {
                    ComposeError::at(
                        format!("{path}[{i}]"),
                        "needs KEY=value (nothing is taken from a shell)",
                    )
                })?;
                out.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    Ok(out)
}

pub(super) fn duration(text: &Option<String>, path: &str) -> Result<Option<u64>, ComposeError> {
    text.as_deref()
        .map(|t| {
            parse_duration_ns(t).map_err(|_| {
                ComposeError::at(path, format!("{t:?} is not a duration like \"10s\""))
            })
        })
        .transpose()
}

pub(super) fn words(v: &StringOrList) -> Vec<String> {
    match v {
        StringOrList::One(s) => vec!["/bin/sh".into(), "-c".into(), s.clone()],
        StringOrList::List(l) => l.iter().map(Scalar::text).collect(),
    }
}

/// A file mode: YAML 1.1 octal (`0440`) as Compose reads it, `0o440`, or
/// a decimal number.
fn file_mode(mode: &Scalar, path: &str) -> Result<u32, ComposeError> {
    let text = mode.text();
    let parsed = match text.strip_prefix("0o").or_else(|| text.strip_prefix('0')) {
        Some(octal) if !octal.is_empty() => u32::from_str_radix(octal, 8).ok(),
        _ => text.parse().ok(),
    };
    parsed
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| ComposeError::at(path, format!("{text:?} is not a file mode")))
}

pub(super) fn one_of(
    value: &Option<String>,
    allowed: &[&str],
    path: &str,
) -> Result<(), ComposeError> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => Err(ComposeError::at(
            path,
            format!("{v:?} is not one of {}", allowed.join(", ")),
        )),
        _ => Ok(()),
    }
}

pub(super) fn restart_policy(r: &RestartPolicy, path: &str) -> Result<Value, ComposeError> {
    one_of(
        &r.condition,
        &["none", "on-failure", "any"],
        &format!("{path}.condition"),
    )?;
    let mut out = Map::new();
    if let Some(c) = &r.condition {
        out.insert("Condition".into(), json!(c));
    }
    if let Some(d) = duration(&r.delay, &format!("{path}.delay"))? {
        out.insert("Delay".into(), json!(d));
    }
    if let Some(m) = r.max_attempts {
        out.insert("MaxAttempts".into(), json!(m));
    }
    if let Some(w) = duration(&r.window, &format!("{path}.window"))? {
        out.insert("Window".into(), json!(w));
    }
    Ok(Value::Object(out))
}

pub(super) fn healthcheck(h: &Healthcheck, path: &str) -> Result<Value, ComposeError> {
    if h.disable {
        return Ok(json!({ "Test": ["NONE"] }));
    }
    let test = match &h.test {
        None => Vec::new(),
        Some(StringOrList::One(line)) => vec!["CMD-SHELL".to_owned(), line.clone()],
        Some(list) => {
            let l = words(list);
            if !matches!(
                l.first().map(String::as_str),
                Some("CMD" | "CMD-SHELL" | "NONE")
            ) {
                return Err(ComposeError::at(
                    format!("{path}.test"),
                    "must start with CMD, CMD-SHELL or NONE",
                ));
            }
            l
        }
    };
    let mut out = Map::new();
    if !test.is_empty() {
        out.insert("Test".into(), json!(test));
    }
    for (key, value, name) in [
        ("Interval", &h.interval, "interval"),
        ("Timeout", &h.timeout, "timeout"),
        ("StartPeriod", &h.start_period, "start_period"),
    ] {
        if let Some(ns) = duration(value, &format!("{path}.{name}"))? {
            out.insert(key.into(), json!(ns));
        }
    }
    if let Some(r) = h.retries {
        out.insert("Retries".into(), json!(r));
    }
    Ok(Value::Object(out))
}

fn protocol(p: &str, path: &str) -> Result<String, ComposeError> {
    match p {
        "tcp" | "udp" | "sctp" => Ok(p.to_owned()),
        other => Err(ComposeError::at(
            path,
            format!("unknown protocol {other:?}"),
        )),
    }
}

/// `"[published:]target[/protocol]"` in the long form.
fn short_port(text: &str, path: &str) -> Result<PortLong, ComposeError> {
    let bad = |why: &str| ComposeError::at(path, format!("{text:?}: {why}"));
    let (ports, proto) = match text.split_once('/') {
        Some((p, proto)) => (p, Some(proto.to_owned())),
        None => (text, None),
    };
    if ports.contains('-') {
        return Err(bad("port ranges are not supported"));
    }
    let number = |s: &str| s.parse::<u16>().map_err(|_| bad("not a port number"));
    let (published, target) = match ports.split(':').collect::<Vec<_>>().as_slice() {
        [target] => (None, number(target)?),
        [published, target] => (Some(number(published)?), number(target)?),
        _ => return Err(bad("a host address is not supported on a swarm")),
    };
    Ok(PortLong {
        target,
        published,
        protocol: proto,
        mode: None,
    })
}

pub(super) fn port(p: &Port, path: &str) -> Result<Value, ComposeError> {
    let long = match p {
        Port::Short(s) => short_port(&s.text(), path)?,
        Port::Long(l) => l.clone(),
    };
    one_of(&long.mode, &["ingress", "host"], &format!("{path}.mode"))?;
    let mut out = json!({
        "Protocol": protocol(long.protocol.as_deref().unwrap_or("tcp"), &format!("{path}.protocol"))?,
        "TargetPort": long.target,
        "PublishMode": long.mode.as_deref().unwrap_or("ingress"),
    });
    if let Some(p) = long.published {
        out["PublishedPort"] = json!(p);
    }
    Ok(out)
}

pub(super) fn secret_refs(
    file: &ComposeFile,
    s: &Service,
    path: &str,
) -> Result<Vec<Value>, ComposeError> {
    let mut out = Vec::new();
    for (i, use_) in s.secrets.iter().enumerate() {
        let (source, target, uid, gid, mode) = match use_ {
            SecretUse::Short(name) => (name, None, None, None, None),
            SecretUse::Long(l) => {
                let mode = l
                    .mode
                    .as_ref()
                    .map(|m| file_mode(m, &format!("{path}[{i}].mode")));
                (
                    &l.source,
                    l.target.clone(),
                    l.uid.clone(),
                    l.gid.clone(),
                    mode.transpose()?,
                )
            }
        };
        let def = file.secrets.get(source).ok_or_else(|| {
            ComposeError::at(
                format!("{path}[{i}]"),
                format!("secret {source:?} is not defined under secrets"),
            )
        })?;
        let name = def.name.clone().unwrap_or_else(|| source.clone());
        out.push(json!({
            "File": {
                "Name": target.unwrap_or_else(|| source.clone()),
                "UID": uid.unwrap_or_else(|| "0".into()),
                "GID": gid.unwrap_or_else(|| "0".into()),
                "Mode": mode.unwrap_or(0o444),
            },
            "SecretName": name,
            "SecretID": "",
        }));
    }
    Ok(out)
}
