//! Every route of the server, in one place.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;

use crate::api;
use crate::error::ApiError;
use crate::extract::AppState;

/// JSON bodies larger than this are refused (413) before they are read whole.
const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The request span names the method and the path only: a query string could carry personal
/// data, and nothing personal is ever logged.
fn span_without_query(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/auth/login", post(api::auth::login))
        .route("/auth/logout", post(api::auth::logout))
        .route("/auth/me", get(api::auth::me))
        .route("/auth/password", post(api::auth::change_password))
        .route(
            "/persons",
            post(api::persons::create_person).get(api::persons::list_persons),
        )
        .route("/persons/search", post(api::persons::search_persons))
        .route("/persons/{id}", get(api::persons::get_person))
        .route(
            "/persons/{id}/events",
            get(api::persons::list_person_events),
        )
        .route("/events", post(api::events::record_event))
        .route("/events/{id}", get(api::events::get_event))
        .route(
            "/catalogue",
            get(api::catalogue::get_catalogue).put(api::catalogue::replace_catalogue),
        )
        .route("/business-types", get(api::reference::list_business_types))
        .route("/divisions", get(api::reference::search_divisions))
        .route("/divisions/{code}", get(api::reference::get_division))
        .route(
            "/calendar/add-working-days",
            get(api::calendar::add_working_days),
        )
        .route(
            "/calendar/years",
            get(api::calendar::list_years).put(api::calendar::load_years),
        )
        .fallback(|| async { ApiError::no_route() });
    Router::new()
        .route("/healthz", get(api::health::healthz))
        .nest("/api/v1", v1)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(TraceLayer::new_for_http().make_span_with(span_without_query))
        .with_state(state)
}
