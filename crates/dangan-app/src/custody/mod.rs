//! 保管 — the paper archive room (the guide's 一(三) 设施 and 四(一) 物理安全; S2.3, S3.1, S7.1):
//! rooms and their places, where every sealed volume stands, stocktakes, the custody post's
//! daily check, environment readings and alerts, the equipment register and capacity.

pub mod capacity;
pub mod checks;
pub mod environment;
pub mod equipment;
pub mod locations;
pub mod rooms;
pub mod stocktake;
