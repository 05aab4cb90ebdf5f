//! `dangan import` as an operator runs it, on SQLite and PostgreSQL: an agency's GB18030 export
//! with Chinese headers, refused rows in the reject file, an interrupted import run again, JSON
//! Lines of persons and events, and a file changed under its checkpoint.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dangan_app::StoreConfig;
use dangan_testkit::{TestDb, on_both_backends, person_input};
use sqlx::Connection;

/// A database for the binary: `--data-dir` (the SQLite file's directory, or a temporary one for
/// the keys) and `--database-url` on PostgreSQL.
struct Target {
    db: TestDb,
    data_dir: PathBuf,
    _keys: Option<tempfile::TempDir>,
}

impl Target {
    fn new(db: TestDb) -> Target {
        match &db.config {
            StoreConfig::SqliteFile(path) => Target {
                data_dir: path.parent().expect("directory").to_owned(),
                db,
                _keys: None,
            },
            StoreConfig::Postgres(_) => {
                let keys = tempfile::tempdir().expect("data directory");
                Target {
                    data_dir: keys.path().to_owned(),
                    db,
                    _keys: Some(keys),
                }
            }
        }
    }

    /// Runs `dangan import ARGS…` on this database.
    fn import(&self, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_dangan"));
        c.env_remove("DANGAN_DATABASE_URL")
            .env("DANGAN_LOG", "warn")
            .arg("import")
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir);
        if let StoreConfig::Postgres(url) = &self.db.config {
            c.args(["--database-url", url]);
        }
        c.output().expect("run dangan import")
    }

    /// Runs an import that must succeed and returns its standard output.
    fn import_ok(&self, args: &[&str]) -> String {
        let out = self.import(args);
        assert!(
            out.status.success(),
            "dangan import {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The first column of the first row of a query.
    async fn scalar(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.db.config {
            StoreConfig::SqliteFile(path) => {
                let mut c =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .expect("sqlite");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut c)
                    .await
                    .expect("query")
            }
            StoreConfig::Postgres(url) => {
                let mut c = sqlx::PgConnection::connect(url).await.expect("postgres");
                sqlx::query_scalar(sql)
                    .fetch_one(&mut c)
                    .await
                    .expect("query")
            }
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Writes `text` in GB18030, as Chinese Excel saves "CSV (逗号分隔)".
fn write_gb18030(path: &Path, text: &str) {
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    std::fs::write(path, bytes).expect("write");
}

/// A CSV of persons `range` (the testkit's valid persons in 湘潭县) with Chinese headers.
fn persons_csv(range: std::ops::Range<u32>) -> String {
    let mut s = String::from("身份证号码,姓名,行政区划代码,参保状态,缴费档次\r\n");
    for n in range {
        let p = person_input(n, "张三");
        s.push_str(&format!("{},张三,430321,正常参保,500\r\n", p.id_number));
    }
    s
}

fn id(n: u32) -> String {
    person_input(n, "张三").id_number
}

fn state_of(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.import-state", file.display()))
}

fn rejects_of(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.rejects.csv", file.display()))
}

on_both_backends! {
    async fn a_gb18030_csv_with_chinese_headers_imports(db: TestDb) {
        let t = Target::new(db);
        let dir = tempfile::tempdir().unwrap();
        let persons = dir.path().join("参保人.csv");
        write_gb18030(&persons, &persons_csv(1..4));
        let out = t.import_ok(&["persons", path_str(&persons)]);
        assert!(out.contains("gb18030，自动识别"), "{out}");
        assert!(out.contains("接收 3 条，拒绝 0 条，跳过 0 条"), "{out}");

        let contributions = dir.path().join("缴费明细.csv");
        write_gb18030(
            &contributions,
            &format!(
                "来源编号,身份证号码,缴费年度,缴费档次,个人缴费（元）,政府补贴,集体补助,缴费日期,缴费渠道,经办网点\r\n\
                 JF-1,{a},2023,300,300,30,,2023-03-01,银行代扣,城关\r\n\
                 JF-2,{a},2024,500,500.5,45.00,100,2024-03-01,税务征收,城关\r\n\
                 JF-3,{b},2024,200,200,30,,2024-04-01,窗口缴费,花石\r\n",
                a = id(1),
                b = id(2)
            ),
        );
        let out = t.import_ok(&["contributions", path_str(&contributions), "--source-system", "pension"]);
        assert!(out.contains("忽略未识别的列：经办网点"), "{out}");
        assert!(out.contains("接收 3 条，拒绝 0 条，跳过 0 条"), "{out}");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contributions WHERE source_system = 'pension'").await, 3);
        assert_eq!(
            t.scalar("SELECT personal_fen + subsidy_fen + collective_fen FROM contributions WHERE source_id = 'JF-2'").await,
            50_050 + 4_500 + 10_000
        );
        assert!(!state_of(&contributions).exists(), "a finished import leaves no checkpoint");
        assert!(!rejects_of(&contributions).exists(), "no rejects, no reject file");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM operation_log WHERE action = 'import.contributions'").await, 1);
    }

    async fn a_bad_row_lands_in_the_reject_file_with_its_line_field_and_reason_while_good_rows_import(db: TestDb) {
        let t = Target::new(db);
        let dir = tempfile::tempdir().unwrap();
        let persons = dir.path().join("persons.csv");
        std::fs::write(&persons, persons_csv(1..3)).unwrap();
        t.import_ok(&["persons", path_str(&persons)]);
        let file = dir.path().join("contributions.csv");
        std::fs::write(
            &file,
            format!(
                "source_id,id_number,year,tier,personal,subsidy,collective,paid_on,channel\n\
                 A1,{a},2023,300,300,30,0,2023-03-01,bank\n\
                 A2,{a},1980,300,300,30,0,2023-03-01,bank\n\
                 A3,11010519491231002X,2023,300,300,30,0,2023-03-01,bank\n\
                 A4,{b},2024,300,300,30,0,2024-03-01,bank\n\
                 A5,{b},2024,300,-3,30,0,2024-03-01,bank\n\
                 A6,{b},2024,300,\"300,00\",30,0,2024-03-01,bank\n",
                a = id(1),
                b = id(2)
            ),
        )
        .unwrap();
        let out = t.import_ok(&["contributions", path_str(&file)]);
        assert!(out.contains("接收 2 条，拒绝 4 条，跳过 0 条"), "{out}");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contributions").await, 2);
        let bytes = std::fs::read(rejects_of(&file)).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with a BOM, for Excel");
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "行号,来源编号,字段,代码,原因");
        assert!(lines[1].starts_with("3,A2,year,invalid_year,缴费年度应在1990至"), "{text}");
        assert_eq!(lines[2], "4,A3,id_number,person_not_found,未找到该参保人，请先同步参保登记");
        assert!(lines[3].starts_with("6,A5,personal,invalid_amount,\"金额应为不小于0"), "{text}");
        assert!(lines[4].starts_with("7,A6,personal,invalid_amount,"), "{text}");
        assert_eq!(lines.len(), 5, "{text}");
        assert!(out.contains("被拒绝的行见"), "{out}");
    }

    async fn an_import_killed_after_a_commit_and_run_again_ends_with_one_copy_of_every_row_and_no_state(db: TestDb) {
        let t = Target::new(db);
        let dir = tempfile::tempdir().unwrap();
        let persons = dir.path().join("persons.csv");
        std::fs::write(&persons, persons_csv(1..11)).unwrap();
        t.import_ok(&["persons", path_str(&persons)]);
        let file = dir.path().join("contributions.csv");
        let mut csv = String::from("来源编号,身份证号码,缴费年度,缴费档次,个人缴费,缴费日期,缴费渠道\n");
        for i in 0..95u32 {
            // Row 33 (line 35) is refused: its batch is done twice, its reject listed once.
            let year = if i == 33 { 1980 } else { 2000 + i % 20 };
            csv.push_str(&format!("K{i},{},{year},300,300,2024-01-02,银行代扣\n", id(1 + i % 10)));
        }
        std::fs::write(&file, &csv).unwrap();
        let first = t.import(&["contributions", path_str(&file), "--batch", "10", "--stop-after-rows", "35"]);
        assert!(!first.status.success());
        assert!(String::from_utf8_lossy(&first.stderr).contains("中止"));
        // Four batches committed, the checkpoint written after the third.
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contributions").await, 39);
        let state: serde_json::Value = serde_json::from_slice(&std::fs::read(state_of(&file)).unwrap()).unwrap();
        assert_eq!((state["line"].as_u64(), state["rows"].as_u64()), (Some(32), Some(30)), "{state}");

        let out = t.import_ok(&["contributions", path_str(&file), "--batch", "10"]);
        assert!(out.contains("从第 32 行继续"), "{out}");
        assert!(out.contains("共 95 行，接收 94 条，拒绝 1 条，跳过 0 条；本次 65 行"), "{out}");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contributions").await, 94);
        assert_eq!(t.scalar("SELECT COUNT(DISTINCT source_id) FROM contributions").await, 94);
        assert!(!state_of(&file).exists(), "the finished import removed its checkpoint");
        let rejects = std::fs::read_to_string(rejects_of(&file)).unwrap();
        assert_eq!(rejects.lines().count(), 2, "{rejects}");
        assert!(rejects.contains("\n35,K33,year,invalid_year,"), "{rejects}");
    }

    async fn json_lines_of_persons_and_of_events_import(db: TestDb) {
        let t = Target::new(db);
        let dir = tempfile::tempdir().unwrap();
        let persons = dir.path().join("persons.jsonl");
        std::fs::write(
            &persons,
            format!(
                "{{\"id_number\":\"{}\",\"name\":\"李四\",\"division_code\":\"430321\",\"tier\":300}}\n\
                 {{\"id_number\":\"{}\",\"name\":\"王五\",\"division_code\":\"430321\",\"identity\":\"011\"}}\n\
                 {{\"id_number\":\"{}\",\"name\":\"赵六\",\"division_code\":\"999999\"}}\n",
                id(1), id(2), id(3)
            ),
        )
        .unwrap();
        let out = t.import_ok(&["persons", path_str(&persons)]);
        assert!(out.contains("接收 2 条，拒绝 1 条，跳过 0 条"), "{out}");
        let rejects = std::fs::read_to_string(rejects_of(&persons)).unwrap();
        assert!(rejects.contains("\n3,430321***********"), "persons are listed by masked number: {rejects}");
        assert!(rejects.contains(",division_code,"), "{rejects}");
        // The same persons again are skipped; one with another name is refused, not changed.
        std::fs::write(
            &persons,
            format!(
                "{{\"id_number\":\"{}\",\"name\":\"李四\",\"division_code\":\"430321\",\"tier\":300}}\n\
                 {{\"id_number\":\"{}\",\"name\":\"王小五\",\"division_code\":\"430321\"}}\n",
                id(1), id(2)
            ),
        )
        .unwrap();
        let out = t.import_ok(&["persons", path_str(&persons)]);
        assert!(out.contains("接收 0 条，拒绝 1 条，跳过 1 条"), "{out}");
        let rejects = std::fs::read_to_string(rejects_of(&persons)).unwrap();
        assert!(rejects.contains(",name,person_differs,该公民身份号码已登记，但姓名与已登记的不一致"), "{rejects}");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM persons WHERE name = '王五'").await, 1);
        // A number twice in one file: registered the first time; the same data again is
        // skipped, other data refused.
        std::fs::write(
            &persons,
            format!(
                "{{\"id_number\":\"{a}\",\"name\":\"钱七\",\"division_code\":\"430321\"}}\n\
                 {{\"id_number\":\"{b}\",\"name\":\"孙八\",\"division_code\":\"430321\"}}\n\
                 {{\"id_number\":\"{a}\",\"name\":\"钱七\",\"division_code\":\"430321\"}}\n\
                 {{\"id_number\":\"{b}\",\"name\":\"孙小八\",\"division_code\":\"430321\"}}\n",
                a = id(4),
                b = id(5)
            ),
        )
        .unwrap();
        let out = t.import_ok(&["persons", path_str(&persons)]);
        assert!(out.contains("接收 2 条，拒绝 1 条，跳过 1 条"), "{out}");
        let rejects = std::fs::read_to_string(rejects_of(&persons)).unwrap();
        assert!(rejects.contains("\n4,430321***********"), "{rejects}");
        assert!(rejects.contains(",name,person_differs,"), "{rejects}");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM persons WHERE name = '孙八'").await, 1);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM persons WHERE name = '孙小八'").await, 0);

        let events = dir.path().join("events.jsonl");
        std::fs::write(
            &events,
            format!(
                "{{\"external_id\":\"YW-1\",\"id_number\":\"{a}\",\"business_type\":\"enrolment\",\"business_date\":\"2024-05-06\",\
                   \"materials\":[{{\"material_code\":\"enrolment_form\",\"pages\":2}},{{\"material_code\":\"id_card_copy\",\"pages\":1}}]}}\n\
                 {{\"external_id\":\"YW-2\",\"id_number\":\"{b}\",\"business_type\":\"参保登记\",\"business_date\":\"2024-05-07\",\"materials\":\"enrolment_form:3:electronic\"}}\n\
                 {{\"id_number\":\"{b}\",\"business_type\":\"enrolment\",\"business_date\":\"2024-05-07\"}}\n",
                a = id(1),
                b = id(2)
            ),
        )
        .unwrap();
        let out = t.import_ok(&["events", path_str(&events), "--source-system", "legacy"]);
        assert!(out.contains("接收 2 条，拒绝 1 条，跳过 0 条"), "{out}");
        let rejects = std::fs::read_to_string(rejects_of(&events)).unwrap();
        assert!(rejects.contains("\n3,,external_id,external_id_required,"), "{rejects}");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM business_events WHERE source_system = 'legacy'").await, 2);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM material_items").await, 3);
        // Events are idempotent by external id: a second run records nothing.
        let out = t.import_ok(&["events", path_str(&events), "--source-system", "legacy"]);
        assert!(out.contains("接收 0 条，拒绝 1 条，跳过 2 条"), "{out}");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM business_events").await, 2);

        // The CSV shape of events: materials as code:pages;code:pages.
        let csv = dir.path().join("events.csv");
        std::fs::write(
            &csv,
            format!(
                "来源业务编号,身份证号码,业务类型,办理日期,经办人,材料\n\
                 YW-3,{a},参保信息变更,2024-06-01,刘经办,info_change_form:1;id_card_copy:1\n",
                a = id(1)
            ),
        )
        .unwrap();
        let out = t.import_ok(&["events", path_str(&csv), "--source-system", "legacy"]);
        assert!(out.contains("接收 1 条，拒绝 0 条，跳过 0 条"), "{out}");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM material_items").await, 5);
    }

    async fn a_changed_file_with_an_unfinished_import_is_refused_unless_restarted(db: TestDb) {
        let t = Target::new(db);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("persons.csv");
        std::fs::write(&file, persons_csv(1..30)).unwrap();
        let first = t.import(&["persons", path_str(&file), "--batch", "5", "--stop-after-rows", "10"]);
        assert!(!first.status.success());
        assert!(state_of(&file).exists());
        let mut changed = persons_csv(1..30);
        changed.push_str(&format!("{},李四,430321,正常参保,500\r\n", id(40)));
        std::fs::write(&file, changed).unwrap();
        let refused = t.import(&["persons", path_str(&file)]);
        assert!(!refused.status.success());
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(err.contains("文件的大小或开头内容已经变了") && err.contains("--restart"), "{err}");
        let other_kind = t.import(&["contributions", path_str(&file)]);
        assert!(String::from_utf8_lossy(&other_kind.stderr).contains("上次导入的是 persons"));
        let out = t.import_ok(&["persons", path_str(&file), "--restart"]);
        assert!(out.contains("共 30 行，接收 20 条，拒绝 0 条，跳过 10 条"), "{out}");
        assert!(!state_of(&file).exists());
        assert_eq!(t.scalar("SELECT COUNT(*) FROM persons").await, 30);
    }
}
