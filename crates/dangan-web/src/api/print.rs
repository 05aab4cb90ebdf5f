//! Print views (A4, HTML with print CSS): the handover list (档案材料交接表) and, for a volume, its
//! cover (案卷封面), spine label (脊背), contents list (卷内目录) and 备考表. Every value is escaped.

use axum::extract::{Path, State};
use axum::response::Html;

use dangan_app::ids::{HandoverId, VolumeId};
use dangan_app::intake::handovers::HandoverView;
use dangan_app::organising::volumes::VolumeView;
use dangan_domain::workflow::LineResult;

use crate::error::ApiError;
use crate::extract::{AppState, Auth, row_id};

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "@page{size:A4;margin:20mm 15mm 20mm 25mm}\
body{font-family:'Noto Serif CJK SC','SimSun',serif;font-size:11pt;color:#000}\
h1{text-align:center;font-size:18pt;letter-spacing:.3em;margin:0 0 6mm}\
table{width:100%;border-collapse:collapse}th,td{border:1px solid #000;padding:2mm;vertical-align:top}\
th{font-weight:normal;background:#eee}.meta{margin:0 0 4mm}.sign{margin-top:10mm;display:flex;justify-content:space-between}\
.page{page-break-after:always}.page:last-child{page-break-after:auto}\
.cover{border:2px solid #000;height:240mm;padding:20mm;box-sizing:border-box}.cover p{font-size:14pt;margin:10mm 0}\
.spine{border:1px solid #000;width:20mm;height:240mm;writing-mode:vertical-rl;font-size:14pt;padding:5mm 0;text-align:center;margin:auto}\
@media screen{body{max-width:210mm;margin:auto;padding:10mm}}";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        esc(title)
    ))
}

fn opt(s: Option<&str>) -> String {
    s.map(esc).unwrap_or_default()
}

fn handover_html(h: &HandoverView) -> Html<String> {
    let mut rows = String::new();
    for (i, it) in h.items.iter().enumerate() {
        let result = it.result.map_or("", LineResult::label);
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            esc(&it.name),
            it.quantity,
            it.formation_date.map(|d| d.to_string()).unwrap_or_default(),
            opt(it.person_name.as_deref()),
            opt(it.id_number_masked.as_deref()),
            it.event_id.map(|e| e.to_string()).unwrap_or_default(),
            esc(&format!("{result} {}", it.note.as_deref().unwrap_or(""))),
        ));
    }
    let body = format!(
        "<h1>档案材料交接表</h1><p class=\"meta\">交接单号：{} 　状态：{}　{}</p>\
         <table><thead><tr><th>序号</th><th>材料名称</th><th>数量</th><th>形成日期</th><th>参保人</th><th>公民身份号码</th><th>业务编号</th><th>接收情况</th></tr></thead><tbody>{rows}</tbody></table>\
         <div class=\"sign\"><span>移交人：{}　{}</span><span>接收人：{}　{}</span></div>",
        h.id,
        h.state.label(),
        opt(h.note.as_deref()),
        esc(&h.handed_over_by),
        dangan_app::local_time(h.handed_over_at),
        opt(h.received_by.as_deref()),
        h.received_at
            .map(dangan_app::local_time)
            .unwrap_or_default(),
    );
    page(&format!("档案材料交接表 {}", h.id), &body)
}

