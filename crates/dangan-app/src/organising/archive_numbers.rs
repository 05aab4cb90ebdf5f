//! 档号 allocation (S5.3): the next serial for (year, business class), rendered through the
//! configured pattern and recorded, in one transaction. Volume sealing (the organising work)
//! calls [`App::allocate_in`] inside its own transaction so that a number is never allocated
//! without being used.

use chrono::Utc;
use serde::Serialize;

use dangan_domain::archive_number::ArchiveNumberParts;
use dangan_domain::business::BusinessClass;
use dangan_domain::retention::Retention;
use dangan_store::Tx;
use dangan_store::archive_numbers::{self, AllocationRow};

use crate::administration::roles::{Actor, UseCase};
use crate::security::audit::{Op, Outcome};
use crate::{App, AppError, AppResult};

/// An allocated archive number.
#[derive(Debug, Clone, Serialize)]
pub struct Allocated {
    /// The number, e.g. `2023-参保登记-001`.
    pub archive_number: String,
    /// 卷号
    pub serial: i64,
}

fn check_year(year: i32) -> AppResult<()> {
    if (1950..=2200).contains(&year) {
        Ok(())
    } else {
        Err(AppError::invalid_with(
            "invalid_year",
            Some("year"),
            format!("年度{year}无效：应为1950至2200之间的年份"),
        ))
    }
}

impl App {
    /// Allocates and records the next number inside the caller's transaction.
    pub async fn allocate_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        year: i32,
        class: BusinessClass,
        retention: Option<Retention>,
    ) -> AppResult<Allocated> {
        check_year(year)?;
        let serial = archive_numbers::next_serial(tx, i64::from(year), class.code()).await?;
        let parts = ArchiveNumberParts {
            fonds: self.settings.fonds.as_deref(),
            year,
            class,
            retention,
            serial: u32::try_from(serial)
                .map_err(|_| AppError::Internal(format!("serial {serial} out of range")))?,
        };
        let number = self
            .settings
            .archive_number_pattern
            .render(&parts)
            .map_err(|e| AppError::invalid("archive_number_pattern", &e))?;
        archive_numbers::record(
            tx,
            &AllocationRow {
                archive_number: number.as_str().to_owned(),
                year: i64::from(year),
                business_class: class.code().to_owned(),
                serial,
                allocated_at: Utc::now(),
                allocated_by: actor.username.clone(),
            },
        )
        .await?;
        let op = Op::new("archive_number.allocate", "archive_number", number.as_str());
        self.log_in(tx, actor, &op, Outcome::Ok).await?;
        Ok(Allocated {
            archive_number: number.as_str().to_owned(),
            serial,
        })
    }

    /// Allocates the next archive number for (year, class) in a transaction of its own.
    pub async fn allocate_archive_number(
        &self,
        actor: &Actor,
        year: i32,
        class: BusinessClass,
        retention: Option<Retention>,
    ) -> AppResult<Allocated> {
        self.authorize(actor, UseCase::AllocateArchiveNumbers)
            .await?;
        let mut tx = self.store.begin_write().await?;
        let allocated = self
            .allocate_in(&mut tx, actor, year, class, retention)
            .await?;
        tx.commit().await?;
        Ok(allocated)
    }

    /// The numbers allocated for (year, class), by serial.
    pub async fn archive_numbers(
        &self,
        actor: &Actor,
        year: i32,
        class: BusinessClass,
    ) -> AppResult<Vec<Allocated>> {
        self.authorize(actor, UseCase::AllocateArchiveNumbers)
            .await?;
        let mut tx = self.store.begin().await?;
        let rows = archive_numbers::list(&mut tx, i64::from(year), class.code()).await?;
        tx.rollback().await?;
        Ok(rows
            .into_iter()
            .map(|r| Allocated {
                archive_number: r.archive_number,
                serial: r.serial,
            })
            .collect())
    }
}
