//! `GET|HEAD|PUT /containers/{id}/archive`: `docker cp` both ways.

use std::sync::Arc;

use crate::body::Resp;
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

pub async fn archive(_ctx: Arc<Ctx>, _call: Call, _id: &str) -> ApiResult<Resp> {
    Err(ApiError::NotFound("page not found".into()))
}
