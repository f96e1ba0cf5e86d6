//! The dashboard's cookies, read and written by hand (a dozen lines, where the `cookie` crate
//! would bring a date library along).
//!
//! Every cookie is `HttpOnly` (no script can read it), `SameSite=Strict` (no other site can make
//! the browser send it, the first line of defence against cross-site request forgery),
//! `Path=/dashboard`, and `Secure`. `Secure` stays on even for plain-HTTP development: browsers
//! treat `localhost` and `127.0.0.1` as secure contexts and keep and send `Secure` cookies there,
//! so `cargo run -- --dev` on a laptop works, while on any other host a browser only keeps the
//! session cookie over HTTPS, which is what a page of patient records needs. There is no
//! `Max-Age` on the session cookie: it dies with the browser, and the server ends it sooner
//! when idle.

use actix_web::http::header;
use actix_web::HttpRequest;

/// The browser session (its value is the session token; the database holds its hash).
pub const SESSION: &str = "tether_dashboard";
/// The sign-in form's CSRF token, before there is a session (double-submit).
pub const SIGN_IN: &str = "tether_sign_in";

/// The value of cookie `name` sent with the request, if any.
pub fn get(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value that stores `value` under `name` until the browser closes.
pub fn set(name: &str, value: &str) -> String {
    format!("{name}={value}; Path=/dashboard; HttpOnly; Secure; SameSite=Strict")
}

/// A `Set-Cookie` value that deletes cookie `name`.
pub fn clear(name: &str) -> String {
    format!("{name}=; Path=/dashboard; HttpOnly; Secure; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn a_cookie_is_found_among_others_and_an_empty_one_is_none() {
        let req = TestRequest::default()
            .insert_header((header::COOKIE, "a=1; tether_dashboard=abc; b=2"))
            .to_http_request();
        assert_eq!(get(&req, SESSION).unwrap(), "abc");
        assert_eq!(get(&req, SIGN_IN), None);
        let req = TestRequest::default()
            .insert_header((header::COOKIE, "tether_dashboard="))
            .to_http_request();
        assert_eq!(get(&req, SESSION), None);
    }

    #[test]
    fn every_cookie_is_http_only_strict_and_secure() {
        for c in [set(SESSION, "x"), clear(SESSION)] {
            assert!(c.contains("; HttpOnly"), "{c}");
            assert!(c.contains("; Secure"), "{c}");
            assert!(c.contains("; SameSite=Strict"), "{c}");
            assert!(c.contains("; Path=/dashboard"), "{c}");
        }
        assert!(clear(SIGN_IN).ends_with("Max-Age=0"));
    }
}
