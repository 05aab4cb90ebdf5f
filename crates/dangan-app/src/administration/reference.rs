//! Reference data every role may read: administrative divisions (GB/T 2260) and business types.

use serde::Serialize;

use dangan_domain::business::BusinessType;
use dangan_domain::division::{self, Division};

use crate::administration::roles::{Actor, UseCase};
use crate::{App, AppError, AppResult};

/// A business type as listed to clients.
#[derive(Debug, Clone, Serialize)]
pub struct BusinessTypeView {
    /// ASCII code.
    pub code: &'static str,
    /// Chinese name.
    pub name: &'static str,
    /// Class code.
    pub class: &'static str,
    /// Class name.
    pub class_name: &'static str,
}

impl App {
    /// The division with this code (any level).
    pub async fn division(&self, actor: &Actor, code: &str) -> AppResult<&'static Division> {
        self.authorize(actor, UseCase::ReadReference).await?;
        division::lookup(code.trim()).ok_or_else(|| {
            AppError::not_found(
                "unknown_division_code",
                format!("未找到行政区划代码“{}”", code.trim()),
            )
        })
    }

    /// Divisions whose name starts with `prefix`.
    pub async fn search_divisions(
        &self,
        actor: &Actor,
        prefix: &str,
        limit: usize,
    ) -> AppResult<Vec<&'static Division>> {
        self.authorize(actor, UseCase::ReadReference).await?;
        let prefix = prefix.trim();
        if prefix.is_empty() || prefix.chars().count() > 30 {
            return Err(AppError::invalid_with(
                "invalid_query",
                Some("q"),
                "请输入1至30个字的地名开头",
            ));
        }
        Ok(division::search_by_name_prefix(prefix, limit.clamp(1, 100)))
    }

    /// Every business type with its class.
    pub async fn business_types(&self, actor: &Actor) -> AppResult<Vec<BusinessTypeView>> {
        self.authorize(actor, UseCase::ReadReference).await?;
        Ok(BusinessType::ALL
            .iter()
            .map(|b| BusinessTypeView {
                code: b.code(),
                name: b.name(),
                class: b.class().code(),
                class_name: b.class().name(),
            })
            .collect())
    }
}
