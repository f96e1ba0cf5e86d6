//! The HTTP surface: one module per resource, one file per endpoint. [`endpoints`] is the single
//! list of what the server answers; the app is built from it and the contract test reads it.

pub mod auth;
pub mod body;
pub mod caseload;
pub mod clinicians;
pub mod consents;
pub mod health;
pub mod me;
pub mod patients;
pub mod sync;
pub mod tracks;

use crate::error::ApiError;
use actix_web::http::Method;
use actix_web::{web, HttpResponse, Route};
use std::collections::BTreeMap;

/// One method on one path, with its handler.
pub struct Endpoint {
    /// HTTP method.
    pub method: Method,
    /// Path pattern in actix syntax (`/v1/patients/{id}`), which is also OpenAPI's.
    pub path: &'static str,
    /// The handler.
    pub route: fn() -> Route,
    /// Takes sync batches, larger than other bodies (`TETHER_MAX_PUSH_BYTES`).
    pub large_body: bool,
}

/// Every endpoint the server answers.
pub fn endpoints() -> Vec<Endpoint> {
    fn e(method: Method, path: &'static str, route: fn() -> Route) -> Endpoint {
        Endpoint {
            method,
            path,
            route,
            large_body: false,
        }
    }
    vec![
        e(Method::GET, "/healthz", || {
            web::get().to(health::healthz::healthz)
        }),
        e(Method::GET, "/readyz", || {
            web::get().to(health::readyz::readyz)
        }),
        e(Method::POST, "/v1/auth/login", || {
            web::post().to(auth::login::login)
        }),
        e(Method::POST, "/v1/auth/refresh", || {
            web::post().to(auth::refresh::refresh)
        }),
        e(Method::POST, "/v1/auth/logout", || {
            web::post().to(auth::logout::logout)
        }),
        e(Method::POST, "/v1/auth/activate", || {
            web::post().to(auth::activate::activate)
        }),
        e(Method::GET, "/v1/me", || web::get().to(me::get::me)),
        e(Method::POST, "/v1/clinicians", || {
            web::post().to(clinicians::create::create_clinician)
        }),
        e(Method::POST, "/v1/patients", || {
            web::post().to(patients::enroll::enroll_patient)
        }),
        e(Method::GET, "/v1/patients/{id}/checkins", || {
            web::get().to(patients::records::list::<sync_core::CheckIn>)
        }),
        e(Method::GET, "/v1/patients/{id}/exercises", || {
            web::get().to(patients::records::list::<sync_core::Exercise>)
        }),
        e(Method::GET, "/v1/patients/{id}/sessions", || {
            web::get().to(patients::records::list::<sync_core::Session>)
        }),
        Endpoint {
            large_body: true,
            ..e(Method::POST, "/v1/sync/push", || {
                web::post().to(sync::push::push)
            })
        },
        e(Method::GET, "/v1/sync/pull", || {
            web::get().to(sync::pull::pull)
        }),
        e(Method::POST, "/v1/patients/{id}/consents", || {
            web::post().to(consents::create::create_consent)
        }),
        e(Method::GET, "/v1/patients/{id}/consents", || {
            web::get().to(consents::list::list_consents)
        }),
        e(
            Method::DELETE,
            "/v1/patients/{id}/consents/{consent_id}",
            || web::delete().to(consents::revoke::revoke_consent),
        ),
        e(Method::GET, "/v1/patients/{id}/access-log", || {
            web::get().to(patients::access_log::access_log)
        }),
        e(Method::GET, "/v1/patients/{id}/trends", || {
            web::get().to(patients::trends::trends)
        }),
        e(Method::GET, "/v1/caseload", || {
            web::get().to(caseload::get::caseload)
        }),
        e(Method::POST, "/v1/tracks", || {
            web::post().to(tracks::create::create_track)
        }),
        e(Method::GET, "/v1/tracks/{id}", || {
            web::get().to(tracks::get::get_track)
        }),
        e(Method::POST, "/v1/tracks/{id}/enrollments", || {
            web::post().to(tracks::enroll::enroll)
        }),
        e(Method::GET, "/v1/patients/{id}/iop-hours", || {
            web::get().to(patients::iop_hours::iop_hours)
        }),
    ]
}

/// `(METHOD, path)` for every endpoint, for the contract test and the docs.
pub fn route_table() -> Vec<(String, &'static str)> {
    endpoints()
        .into_iter()
        .map(|e| (e.method.to_string(), e.path))
        .collect()
}

/// The JSON body settings: a size limit, and errors in the API's JSON shape.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _| ApiError::from(err).into())
}

/// Registers every endpoint, grouping methods by path so that a known path asked with another
/// method gets a JSON 405 rather than a 404. Sync pushes get their own, larger body limit.
pub fn configure(cfg: &mut web::ServiceConfig, max_push_bytes: usize) {
    let mut by_path: BTreeMap<&'static str, Vec<Endpoint>> = BTreeMap::new();
    for endpoint in endpoints() {
        by_path.entry(endpoint.path).or_default().push(endpoint);
    }
    for (path, endpoints) in by_path {
        let mut resource = web::resource(path);
        if endpoints.iter().any(|e| e.large_body) {
            resource = resource.app_data(json_config(max_push_bytes));
        }
        let allow = endpoints
            .iter()
            .map(|e| e.method.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        for endpoint in endpoints {
            resource = resource.route((endpoint.route)());
        }
        cfg.service(resource.default_service(web::to(move || {
            let allow = allow.clone();
            async move { Err::<HttpResponse, _>(ApiError::MethodNotAllowed { allow }) }
        })));
    }
}

/// The answer for any path the server does not know.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such endpoint".into()))
}
