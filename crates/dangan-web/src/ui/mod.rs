//! 网页界面 — the server-rendered pages in simplified Chinese (S8.1, S8.2, and the staff
//! workspace), from the same router and behind the same use-cases as the API.
//!
//! Sessions: signing in sets `dangan_session` (the same token the API takes as a bearer) with
//! `HttpOnly`, `SameSite=Strict`, and `Secure` when the server speaks TLS. Every form that
//! changes something carries `_csrf`, derived from the session token (which a page on another
//! site can neither read nor guess), and is refused without it. Every form post — the sign-in
//! forms too, which have no session yet — must come from this server's own pages (`Origin`).
//! Identity numbers never go in a URL: searching by one is a POST.

/// The signed-in staff member (cloned), or return the redirect to the sign-in page. (Defined
/// here, before the page modules, so that each of them can use it; it calls the `staff` of the
/// module it is used in.)
macro_rules! staff_or_redirect {
    ($v:expr) => {
        match staff(&$v) {
            Ok(a) => a.clone(),
            Err(r) => return r.into_response(),
        }
    };
}

/// The signed-in staff member (cloned) whose form carries this session's CSRF token, or
/// return the redirect to the sign-in page or the refusal.
macro_rules! staff_form_or_return {
    ($v:expr, $csrf:expr) => {{
        let actor = staff_or_redirect!($v);
        if !$v.csrf_ok($csrf) {
            return csrf_refused();
        }
        actor
    }};
}

pub(crate) mod barcode;
pub(crate) mod beijing;
mod pages;
mod session;
pub(crate) mod xlsx;

use axum::Router;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

use crate::extract::AppState;

pub use pages::not_found;
pub use session::SecureTransport;
pub use session::token as cookie_token;

