//! `POST /build`: a tar context, docker's JSON message stream.

use std::sync::Arc;

use crate::body::Resp;
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

pub async fn build(_ctx: Arc<Ctx>, _call: Call) -> ApiResult<Resp> {
    Err(ApiError::NotFound("page not found".into()))
}

pub async fn prune(_ctx: Arc<Ctx>) -> ApiResult<Resp> {
    Err(ApiError::NotFound("page not found".into()))
}
