//! A small Kubernetes REST client over [`HttpClient`]: bearer auth, JSON
//! bodies, `Status` error objects and re-GET-and-retry on 409 Conflict.

use serde_json::{Value, json};

use super::KubernetesEnv;
use crate::deploy::DeployError;
use crate::ports::{HttpClient, HttpRequest, HttpResponse};

/// Service name used in [`DeployError`]s.
pub(super) const SERVICE: &str = "kubernetes";
/// Time allowed for each API call.
pub(super) const TIMEOUT_MS: u64 = 5_000;
/// Attempts at a write that keeps answering 409 Conflict.
const MAX_ATTEMPTS: usize = 5;

/// `application/strategic-merge-patch+json` (built-in types only).
pub(super) const STRATEGIC: &str = "application/strategic-merge-patch+json";
/// `application/merge-patch+json` (RFC 7386; arrays are replaced whole).
pub(super) const MERGE: &str = "application/merge-patch+json";

/// The kinds of object the adapter touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `v1` Service.
    Service,
    /// `gateway.networking.k8s.io/v1` HTTPRoute (a CRD: no strategic merge).
    HttpRoute,
    /// `networking.k8s.io/v1` Ingress.
    Ingress,
}

impl Kind {
    /// API group path prefix and resource plural.
    fn location(self) -> (&'static str, &'static str) {
        match self {
            Kind::Deployment => ("/apis/apps/v1", "deployments"),
            Kind::Service => ("/api/v1", "services"),
            Kind::HttpRoute => ("/apis/gateway.networking.k8s.io/v1", "httproutes"),
            Kind::Ingress => ("/apis/networking.k8s.io/v1", "ingresses"),
        }
    }
}

/// A patch: its content type (which decides its semantics) and body.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Patch {
    /// One of [`STRATEGIC`], [`MERGE`].
    pub content_type: &'static str,
    /// The patch document.
    pub body: Value,
}

/// One namespace of one API server, with a bearer token.
pub(super) struct Kube<'a, H> {
    http: &'a H,
    base: String,
    namespace: &'a str,
    token: &'a str,
}

/// Whether `s` is a DNS-1123 label of at most `max` characters.
pub(super) fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

impl<'a, H: HttpClient> Kube<'a, H> {
    /// A client for `env`'s API server and namespace.
    pub fn new(http: &'a H, env: &'a KubernetesEnv, token: &'a str) -> Result<Self, DeployError> {
        let url = url::Url::parse(&env.api_server)
            .map_err(|e| DeployError::Config(format!("api_server is not a URL: {e}")))?;
        if !matches!(url.scheme(), "https" | "http") || url.query().is_some() {
            return Err(DeployError::Config(
                "api_server must be an http(s) URL without a query".into(),
            ));
        }
        if !is_dns_label(&env.namespace, 63) {
            return Err(DeployError::Config(format!(
                "namespace {:?} is not a valid Kubernetes namespace",
                env.namespace
            )));
        }
        if token.is_empty() {
            return Err(DeployError::Config("the API token is empty".into()));
        }
        Ok(Kube {
            http,
            base: env.api_server.trim_end_matches('/').to_owned(),
            namespace: &env.namespace,
            token,
        })
    }

    /// The URL of `kind` named `name` (or of the collection).
    fn url(&self, kind: Kind, name: Option<&str>) -> String {
        let (prefix, plural) = kind.location();
        let mut url = format!(
            "{}{prefix}/namespaces/{}/{plural}",
            self.base, self.namespace
        );
        if let Some(name) = name {
            url.push('/');
            url.push_str(name);
        }
        url
    }

    /// `text` with the token masked.
    fn redact(&self, text: &str) -> String {
        text.replace(self.token, "***")
    }

    /// Sends one request with auth and `Accept` headers.
    async fn send(
        &self,
        method: &str,
        url: String,
        body: Option<(&str, &Value)>,
    ) -> Result<HttpResponse, DeployError> {
        let mut request = HttpRequest::new(method, url)
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/json");
        if let Some((content_type, body)) = body {
            request = request
                .header("content-type", content_type)
                .body(body.to_string().into_bytes());
        }
        self.http
            .send(request, TIMEOUT_MS)
            .await
            .map_err(|e| DeployError::Unreachable {
                service: SERVICE,
                reason: self.redact(&e.to_string()),
            })
    }

