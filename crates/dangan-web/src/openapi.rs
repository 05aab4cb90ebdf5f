//! The OpenAPI 3.1 description of `/api/v1`, generated from the code: each handler's
//! `#[utoipa::path]` and the `ToSchema` derives of the types it reads and writes. Served at
//! `GET /api/v1/openapi.json`; the vendored Swagger UI reads it at `/api/docs` (every asset comes
//! from this server: nothing is fetched from a CDN, at build time or at run time).
//!
//! Paths are written as in `router.rs`, relative to the one server entry `/api/v1`, so a client
//! (Swagger UI, Schemathesis) resolves them against the origin it loaded the description from.

use std::sync::{Arc, OnceLock};

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::encoding::Encoding;
use utoipa::openapi::response::{Response as OaResponse, ResponseBuilder};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema, ToResponse, ToSchema};

use crate::api;

/// The name of the bearer security scheme.
pub const BEARER: &str = "bearer";

/// Where the description is served (the Swagger UI loads it from here).
pub const OPENAPI_URL: &str = "/api/v1/openapi.json";

/// Declares a reusable error response: its component name, status meaning and the codes it
/// carries. Every one has the body [`crate::error::Body`] (`ApiErrorBody`).
macro_rules! error_response {
    ($(#[$m:meta])* $name:ident, $description:literal) => {
        $(#[$m])*
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<OaResponse>) {
                (
                    stringify!($name),
                    ResponseBuilder::new()
                        .description($description)
                        .content(
                            "application/json",
                            Content::new(Some(Ref::from_schema_name("ApiErrorBody"))),
                        )
                        .build()
                        .into(),
                )
            }
        }
    };
}

error_response!(
    /// 400.
    BadRequest,
    "请求无法解析 — the request cannot be read: `malformed_json` (not JSON), `unreadable_body`, \
     `invalid_query` (a query parameter of the wrong type), `invalid_id` (a path id that is not \
     a positive integer), `id_number_in_url` (an identity number in the address), \
     `invalid_multipart` (a malformed auto-archiving request)"
);
error_response!(
    /// 401.
    Unauthenticated,
    "未登录 — `unauthenticated`: no `Authorization: Bearer` token, or an expired, revoked or \
     unknown one; wrong credentials at sign-in"
);
error_response!(
    /// 403.
    Forbidden,
    "无权操作 — `forbidden` (the role may not do this) or a condition not met: \
     `password_change_required`, `query_registration_required` …"
);
error_response!(
    /// 404.
    NotFound,
    "不存在 — the record named in the path (or the body) does not exist, or the caller may not \
     know that it does"
);
error_response!(
    /// 409.
    Conflict,
    "冲突 — the request conflicts with the records as they are (already exists, already \
     confirmed, volume sealed, material lost …)"
);
error_response!(
    /// 413.
    PayloadTooLarge,
    "请求内容过大 — `body_too_large`: a JSON or text body over 2 MB; `event_part_too_large`: the \
     `event` part of an auto-archiving request over 2 MB"
);
error_response!(
    /// 415.
    UnsupportedMediaType,
    "请求内容类型不对 — `unsupported_media_type`: a JSON body without \
     `Content-Type: application/json`; `multipart_required`: an auto-archiving request that is \
     not `multipart/form-data`"
);
error_response!(
    /// 422.
    Unprocessable,
    "内容有误 — `invalid_json_fields` (a field missing or of the wrong type) or a rule of the \
     archive broken (`invalid_id_number`, `invalid_division_code`, `invalid_date` …); `field` \
     names the input at fault"
);
/// 429: the one error response with a header.
pub struct TooManyRequests;

impl<'r> ToResponse<'r> for TooManyRequests {
    fn response() -> (&'r str, RefOr<OaResponse>) {
        (
            "TooManyRequests",
            ResponseBuilder::new()
                .description(
                    "请求过于频繁 — refused before any work, try again after `Retry-After` seconds: \
                     `too_many_sign_ins` (this address failed to sign in too often in the last \
                     minutes), `sign_in_busy` (too many sign-ins are waiting for the password \
                     check), `too_many_exact_searches` (this account searched by exact identity \
                     number too often)",
                )
                .header(
                    "Retry-After",
                    utoipa::openapi::header::HeaderBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)),
                        ))
                        .description(Some("秒 — seconds to wait"))
                        .build(),
                )
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name("ApiErrorBody"))),
                )
                .build()
                .into(),
        )
    }
}

error_response!(
    /// 500.
    InternalError,
    "服务器内部错误 — `internal_error`: a fault of the system, logged on the server; no detail \
     is sent"
);

error_response!(
    /// 507.
    StorageFull,
    "服务器存储空间已满 — `storage_full`: nothing was saved; not the caller's fault, and a retry \
     fails until space is freed"
);

/// The bytes of a scan, as uploaded and downloaded (the schema of those bodies).
pub struct FileBytes;

impl PartialSchema for FileBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("binary".to_owned())))
            .description(Some("文件内容 — the file's bytes"))
            .into()
    }
}

