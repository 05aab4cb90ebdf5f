//! The columns of an import file: for each kind, the API's field names and the Chinese headers an
//! agency export has, and the conversion of one row's cells into the API's input type. The
//! conversion only reshapes (text to number, `code:pages` to materials); every rule of the data is
//! the use-case's own, applied afterwards.

use serde_json::Value;

use dangan_domain::id_number::mask;

use super::ImportKind;
use crate::access::persons::PersonInput;
use crate::intake::events::{EventInput, MaterialInput};
use crate::integration::sync::{BenefitRecord, ContributionRecord};
use crate::{AppError, AppResult};

/// One field of a kind: its API name, the headers that mean it, and its Chinese label.
#[derive(Debug)]
pub(crate) struct Field {
    /// The API's field name (also accepted as a header, in any case).
    pub name: &'static str,
    /// Chinese headers that mean the field; the first is the label.
    pub headers: &'static [&'static str],
    /// The header must be present.
    pub required: bool,
}

const fn f(name: &'static str, headers: &'static [&'static str], required: bool) -> Field {
    Field {
        name,
        headers,
        required,
    }
}

const ID_NUMBER: &[&str] = &["身份证号码", "公民身份号码", "身份证号", "证件号码"];

const PERSONS: &[Field] = &[
    f("id_number", ID_NUMBER, true),
    f("name", &["姓名"], true),
    f(
        "division_code",
        &["行政区划代码", "行政区划", "区划代码"],
        true,
    ),
    f("status", &["参保状态"], false),
    f("tier", &["缴费档次", "档次"], false),
    f("identity", &["参保身份"], false),
];

const EVENTS: &[Field] = &[
    f(
        "external_id",
        &["来源业务编号", "业务编号", "业务流水号"],
        true,
    ),
    f("id_number", ID_NUMBER, false),
    f("person_id", &["参保人编号"], false),
    f("business_type", &["业务类型"], true),
    f("business_date", &["办理日期", "业务日期"], true),
    f("handler", &["经办人"], false),
    f("remarks", &["备注"], false),
    f("materials", &["材料", "材料清单"], false),
];

const CONTRIBUTIONS: &[Field] = &[
    f("source_id", &["来源编号", "缴费记录编号", "记录编号"], true),
    f("id_number", ID_NUMBER, true),
    f("year", &["缴费年度", "年度"], true),
    f("tier", &["缴费档次", "档次"], true),
    f("personal", &["个人缴费", "个人缴费金额"], true),
    f("subsidy", &["政府补贴", "政府补贴金额"], false),
    f("collective", &["集体补助", "集体补助金额"], false),
    f("paid_on", &["缴费日期", "到账日期"], true),
    f("channel", &["缴费渠道", "缴费方式"], true),
];

const BENEFITS: &[Field] = &[
    f("source_id", &["来源编号", "发放记录编号", "记录编号"], true),
    f("id_number", ID_NUMBER, true),
    f("month", &["发放月份", "发放年月"], true),
    f("amount", &["发放金额", "金额"], true),
    f("status", &["发放状态", "状态"], true),
];

/// The fields of a kind.
pub(crate) fn fields(kind: ImportKind) -> &'static [Field] {
    match kind {
        ImportKind::Persons => PERSONS,
        ImportKind::Events => EVENTS,
        ImportKind::Contributions => CONTRIBUTIONS,
        ImportKind::Benefits => BENEFITS,
    }
}

/// The field slot a header names: the API name in any case, or a Chinese header, with a unit in
/// brackets ignored (`个人缴费（元）`).
fn slot(kind: ImportKind, header: &str) -> Option<usize> {
    let h = header.trim().trim_start_matches('\u{feff}').trim();
    let h = match h.find(['（', '(']) {
        Some(i) if h.ends_with(['）', ')']) && i > 0 => h[..i].trim_end(),
        _ => h,
    };
    fields(kind)
        .iter()
        .position(|f| f.name.eq_ignore_ascii_case(h) || f.headers.contains(&h))
}

/// How the columns of a CSV file map onto a kind's fields.
#[derive(Debug, Clone)]
pub(crate) struct ColumnMap {
    /// For each column, the field slot it fills.
    pub slots: Vec<Option<usize>>,
    /// Headers that name no field (ignored, and said so).
    pub ignored: Vec<String>,
}