    /// The API's error for a non-2xx response: the `Status` message, else
    /// the start of the body (token masked either way).
    fn error(&self, response: &HttpResponse) -> DeployError {
        let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
        let message = parsed
            .as_ref()
            .filter(|v| v["kind"] == "Status")
            .and_then(|v| v["message"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| match response.text_snippet(200) {
                s if s.trim().is_empty() => format!("HTTP {}", response.status),
                s => s,
            });
        DeployError::Api {
            service: SERVICE,
            status: response.status,
            message: self.redact(&message),
        }
    }

    /// Parses a successful response body.
    fn parse(&self, response: &HttpResponse) -> Result<Value, DeployError> {
        serde_json::from_slice(&response.body).map_err(|e| DeployError::Api {
            service: SERVICE,
            status: response.status,
            message: format!("unreadable response: {e}"),
        })
    }

    /// `GET` the object; `None` on 404.
    pub async fn get(&self, kind: Kind, name: &str) -> Result<Option<Value>, DeployError> {
        let response = self.send("GET", self.url(kind, Some(name)), None).await?;
        match response.status {
            404 => Ok(None),
            _ if response.is_success() => self.parse(&response).map(Some),
            _ => Err(self.error(&response)),
        }
    }

    /// `GET` the object; 404 is an error.
    pub async fn get_required(&self, kind: Kind, name: &str) -> Result<Value, DeployError> {
        let response = self.send("GET", self.url(kind, Some(name)), None).await?;
        if response.is_success() {
            self.parse(&response)
        } else {
            Err(self.error(&response))
        }
    }

    /// Reads the object, asks `build` for a patch and sends it; on 409
    /// Conflict reads it again and retries (at most [`MAX_ATTEMPTS`] times).
    /// `build` returning `None` means nothing needs changing. Returns the
    /// object as written (or as read when unchanged).
    pub async fn update<F>(
        &self,
        kind: Kind,
        name: &str,
        mut build: F,
    ) -> Result<Value, DeployError>
    where
        F: FnMut(&Value) -> Result<Option<Patch>, DeployError>,
    {
        let mut last = None;
        for _ in 0..MAX_ATTEMPTS {
            let current = self.get_required(kind, name).await?;
            let Some(patch) = build(&current)? else {
                return Ok(current);
            };
            let url = self.url(kind, Some(name));
            let response = self
                .send("PATCH", url, Some((patch.content_type, &patch.body)))
                .await?;
            if response.is_success() {
                return self.parse(&response);
            }
            let error = self.error(&response);
            if response.status != 409 {
                return Err(error);
            }
            last = Some(error);
        }
        Err(match last {
            Some(DeployError::Api { message, .. }) => DeployError::Api {
                service: SERVICE,
                status: 409,
                message: format!("still conflicting after {MAX_ATTEMPTS} attempts: {message}"),
            },
            Some(other) => other,
            None => DeployError::Config("no attempt was made".into()),
        })
    }

    /// `POST` a new object to its collection.
    pub async fn create(&self, kind: Kind, object: &Value) -> Result<Value, DeployError> {
        let response = self
            .send(
                "POST",
                self.url(kind, None),
                Some(("application/json", object)),
            )
            .await?;
        if response.is_success() {
            self.parse(&response)
        } else {
            Err(self.error(&response))
        }
    }

    /// `DELETE` the object (dependents deleted in the background); a
    /// missing object is not an error.
    pub async fn delete(&self, kind: Kind, name: &str) -> Result<(), DeployError> {
        let options = json!({
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": "Background"
        });
        let response = self
            .send(
                "DELETE",
                self.url(kind, Some(name)),
                Some(("application/json", &options)),
            )
            .await?;
        if response.is_success() || response.status == 404 {
            Ok(())
        } else {
            Err(self.error(&response))
        }
    }
}
