//! 六 常见问题应对 — what goes wrong: missing materials supplemented (补件), archived data
//! corrected (更正), damage and loss (损毁与丢失).

pub mod corrections;
pub mod damage;
pub mod supplements;
