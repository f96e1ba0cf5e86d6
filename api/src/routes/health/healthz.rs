//! `GET /healthz`: the process is up and serving HTTP. It touches nothing else, so a load
//! balancer does not take a server out of rotation for a database blip.

use actix_web::HttpResponse;
use serde_json::json;

/// Always 200 while the server runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}
