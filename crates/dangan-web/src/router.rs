//! Every route of the server, in one place.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{delete, get, post, put};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::api;
use crate::error::ApiError;
use crate::extract::AppState;
use crate::openapi;

/// JSON bodies larger than this are refused (413) before they are read whole.
const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The Content-Security-Policy of the pages: scripts and styles only from this server, never
/// inline (`static/app.js` holds every script, no `on…=` attribute exists), so injected markup
/// cannot run; frames, forms and images stay on this origin (the scan viewer frames its PDF).
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'";
/// Swagger UI (`/api/docs`): its scripts are its own files on this server, but React sets
/// inline styles and the page uses `<base href>`.
const SWAGGER_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'";
/// The A4 print views under `/api/v1/…/print`: one inline stylesheet, no script at all.
const PRINT_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// Adds the Content-Security-Policy to every HTML answer (other answers are not documents).
async fn content_security_policy(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let policy = if req.uri().path().starts_with("/api/docs") {
        SWAGGER_POLICY
    } else if req.uri().path().starts_with("/api/") {
        PRINT_POLICY
    } else {
        PAGE_POLICY
    };
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if html {
        res.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(policy),
        );
    }
    res
}

/// The request span names the method and the path only: a query string could carry personal
/// data, and nothing personal is ever logged.
fn span_without_query(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/auth/login", post(api::auth::login))
        .route("/auth/insured-login", post(api::auth::insured_login))
        .route("/auth/logout", post(api::auth::logout))
        .route("/auth/logout-all", post(api::auth::logout_all))
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
        .route("/persons/{id}/account", post(api::my::open_account))
        .route("/my/person", get(api::my::my_person))
        .route("/my/events", get(api::my::my_events))
        .route("/queries", post(api::register::register_query))
        .route("/queries/search", post(api::register::search_queries))
        .route("/queries/export", post(api::register::export_queries))
        .route(
            "/users",
            post(api::admin::create_user).get(api::admin::list_users),
        )
        .route("/users/{id}/role", put(api::admin::set_role))
        .route(
            "/users/{id}/password-reset",
            post(api::admin::reset_password),
        )
        .route("/users/{id}/unlock", post(api::admin::unlock))
        .route(
            "/users/requests",
            post(api::officers::create_request).get(api::officers::list_requests),
        )
        .route(
            "/users/requests/{id}/approve",
            post(api::officers::approve_request),
        )
        .route(
            "/users/requests/{id}/reject",
            post(api::officers::reject_request),
        )
        .route(
            "/tokens",
            post(api::admin::create_token).get(api::admin::list_tokens),
        )
        .route("/tokens/{id}", delete(api::admin::revoke_token))
        .route("/tasks", get(api::workflow::list_tasks))
        .route(
            "/handovers",
            post(api::workflow::create_handover).get(api::workflow::list_handovers),
        )
        .route("/handovers/{id}", get(api::workflow::get_handover))
        .route(
            "/handovers/{id}/confirm",
            post(api::workflow::confirm_handover),
        )
        .route("/handovers/{id}/print", get(api::print::print_handover))
        .route("/supplements", get(api::workflow::list_supplements))
        .route(
            "/supplements/{id}/contact",
            post(api::workflow::contact_supplement),
        )
        .route(
            "/supplements/{id}/fulfil",
            post(api::workflow::fulfil_supplement),
        )
        .route(
            "/supplements/{id}/close",
            post(api::workflow::close_supplement),
        )
        .route("/volumes", get(api::workflow::list_volumes))
        .route("/volumes/build", post(api::workflow::build_volumes))
        .route("/volumes/{id}", get(api::workflow::get_volume))
        .route("/volumes/{id}/seal", post(api::workflow::seal_volume))
        .route("/volumes/{id}/note", put(api::workflow::set_volume_note))
        .route("/volumes/{id}/print", get(api::print::print_volume))
        .route("/volumes/labels", get(api::rooms::spine_labels))
        .route(
            "/volumes/{id}/location",
            get(api::rooms::get_location).post(api::rooms::place_volume),
        )
        .route("/volumes/{id}/take-out", post(api::rooms::take_out_volume))
        .route(
            "/rooms",
            get(api::rooms::list_rooms).post(api::rooms::create_room),
        )
        .route(
            "/rooms/{id}",
            get(api::rooms::get_room).put(api::rooms::update_room),
        )
        .route("/rooms/{id}/places", post(api::rooms::create_place))
        .route("/rooms/{id}/labels", get(api::rooms::room_labels))
        .route("/rooms/{id}/stocktakes", post(api::rooms::start_stocktake))
        .route("/stocktakes/{id}", get(api::rooms::get_stocktake))
        .route("/stocktakes/{id}/scans", post(api::rooms::scan_stocktake))
        .route("/stocktakes/{id}/close", post(api::rooms::close_stocktake))
        .route("/stocktakes/{id}/print", get(api::rooms::print_stocktake))
        .route(
            "/persons/{id}/corrections",
            post(api::workflow::correct_person).get(api::workflow::list_corrections),
        )
        .route("/outbox", get(api::outbox::list_outbox))
        .route("/outbox/{id}/deliveries", get(api::outbox::list_deliveries))
        .route("/outbox/{id}/resend", post(api::outbox::resend_item))
        .route(
            "/equipment",
            get(api::equipment::list_equipment).post(api::equipment::register_equipment),
        )
        .route(
            "/equipment/{id}",
            get(api::equipment::get_equipment).put(api::equipment::update_equipment),
        )
        .route(
            "/equipment/{id}/retire",
            post(api::equipment::retire_equipment),
        )
        .route(
            "/equipment/{id}/inspections",
            post(api::equipment::record_inspection),
        )
        .route("/rooms/checks", get(api::equipment::room_checks))
        .route("/rooms/capacity", get(api::equipment::room_capacity))
        .route("/materials/{id}/damage", post(api::workflow::record_damage))
        .route("/materials/{id}/loss", post(api::workflow::record_loss))
        .route(
            "/materials/{id}/incidents",
            get(api::workflow::material_incidents),
        )
        .route("/damage/{id}/repair", post(api::workflow::record_repair))
        .route("/losses/{id}/steps", put(api::workflow::loss_steps))
        .route(
            "/materials/{id}/files",
            post(api::files::upload_file).get(api::files::list_files),
        )
        .route("/files/{id}/content", get(api::files::download_file))
        .route("/files/{id}/verification", get(api::files::verify_file))
        .route("/files/{id}/checks", get(api::files::file_checks))
        .route("/vault/scrubs", get(api::files::scrub_runs))
        .route("/files/{id}/withdraw", post(api::files::withdraw_file))
        .route("/backups", get(api::files::backup_runs))
        .route("/jobs", get(api::jobs::list_jobs).post(api::jobs::run_job))
        .route("/jobs/{id}", get(api::jobs::get_job))
        .route("/sync/contributions", post(api::sync::contributions))
        .route("/sync/benefits", post(api::sync::benefits))
        .route(
            "/environment/readings",
            post(api::environment::submit_readings),
        )
        .route(
            "/rooms/{id}/environment/print",
            get(api::environment::print_environment),
        )
        .route(
            "/rooms/{id}/checks/print",
            get(api::environment::print_checks),
        )
        .route(
            "/sync/person-changes",
            post(api::person_changes::sync_person_changes),
        )
        .route(
            "/persons/{id}/changes",
            get(api::person_changes::list_person_changes),
        )
        .route("/audit/log", get(api::audit::search_log))
        .route("/audit/verify", post(api::audit::verify_log))
        .route("/audit/anchor", post(api::audit::anchor_log))
        .route("/events", post(api::events::record_event))
        .route("/archive", post(api::archive::auto_archive))
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
        .route("/readyz", get(api::health::readyz))
        .nest("/api/v1", v1)
        .route("/api/docs", get(openapi::docs_index))
        .route("/api/docs/{*file}", get(openapi::docs_file))
        .merge(crate::ui::routes())
        .fallback(crate::ui::not_found)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        // Personal data must not linger in shared caches or be framed by another site.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // SAMEORIGIN, not DENY: the scan viewer frames a PDF from this same server.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        ))
        // `same-origin`, not `no-referrer`: with `no-referrer` a browser sends `Origin: null`
        // with every form, and the sign-in forms check `Origin`. No address leaves for another
        // site either way (and none carries personal data).
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(axum::middleware::from_fn(content_security_policy))
        .layer(TraceLayer::new_for_http().make_span_with(span_without_query))
        .with_state(state)
}

/// Adds HTTP Strict Transport Security (one year), for a server that speaks TLS.
pub fn with_hsts(router: Router) -> Router {
    router
        .layer(axum::Extension(crate::ui::SecureTransport))
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ))
}
