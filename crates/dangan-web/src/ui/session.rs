//! The page session: the cookie, the signed-in actor, the CSRF token of its forms, and the
//! `Origin` check of every form post.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};

use dangan_app::Actor;

use crate::extract::{AppState, client_source};

/// The cookie holding the session token.
pub const COOKIE: &str = "dangan_session";

/// Marks a server that speaks TLS (set by `with_hsts`): session cookies get `Secure`.
#[derive(Debug, Clone, Copy)]
pub struct SecureTransport;

/// The CSRF token of a session's forms.
pub fn csrf_for(token: &str) -> String {
    hex::encode(&Sha256::digest(format!("dangan-csrf\n{token}").as_bytes())[..16])
}

/// The session token in the request's cookies.
pub fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for a new session (`None` clears it).
pub fn set_cookie(token: Option<&str>, secure: bool) -> HeaderValue {
    let value = match token {
        Some(t) => format!("{COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict"),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    let value = if secure {
        format!("{value}; Secure")
    } else {
        value
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A signed-in visitor of the pages, or none.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// The actor, when the cookie holds a live session.
    pub actor: Option<Actor>,
    /// The session token.
    pub token: Option<String>,
    /// The client's address.
    pub source: String,
    /// The server speaks TLS.
    pub secure: bool,
}

impl Visitor {
    /// The CSRF token for this visitor's forms (empty without a session).
    pub fn csrf(&self) -> String {
        self.token.as_deref().map(csrf_for).unwrap_or_default()
    }

    /// Whether a submitted `_csrf` is this session's.
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        self.token
            .as_deref()
            .is_some_and(|t| csrf_for(t) == submitted)
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let source = client_source(parts);
        let secure = parts.extensions.get::<SecureTransport>().is_some();
        let token = token(&parts.headers);
        let actor = match &token {
            Some(t) => app.authenticate(t, &source).await.ok(),
            None => None,
        };
        Ok(Visitor {
            actor,
            token,
            source,
            secure,
        })
    }
}

/// Whether a form post comes from a page of another site, by the headers a browser adds:
/// `Sec-Fetch-Site` when it is there, and `Origin`, which must be this server's own (scheme and
/// `Host`). A browser sends `Origin` with every form post (`null` when it hides it, refused
/// too); a request without either header is not a browser's cross-site post — the sign-in
/// forms have no session yet for a CSRF token, so this is their protection.
pub fn cross_origin(req: &axum::extract::Request) -> bool {
    let headers = req.headers();
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if matches!(fetch_site, "cross-site" | "same-site") {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        });
    let scheme = if req.extensions().get::<SecureTransport>().is_some() {
        "https"
    } else {
        "http"
    };
    match (origin.to_str(), host) {
        (Ok(origin), Some(host)) => !origin.eq_ignore_ascii_case(&format!("{scheme}://{host}")),
        _ => true,
    }
}
