//! Network routes.

use std::sync::Arc;

use crate::body::Resp;
use crate::error::{ApiError, ApiResult};
use crate::router::Call;
use crate::server::Ctx;

fn todo() -> ApiResult<Resp> {
    Err(ApiError::NotFound("page not found".into()))
}
pub async fn list(_ctx: Arc<Ctx>, _call: Call) -> ApiResult<Resp> {
    todo()
}
pub async fn create(_ctx: Arc<Ctx>, _call: Call) -> ApiResult<Resp> {
    todo()
}
pub async fn prune(_ctx: Arc<Ctx>) -> ApiResult<Resp> {
    todo()
}
pub async fn inspect(_ctx: Arc<Ctx>, _id: &str) -> ApiResult<Resp> {
    todo()
}
pub async fn remove(_ctx: Arc<Ctx>, _id: &str) -> ApiResult<Resp> {
    todo()
}
pub async fn connect(_ctx: Arc<Ctx>, _call: Call, _id: &str, _c: bool) -> ApiResult<Resp> {
    todo()
}
