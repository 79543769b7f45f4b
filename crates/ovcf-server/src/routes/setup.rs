//! First-admin set-up: on a database with no users, `serve` prints a one-time link
//! (`/setup?token=…`, 256-bit token, valid until used) that creates the first admin in the browser.
//! Without `--base-url` the link is bound to localhost: requests from other addresses are refused.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::rejection::ExtensionRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Role, token_digest};

#[derive(Deserialize)]
pub struct SetupQuery {
    pub token: Option<String>,
}

#[derive(Deserialize)]
pub struct SetupForm {
    pub token: String,
    pub name: String,
    pub password: String,
    pub password_again: String,
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head><body style=\"font-family:sans-serif;max-width:32rem;margin:3rem auto\">\
         <h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    );
    let mut r = (status, Html(html)).into_response();
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ),
    );
    r
}

fn refused() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Set-up link not valid / 设置链接无效",
        "<p>This link is unknown or was used already. / 链接无效或已使用。</p>",
    )
}

/// Whether the set-up token is live and this peer may use it.
fn allowed(state: &AppState, token: &str, peer: Option<SocketAddr>) -> bool {
    if state.setup_local_only() && !peer.is_some_and(|p| p.ip().is_loopback()) {
        return false;
    }
    state.setup_digest_matches(&token_digest(token))
}

/// The set-up form.
pub async fn form(
    State(state): State<AppState>,
    peer: Result<ConnectInfo<SocketAddr>, ExtensionRejection>,
    Query(q): Query<SetupQuery>,
) -> Response {
    let Some(token) = q.token else {
        return refused();
    };
    if !allowed(&state, &token, peer.ok().map(|ConnectInfo(a)| a)) {
        return refused();
    }
    page(
        StatusCode::OK,
        "Create the first administrator / 创建首个管理员",
        &format!(
            "<form method=\"post\" action=\"/setup\">\
             <input type=\"hidden\" name=\"token\" value=\"{}\">\
             <p><label>Name / 用户名<br><input name=\"name\" required maxlength=\"64\" autocomplete=\"username\"></label></p>\
             <p><label>Password (12+ characters) / 密码（至少12个字符）<br><input type=\"password\" name=\"password\" required minlength=\"12\" autocomplete=\"new-password\"></label></p>\
             <p><label>Again / 再次输入<br><input type=\"password\" name=\"password_again\" required minlength=\"12\" autocomplete=\"new-password\"></label></p>\
             <p><button type=\"submit\">Create / 创建</button></p></form>",
            escape(&token)
        ),
    )
}

/// Creates the first admin and spends the link.
pub async fn create(
    State(state): State<AppState>,
    peer: Result<ConnectInfo<SocketAddr>, ExtensionRejection>,
    Form(f): Form<SetupForm>,
) -> Response {
    if !allowed(&state, &f.token, peer.ok().map(|ConnectInfo(a)| a)) {
        return refused();
    }
    let Some(accounts) = state.accounts() else {
        return refused();
    };
    let problem = if f.password.chars().count() < crate::secrets::MIN_PASSWORD_CHARS {
        Some(crate::secrets::SecretError::PasswordTooShort.to_string())
    } else if f.password != f.password_again {
        Some("The passwords differ. / 两次密码不一致。".to_owned())
    } else if let Err(e) = crate::accounts::check_user_name(&f.name) {
        Some(e.to_string())
    } else {
        None
    };
    if let Some(p) = problem {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not created / 未创建",
            &format!(
                "<p>{}</p><p><a href=\"/setup?token={}\">Back / 返回</a></p>",
                escape(&p),
                escape(&f.token)
            ),
        );
    }
    // Spend the link first: two racing submissions create at most one admin.
    if !state.take_setup(&token_digest(&f.token)) {
        return refused();
    }
    // Recorded in the audit chain as done by the set-up link.
    let acting = accounts.acting_as(ovcf_store::audit::actor::SETUP);
    let accounts = acting.as_deref().unwrap_or(accounts);
    let created = match crate::secrets::hash_password(&f.password) {
        Ok(phc) => accounts
            .add_user(&f.name, Role::Admin, &phc)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match created {
        Ok(user) => {
            tracing::info!("first administrator created through the set-up link");
            page(
                StatusCode::OK,
                "Administrator created / 管理员已创建",
                &format!(
                    "<p>{} can now sign in at <a href=\"/login\">/login</a>. API tokens: <code>ovcf token create --user {}</code>.</p>",
                    escape(&user.name),
                    escape(&user.name)
                ),
            )
        }
        Err(message) => {
            // The link is spent; the operator restarts `serve` for a new one.
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Not created / 未创建",
                &format!(
                    "<p>{}</p><p>Restart <code>ovcf serve</code> for a new link. / 请重启服务获取新链接。</p>",
                    escape(&message)
                ),
            )
        }
    }
}