/// Maps a header row; refuses a missing required column or a field named twice.
pub(crate) fn map_headers(kind: ImportKind, headers: &[String]) -> AppResult<ColumnMap> {
    let spec = fields(kind);
    let mut slots = Vec::with_capacity(headers.len());
    let mut ignored = Vec::new();
    let mut seen = vec![false; spec.len()];
    for h in headers {
        let s = slot(kind, h);
        match s {
            Some(i) if seen[i] => {
                return Err(AppError::invalid_with(
                    "duplicate_column",
                    Some(spec[i].name),
                    format!(
                        "表头中有两列都表示“{}”（{}），请删去一列",
                        spec[i].headers[0], spec[i].name
                    ),
                ));
            }
            Some(i) => seen[i] = true,
            None if h.trim().is_empty() => {}
            None => ignored.push(h.trim().to_owned()),
        }
        slots.push(s);
    }
    let missing: Vec<String> = spec
        .iter()
        .zip(&seen)
        .filter(|(f, seen)| f.required && !**seen)
        .map(|(f, _)| format!("{}（{}）", f.headers[0], f.name))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::invalid_with(
            "missing_column",
            None,
            format!(
                "表头缺少必需的列：{}。可用中文表头或接口字段名",
                missing.join("、")
            ),
        ));
    }
    if kind == ImportKind::Events && !seen[1] && !seen[2] {
        return Err(AppError::invalid_with(
            "missing_column",
            None,
            "表头缺少参保人列：身份证号码（id_number）或参保人编号（person_id）",
        ));
    }
    Ok(ColumnMap { slots, ignored })
}

/// The cells of one row, by field slot; absent or blank cells are `None`.
#[derive(Debug)]
pub(crate) struct Cells {
    kind: ImportKind,
    cells: Vec<Option<Value>>,
}

impl Cells {
    /// Empty cells for a kind.
    pub(crate) fn new(kind: ImportKind) -> Cells {
        Cells {
            kind,
            cells: vec![None; fields(kind).len()],
        }
    }

    /// Sets a slot (blank strings and nulls stay absent).
    pub(crate) fn set(&mut self, slot: usize, v: Value) {
        let v = match v {
            Value::Null => return,
            Value::String(s) => {
                let t = s.trim();
                if t.is_empty() {
                    return;
                }
                if t.len() == s.len() {
                    Value::String(s)
                } else {
                    Value::String(t.to_owned())
                }
            }
            v => v,
        };
        self.cells[slot] = Some(v);
    }

    fn index(&self, name: &str) -> usize {
        fields(self.kind)
            .iter()
            .position(|f| f.name == name)
            .unwrap_or_else(|| unreachable!("no field {name}"))
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        let i = self.index(name);
        self.cells[i].take()
    }

    fn peek_text(&self, name: &str) -> String {
        match &self.cells[self.index(name)] {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    }

    /// A text field; a JSON number is taken as its digits.
    fn text(&mut self, name: &str) -> Option<String> {
        match self.take(name)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            other => Some(other.to_string()),
        }
    }

    /// A whole number, from a JSON number or from text.
    fn int(&mut self, name: &str) -> AppResult<Option<i64>> {
        let label = self.label(name);
        let bad =
            || AppError::invalid_with("invalid_number", Some(name), format!("{label}应为整数"));
        match self.take(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }

    fn required_int(&mut self, name: &str) -> AppResult<i64> {
        let label = self.label(name);
        self.int(name)?.ok_or_else(|| {
            AppError::invalid_with("missing_value", Some(name), format!("缺少{label}"))
        })
    }

    fn label(&self, name: &str) -> &'static str {
        fields(self.kind)[self.index(name)].headers[0]
    }

    /// What the reject file shows as the row's 来源编号: the source id, the event's external id,
    /// or a person's masked identity number.
    pub(crate) fn source_ref(&self) -> String {
        match self.kind {
            ImportKind::Persons => mask(&self.peek_text("id_number")),
            ImportKind::Events => self.peek_text("external_id"),
            ImportKind::Contributions | ImportKind::Benefits => self.peek_text("source_id"),
        }
    }
}

/// A row converted into the API's input.
#[derive(Debug)]
pub(crate) enum Input {
    /// A person.
    Person(PersonInput),
    /// A business event.
    Event(EventInput),
    /// A contribution record.
    Contribution(ContributionRecord),
    /// A benefit payment.
    Benefit(BenefitRecord),
}

/// Converts a row's cells into the API's input of its kind.
pub(crate) fn convert(mut c: Cells, source_system: &str) -> AppResult<Input> {
    Ok(match c.kind {
        ImportKind::Persons => Input::Person(PersonInput {
            id_number: c.text("id_number").unwrap_or_default(),
            name: c.text("name").unwrap_or_default(),
            division_code: c.text("division_code").unwrap_or_default(),
            status: c.text("status"),
            tier: c.int("tier")?,
            identity: c.text("identity"),
        }),
        ImportKind::Events => {
            let external_id = c.text("external_id").ok_or_else(|| {
                AppError::invalid_with(
                    "external_id_required",
                    Some("external_id"),
                    "批量导入的业务须有来源业务编号，重复导入时才不会重复登记",
                )
            })?;
            Input::Event(EventInput {
                person_id: c.int("person_id")?,
                id_number: c.text("id_number"),
                business_type: c.text("business_type").unwrap_or_default(),
                business_date: c.text("business_date").unwrap_or_default(),
                handler: c.text("handler"),
                source_system: Some(source_system.to_owned()),
                external_id: Some(external_id),
                remarks: c.text("remarks"),
                materials: match c.take("materials") {
                    None => Vec::new(),
                    Some(Value::String(s)) => materials(&s)?,
                    Some(v) => serde_json::from_value(v).map_err(|_| bad_materials())?,
                },
            })
        }
        ImportKind::Contributions => {
            let year = c.required_int("year")?;
            Input::Contribution(ContributionRecord {
                source_id: c.text("source_id").unwrap_or_default(),
                id_number: c.text("id_number").unwrap_or_default(),
                year: i32::try_from(year).unwrap_or(i32::MIN),
                tier: c.required_int("tier")?,
                personal: c.take("personal").unwrap_or(Value::Null),
                subsidy: c.take("subsidy"),
                collective: c.take("collective"),
                paid_on: c.text("paid_on").unwrap_or_default(),
                channel: c.text("channel").unwrap_or_default(),
            })
        }
        ImportKind::Benefits => Input::Benefit(BenefitRecord {
            source_id: c.text("source_id").unwrap_or_default(),
            id_number: c.text("id_number").unwrap_or_default(),
            month: c.text("month").unwrap_or_default(),
            amount: c.take("amount").unwrap_or(Value::Null),
            status: c
                .text("status")
                .map(|s| benefit_status(&s).to_owned())
                .unwrap_or_default(),
        }),
    })
}