/// The pages' routes; merged into the application router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::signin::home))
        .route("/login", post(pages::signin::login))
        .route("/logout", post(pages::signin::logout))
        .route(
            "/account/password",
            get(pages::signin::password_form).post(pages::signin::password_change),
        )
        .route("/workbench", get(pages::workbench::workbench))
        .route("/persons", get(pages::persons::persons))
        .route("/persons/search", post(pages::persons::persons_search))
        .route("/persons/export.xlsx", get(pages::export::persons))
        .route("/workbench/export.xlsx", get(pages::export::tasks))
        .route("/supplements/export.xlsx", get(pages::export::supplements))
        .route("/volumes/export.xlsx", get(pages::export::volumes))
        .route("/handovers/export.xlsx", get(pages::export::handovers))
        .route(
            "/persons/{id}/corrections/export.xlsx",
            get(pages::export::corrections),
        )
        .route(
            "/persons/new",
            get(pages::persons::person_new).post(pages::persons::person_create),
        )
        .route("/persons/{id}", get(pages::persons::person))
        .route("/persons/{id}/query", post(pages::persons::person_query))
        .route("/persons/{id}/events/new", get(pages::events::event_new))
        .route("/persons/{id}/events", post(pages::events::event_create))
        .route(
            "/events/{id}/handover",
            post(pages::handovers::event_handover),
        )
        .route(
            "/queries",
            get(pages::queries::queries).post(pages::queries::queries_search),
        )
        .route("/queries/export.xlsx", post(pages::queries::queries_export))
        .route("/incidents", get(pages::incident_list::incidents))
        .route("/custody", get(pages::custody::custody))
        .route(
            "/custody/checklist",
            post(pages::custody::custody_checklist),
        )
        .route("/custody/rooms/{id}", get(pages::custody::custody_room))
        .route(
            "/custody/rooms/{id}/check",
            post(pages::custody::custody_check),
        )
        .route(
            "/custody/rooms/{id}/loggers",
            post(pages::custody::custody_logger),
        )
        .route(
            "/custody/rooms/{id}/import",
            post(pages::custody::custody_import),
        )
        .route(
            "/custody/alerts/{id}/action",
            post(pages::custody::custody_alert_action),
        )
        .route(
            "/incidents/export.xlsx",
            get(pages::incident_list::incidents_export),
        )
        .route("/handovers", get(pages::handovers::handovers))
        .route("/handovers/{id}", get(pages::handovers::handover))
        .route(
            "/handovers/{id}/confirm",
            post(pages::handovers::handover_confirm),
        )
        .route("/materials/{id}/upload", post(pages::files::upload))
        .route("/volumes", get(pages::volumes::volumes))
        .route(
            "/rooms",
            get(pages::rooms::rooms).post(pages::rooms::room_create),
        )
        .route(
            "/rooms/{id}",
            get(pages::rooms::room).post(pages::rooms::room_update),
        )
        .route("/rooms/{id}/places", post(pages::rooms::place_create))
        .route(
            "/rooms/{id}/stocktakes",
            post(pages::rooms::stocktake_start),
        )
        .route("/scan", get(pages::rooms::scan))
        .route("/places/{code}", get(pages::rooms::place))
        .route("/places/{code}/volumes", post(pages::rooms::place_put))
        .route("/places/{code}/boxes", post(pages::rooms::box_create))
        .route("/volumes/{id}", get(pages::rooms::volume))
        .route("/volumes/{id}/place", post(pages::rooms::volume_place))
        .route(
            "/volumes/{id}/take-out",
            post(pages::rooms::volume_take_out),
        )
        .route(
            "/volumes/{id}/designate",
            post(pages::rooms::volume_designate),
        )
        .route("/stocktakes/{id}", get(pages::rooms::stocktake))
        .route("/stocktakes/{id}/scans", post(pages::rooms::stocktake_scan))
        .route(
            "/stocktakes/{id}/close",
            post(pages::rooms::stocktake_close),
        )
        .route(
            "/stocktakes/{id}/losses",
            post(pages::rooms::stocktake_loss),
        )
        .route("/volumes/build", post(pages::volumes::volumes_build))
        .route(
            "/volumes/{id}/seal",
            get(pages::volumes::volume_seal_confirm).post(pages::volumes::volume_seal),
        )
        .route("/supplements", get(pages::supplements::supplements))
        .route(
            "/supplements/{id}",
            post(pages::supplements::supplement_action),
        )
        .route(
            "/users",
            get(pages::accounts::users).post(pages::accounts::user_create),
        )
        .route("/users/{id}/role", post(pages::accounts::user_role))
        .route(
            "/users/{id}/password-reset",
            post(pages::accounts::user_password_reset),
        )
        .route("/users/{id}/unlock", post(pages::accounts::user_unlock))
        .route("/users/requests", post(pages::accounts::request_create))
        .route(
            "/users/requests/{id}/approve",
            post(pages::accounts::request_approve),
        )
        .route(
            "/users/requests/{id}/reject",
            post(pages::accounts::request_reject),
        )
        .route("/persons/{id}/account", post(pages::accounts::account_open))
        .route("/catalogue", get(pages::catalogue::catalogue))
        .route(
            "/calendar/load",
            get(pages::catalogue::calendar_form).post(pages::catalogue::calendar_load),
        )
        .route("/materials/{id}", get(pages::incidents::material))
        .route(
            "/materials/{id}/incidents",
            post(pages::incidents::material_incident),
        )
        .route(
            "/persons/{id}/corrections",
            get(pages::incidents::corrections).post(pages::incidents::correction_create),
        )
        .route("/outbox", get(pages::outbox::outbox))
        .route("/outbox/resend", post(pages::outbox::outbox_resend_by_id))
        .route("/outbox/{id}/resend", post(pages::outbox::outbox_resend))
        .route(
            "/equipment",
            get(pages::equipment::equipment).post(pages::equipment::equipment_create),
        )
        .route("/equipment/{id}", get(pages::equipment::equipment_item))
        .route(
            "/equipment/{id}/inspect",
            post(pages::equipment::equipment_inspect),
        )
        .route(
            "/equipment/{id}/retire",
            post(pages::equipment::equipment_retire),
        )
        .route("/capacity", get(pages::equipment::capacity))
        .route("/jobs", get(pages::jobs::jobs).post(pages::jobs::run))
        .route("/jobs/{id}", get(pages::jobs::job))
        .route("/audit", get(pages::audit::audit))
        .route("/audit/verify", post(pages::audit::audit_verify))
        .route("/audit/export.xlsx", get(pages::audit::audit_export))
        .route("/files/{id}", get(pages::files::file_view))
        .route("/files/{id}/withdraw", post(pages::files::file_withdraw))
        .route("/files/{id}/raw", get(pages::files::file_raw))
        .route("/my", get(pages::my::my))
        .route("/my/login", post(pages::my::my_login))
        .route("/my/logout", post(pages::my::my_logout))
        .route("/kiosk", get(pages::my::kiosk))
        .route("/kiosk/login", post(pages::my::kiosk_login))
        .route("/kiosk/logout", post(pages::my::kiosk_logout))
        .route("/kiosk/assisted", post(pages::incidents::kiosk_assisted))
        .route("/static/app.css", get(pages::css))
        .route("/static/app.js", get(pages::js))
        .route_layer(axum::middleware::from_fn(same_origin_forms))
}

/// Refuses a form post from another site with a Chinese page (403), before its handler.
async fn same_origin_forms(req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD && session::cross_origin(&req) {
        return pages::cross_origin_refused();
    }
    next.run(req).await
}
