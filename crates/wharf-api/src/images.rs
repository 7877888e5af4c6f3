//! Image routes.

use std::sync::Arc;

use serde_json::Value;
use wharf_engine::Engine;

use crate::body::Resp;
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

pub async fn route(_ctx: Arc<Ctx>, _call: Call, _s: &[&str]) -> ApiResult<Resp> {
    Err(ApiError::NotFound("page not found".into()))
}

pub async fn distribution(_ctx: Arc<Ctx>, _call: Call, _name: String) -> ApiResult<Resp> {
    Err(ApiError::NotFound("page not found".into()))
}

pub fn disk_usage(_e: &Engine) -> ApiResult<Value> {
    Ok(Value::Null)
}