impl ToSchema for FileBytes {}

/// The parts of an auto-archiving request (`POST /archive`, `multipart/form-data`).
pub struct ArchiveParts;

impl PartialSchema for ArchiveParts {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property(
                "event",
                AllOfBuilder::new()
                    .item(Ref::from_schema_name("EventInput"))
                    .item(
                        ObjectBuilder::new()
                            .required("source_system")
                            .required("external_id"),
                    )
                    .description(Some(
                        "业务 JSON（同 POST /events），须有 source_system 与 external_id — the event, \
                         with its source system and business id",
                    )),
            )
            .required("event")
            .additional_properties(Some(FileBytes::schema()))
            .description(Some(
                "event：业务 JSON；materials[N]：第N项材料（从0起）的扫描件，文件名在该部分的 \
                 Content-Disposition 中 — the event as JSON, then the scans, one part each",
            ))
            .into()
    }
}

impl ToSchema for ArchiveParts {}

/// Adds the bearer scheme, the JSON encoding of the `event` part of `POST /archive`, and the 500
/// and 507 answers every operation can give (a database that stops answering or a full disk is
/// no operation's own doing).
struct Common;

impl Modify for Common {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "登录令牌（POST /auth/login）或接口令牌（POST /tokens）— a sign-in \
                         session token or an API token",
                    ))
                    .build(),
            ),
        );
        // The `event` part of an auto-archiving request is JSON.
        if let Some(RefOr::T(body)) = openapi
            .paths
            .paths
            .get_mut("/archive")
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.request_body.as_mut())
            && let Some(RefOr::T(content)) = body.content.get_mut("multipart/form-data")
        {
            content.encoding.insert(
                "event".to_owned(),
                Encoding::builder()
                    .content_type(Some("application/json"))
                    .build(),
            );
        }
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .entry("500".to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name("InternalError")));
                op.responses
                    .responses
                    .entry("507".to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name("StorageFull")));
            }
        }
    }
}

/// The description of `/api/v1`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Dangan 档案 API",
        description = "城乡居民基本养老保险业务档案管理系统的接口 — the JSON API of the Dangan \
                       records system. Every error answer has the body \
                       `{\"error\":{\"code\",\"message\",\"field\"}}`: a stable code for \
                       programs and a message in simplified Chinese.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/api/v1", description = "本服务器 — this server")),
    security(("bearer" = [])),
    paths(
        openapi_json,
        api::auth::login,
        api::auth::insured_login,
        api::auth::logout,
        api::auth::logout_all,
        api::auth::me,
        api::auth::change_password,
        api::persons::create_person,
        api::persons::list_persons,
        api::persons::search_persons,
        api::persons::get_person,
        api::persons::list_person_events,
        api::my::open_account,
        api::my::my_person,
        api::my::my_events,
        api::register::register_query,
        api::register::search_queries,
        api::register::export_queries,
        api::admin::create_user,
        api::admin::list_users,
        api::admin::set_role,
        api::admin::reset_password,
        api::admin::unlock,
        api::officers::create_request,
        api::officers::list_requests,
        api::officers::approve_request,
        api::officers::reject_request,
        api::admin::create_token,
        api::admin::list_tokens,
        api::admin::revoke_token,
        api::workflow::list_tasks,
        api::workflow::list_handovers,
        api::workflow::create_handover,
        api::workflow::get_handover,
        api::workflow::confirm_handover,
        api::print::print_handover,
        api::workflow::list_supplements,
        api::workflow::contact_supplement,
        api::workflow::fulfil_supplement,
        api::workflow::close_supplement,
        api::workflow::list_volumes,
        api::workflow::build_volumes,
        api::workflow::get_volume,
        api::workflow::seal_volume,
        api::workflow::set_volume_note,
        api::print::print_volume,
        api::rooms::list_rooms,
        api::rooms::create_room,
        api::rooms::get_room,
        api::rooms::update_room,
        api::rooms::create_place,
        api::rooms::room_labels,
        api::rooms::spine_labels,
        api::rooms::get_location,
        api::rooms::place_volume,
        api::rooms::take_out_volume,
        api::rooms::start_stocktake,
        api::rooms::get_stocktake,
        api::rooms::scan_stocktake,
        api::rooms::close_stocktake,
        api::rooms::print_stocktake,
        api::workflow::correct_person,
        api::workflow::list_corrections,
        api::outbox::list_outbox,
        api::outbox::list_deliveries,
        api::outbox::resend_item,
        api::equipment::list_equipment,
        api::equipment::register_equipment,
        api::equipment::get_equipment,
        api::equipment::update_equipment,
        api::equipment::retire_equipment,
        api::equipment::record_inspection,
        api::equipment::room_checks,
        api::equipment::room_capacity,
        api::workflow::record_damage,
        api::workflow::record_loss,
        api::workflow::material_incidents,
        api::workflow::record_repair,
        api::workflow::loss_steps,
        api::files::upload_file,
        api::files::list_files,
        api::files::download_file,
        api::files::verify_file,
        api::files::file_checks,
        api::files::scrub_runs,
        api::files::withdraw_file,
        api::files::backup_runs,
        api::jobs::list_jobs,
        api::jobs::get_job,
        api::jobs::run_job,
        api::sync::contributions,
        api::sync::benefits,
        api::environment::submit_readings,
        api::environment::print_environment,
        api::environment::print_checks,
        api::person_changes::sync_person_changes,
        api::person_changes::list_person_changes,
        api::audit::search_log,
        api::audit::verify_log,
        api::audit::anchor_log,
        api::events::record_event,
        api::archive::auto_archive,
        api::events::get_event,
        api::catalogue::get_catalogue,
        api::catalogue::replace_catalogue,
        api::reference::list_business_types,
        api::reference::search_divisions,
        api::reference::get_division,
        api::calendar::add_working_days,
        api::calendar::list_years,
        api::calendar::load_years,
    ),
    components(
        schemas(crate::error::Body, FileBytes, ArchiveParts),
        responses(
            BadRequest,
            Unauthenticated,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            TooManyRequests,
            InternalError,
            StorageFull,
        )
    ),
    modifiers(&Common),
    tags(
        (name = "auth", description = "登录与账户 — sign-in, sign-out, password"),
        (name = "persons", description = "参保人 — insured persons"),
        (name = "my", description = "参保人本人 — the insured person's own records"),
        (name = "queries", description = "查询登记簿 — the query register"),
        (name = "accounts", description = "用户、三员账号双人审批与接口令牌 — users, two-officer requests for officer accounts, API tokens"),
        (name = "workflow", description = "收集、交接、补件、组卷、更正、损毁与丢失 — from business to shelf"),
        (name = "rooms", description = "库房、排架、存放位置与盘点 — the paper archive room"),
        (name = "files", description = "电子文件（扫描件）与备份 — scans, verification, backups"),
        (name = "events", description = "业务与材料，自动归档 — business events and their materials; auto-archiving"),
        (name = "jobs", description = "后台作业（巡检、备份、日志锚定等）— background jobs of every node"),
        (name = "custody", description = "库房保管：设备登记与检查、库房核查、容量与预测 — the archive room: equipment, checks, capacity"),
        (name = "outbox", description = "更正回传业务系统 — corrections sent back to the business system"),
        (name = "sync", description = "数据同步（业务系统）— batches from the business system"),
        (name = "environment", description = "库房环境监测与日常检查 — archive-room readings, alerts and daily checks"),
        (name = "audit", description = "操作日志（安全审计员）— the operation log"),
        (name = "catalogue", description = "归档范围 — the filing catalogue"),
        (name = "reference", description = "参考数据 — business types, administrative divisions"),
        (name = "calendar", description = "工作日历 — the working-day calendar"),
        (name = "openapi", description = "接口描述 — this description"),
    )
)]
pub struct ApiDoc;

