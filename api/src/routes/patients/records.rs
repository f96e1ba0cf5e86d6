//! `GET /v1/patients/{id}/checkins`, `…/exercises`, `…/sessions`: a patient's documents of one
//! kind, newest first by the time the kind is listed by, one handler for every kind with a read
//! model. Each item is the document's `id` and its declared fields, as the read model holds
//! them (`openapi.yaml`'s `…Item` schemas, checked against the declarations by a test).

use crate::access::ReadAction;
use crate::auth::AuthUser;
use crate::db;
use crate::error::ApiError;
use crate::repo::read_models::{self, Listed};
use crate::routes::patients::list::{page, ListParams, Page};
use crate::state::AppState;
use actix_web::web;
use serde_json::value::RawValue;
use sync_core::View;
use uuid::Uuid;

/// Lists the documents of `V`'s kind listed in `[from, to)`.
#[tracing::instrument(skip_all, fields(kind = V::KIND.as_str(), patient_id = %path))]
pub async fn list<V: View>(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    params: web::Query<ListParams>,
) -> Result<web::Json<Page<Box<RawValue>>>, ApiError> {
    let patient = path.into_inner();
    let page = db::run(&state.pool, move |conn| {
        let q = params.authorize(conn, &caller, patient, ReadAction::List(V::KIND))?;
        let rows = read_models::list_json(conn, V::KIND, &q)?;
        Ok(page(
            rows,
            q.limit,
            |(listed, _): &(Listed, _)| listed.position(),
            |(_, item)| item,
        ))
    })
    .await?;
    Ok(web::Json(page))
}