/// A benefit status as an agency export writes it, as the API's code.
fn benefit_status(s: &str) -> &str {
    match s {
        "已发放" | "发放" => "paid",
        "暂停" | "暂停发放" => "suspended",
        "退回" => "returned",
        other => other,
    }
}

fn bad_materials() -> AppError {
    AppError::invalid_with(
        "invalid_materials",
        Some("materials"),
        "材料应写作“材料代码:页数”，可加“:载体”，多件用分号分隔，如 enrolment_form:2;id_card:1:electronic",
    )
}

/// `code:pages[:carrier]` items separated by `;` (full-width `；` and `：` accepted).
fn materials(s: &str) -> AppResult<Vec<MaterialInput>> {
    s.split([';', '；'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let mut parts = item.split([':', '：']).map(str::trim);
            let code = parts.next().filter(|c| !c.is_empty());
            let pages = parts.next().and_then(|p| p.parse::<i64>().ok());
            let carrier = parts.next().filter(|c| !c.is_empty());
            match (code, pages, parts.next()) {
                (Some(code), Some(pages), None) => Ok(MaterialInput {
                    material_code: code.to_owned(),
                    pages,
                    carrier: carrier.map(str::to_owned),
                    ..MaterialInput::default()
                }),
                _ => Err(bad_materials()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn chinese_and_english_headers_name_the_same_fields() {
        let zh = map_headers(
            ImportKind::Contributions,
            &headers(&[
                "\u{feff}来源编号",
                "身份证号码",
                "缴费年度",
                "缴费档次",
                "个人缴费（元）",
                "政府补贴(元)",
                "集体补助",
                "缴费日期",
                "缴费渠道",
                "经办网点",
            ]),
        )
        .unwrap();
        let en = map_headers(
            ImportKind::Contributions,
            &headers(&[
                "source_id",
                "ID_NUMBER",
                "year",
                "tier",
                "personal",
                "subsidy",
                "collective",
                "paid_on",
                "channel",
            ]),
        )
        .unwrap();
        assert_eq!(zh.slots[..9], en.slots[..]);
        assert_eq!(zh.slots[9], None);
        assert_eq!(zh.ignored, ["经办网点"]);
    }

    #[test]
    fn a_missing_required_column_or_a_column_named_twice_refuses_the_file() {
        let e = map_headers(
            ImportKind::Benefits,
            &headers(&["来源编号", "身份证号码", "发放月份"]),
        )
        .unwrap_err();
        assert_eq!(e.code(), "missing_column");
        assert!(e.to_string().contains("发放金额（amount）"), "{e}");
        let e = map_headers(
            ImportKind::Persons,
            &headers(&["身份证号码", "id_number", "姓名", "行政区划代码"]),
        )
        .unwrap_err();
        assert_eq!(e.code(), "duplicate_column");
    }

    #[test]
    fn materials_are_written_code_colon_pages_separated_by_semicolons() {
        let m = materials("enrolment_form:2； id_card：1:electronic;").unwrap();
        let got: Vec<(&str, i64, Option<&str>)> = m
            .iter()
            .map(|m| (m.material_code.as_str(), m.pages, m.carrier.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("enrolment_form", 2, None),
                ("id_card", 1, Some("electronic"))
            ]
        );
        for bad in ["enrolment_form", "x:two", ":2", "a:1:paper:extra"] {
            assert_eq!(materials(bad).unwrap_err().code(), "invalid_materials");
        }
    }

    #[test]
    fn a_year_that_is_not_a_number_is_refused_with_its_chinese_label() {
        let mut c = Cells::new(ImportKind::Contributions);
        c.set(2, Value::String("二〇二四".into()));
        let e = convert(c, "import").unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid_number", Some("year")));
        assert_eq!(e.to_string(), "缴费年度应为整数");
    }
}