/// The description as served, rendered once.
fn rendered() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the API description serialises")
    })
}

/// `GET /api/v1/openapi.json`: this description (no sign-in needed: it holds no data).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "openapi",
    security(()),
    responses(
        (status = 200, description = "OpenAPI 3.1 文档 — the OpenAPI 3.1 document", content_type = "application/json", body = Object),
    )
)]
pub async fn openapi_json() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        rendered(),
    )
        .into_response()
}

/// The Swagger UI's configuration: our description, and no online validator (Swagger UI would
/// otherwise send the description to validator.swagger.io).
fn swagger_config() -> Arc<utoipa_swagger_ui::Config<'static>> {
    static CONFIG: OnceLock<Arc<utoipa_swagger_ui::Config<'static>>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        Arc::new(utoipa_swagger_ui::Config::new([OPENAPI_URL]).validator_url("none"))
    }))
}

/// Serves one file of the vendored Swagger UI.
fn swagger_file(file: &str) -> Response {
    match utoipa_swagger_ui::serve(file, swagger_config()) {
        Ok(Some(f)) => {
            let mut bytes = f.bytes.into_owned();
            if file == "index.html" {
                // Served at `/api/docs` (no trailing slash): relative asset paths must resolve
                // under `/api/docs/`.
                let html = String::from_utf8_lossy(&bytes).replacen(
                    "<head>",
                    "<head>\n    <base href=\"/api/docs/\">",
                    1,
                );
                bytes = html
                    .replacen(
                        "<title>Swagger UI</title>",
                        "<title>Dangan 档案 API</title>",
                        1,
                    )
                    .into_bytes();
            }
            let mut res = (StatusCode::OK, bytes).into_response();
            if let Ok(v) = HeaderValue::from_str(&f.content_type) {
                res.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            if f.gzpipped {
                res.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            res
        }
        Ok(None) => (StatusCode::NOT_FOUND, "Not Found").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot serve the Swagger UI");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /api/docs`: the Swagger UI page.
pub async fn docs_index() -> Response {
    swagger_file("index.html")
}

/// `GET /api/docs/{file}`: the Swagger UI's scripts, styles and icons.
pub async fn docs_file(Path(file): Path<String>) -> Response {
    swagger_file(&file)
}