fn volume_html(v: &VolumeView) -> Html<String> {
    let number = v
        .archive_number
        .as_deref()
        .unwrap_or("（未封卷，尚无档号）");
    let retention = v
        .retention
        .as_deref()
        .map(|r| {
            dangan_domain::retention::Retention::parse(r)
                .map(|r| r.label())
                .unwrap_or(r)
        })
        .unwrap_or("");
    let first = v
        .contents
        .first()
        .map(|c| c.formation_date.to_string())
        .unwrap_or_default();
    let last = v
        .contents
        .last()
        .map(|c| c.formation_date.to_string())
        .unwrap_or_default();
    let cover = format!(
        "<div class=\"page\"><div class=\"cover\"><h1>城乡居民基本养老保险业务档案</h1>\
         <p>档号：{}</p><p>年度：{}</p><p>业务类别：{}</p><p>起止日期：{} 至 {}</p><p>卷内材料：{} 件，共 {} 页</p><p>保管期限：{}</p></div></div>",
        esc(number),
        v.year,
        esc(&v.business_class_name),
        first,
        last,
        v.contents.len(),
        v.pages,
        esc(retention)
    );
    let spine = format!(
        "<div class=\"page\"><div class=\"spine\">{}　{}　{}</div></div>",
        esc(number),
        v.year,
        esc(&v.business_class_name)
    );
    let mut rows = String::new();
    for c in &v.contents {
        let pages = if c.start_page == c.end_page {
            c.start_page.to_string()
        } else {
            format!("{}-{}", c.start_page, c.end_page)
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.seq,
            esc(&c.name),
            c.formation_date,
            c.pages,
            pages,
            esc(&c.remarks)
        ));
    }
    let contents = format!(
        "<div class=\"page\"><h1>卷内目录</h1><p class=\"meta\">档号：{}</p>\
         <table><thead><tr><th>序号</th><th>材料名称</th><th>形成日期</th><th>页数</th><th>页号</th><th>备注</th></tr></thead><tbody>{rows}</tbody></table></div>",
        esc(number)
    );
    let notes: Vec<&str> = v
        .contents
        .iter()
        .filter(|c| !c.remarks.is_empty())
        .map(|c| c.remarks.as_str())
        .collect();
    let beikao = format!(
        "<div class=\"page\"><h1>备考表</h1><p class=\"meta\">档号：{}</p><table><tbody>\
         <tr><th>卷内情况说明（缺损、修改、补充、移出等）</th></tr><tr><td style=\"height:120mm\">{}<br>{}</td></tr></tbody></table>\
         <div class=\"sign\"><span>立卷人：{}　{}</span><span>检查人：__________　日期：__________</span></div></div>",
        esc(number),
        esc(v.note.as_deref().unwrap_or("")),
        esc(&notes.join("；")),
        opt(v.sealed_by.as_deref()),
        v.sealed_at.map(dangan_app::local_time).unwrap_or_default()
    );
    page(
        &format!("案卷 {number}"),
        &format!("{cover}{spine}{contents}{beikao}"),
    )
}

/// `GET /api/v1/handovers/{id}/print`.
#[utoipa::path(
    get,
    path = "/handovers/{id}/print",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "交接单编号 — the handover list's row id"),
    ),
    responses(
        (status = 200, description = "档案材料交接表（A4 打印页）— the printable handover list", body = String, content_type = "text/html"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn print_handover(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let h = app.handover(&actor, HandoverId(row_id(&id, "id")?)).await?;
    Ok(handover_html(&h))
}

/// `GET /api/v1/volumes/{id}/print`: cover, spine label, contents list and 备考表.
#[utoipa::path(
    get,
    path = "/volumes/{id}/print",
    tag = "workflow",
    params(
        ("id" = i64, Path, minimum = 1, description = "案卷编号 — the volume's row id"),
    ),
    responses(
        (status = 200, description = "案卷封面、脊背、卷内目录和备考表（A4 打印页）— the printable volume", body = String, content_type = "text/html"),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 403, response = crate::openapi::Forbidden),
        (status = 404, response = crate::openapi::NotFound),
    )
)]
pub async fn print_volume(
    State(app): State<AppState>,
    Auth(actor, _): Auth,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let v = app.volume(&actor, VolumeId(row_id(&id, "id")?)).await?;
    Ok(volume_html(&v))
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(esc("<script>'&\""), "&lt;script&gt;&#39;&amp;&quot;");
    }
}
