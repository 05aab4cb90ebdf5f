//! `dangan migrate`: applies migrations and seed data, then exits.

use crate::config::StoreArgs;

/// Runs the subcommand.
pub async fn run(args: StoreArgs) -> anyhow::Result<()> {
    let (app, boot) = args.open(dangan_app::Settings::default()).await?;
    let backend = app.store().backend().name();
    if boot.migrations_applied.is_empty() {
        println!("数据库（{backend}）已是最新版本");
    } else {
        println!(
            "数据库（{backend}）已升级：应用迁移 {:?}",
            boot.migrations_applied
        );
    }
    if let Some(v) = boot.catalogue_seeded {
        println!("已载入内置归档范围（第{v}版）");
    }
    if !boot.calendar_years_seeded.is_empty() {
        println!("已载入内置工作日历：{:?}", boot.calendar_years_seeded);
    }
    app.close().await;
    Ok(())
}
