//! The administrator's page: users (add with a role and an Argon2id-hashed password) and API
//! tokens (issue for a user — shown once —, revoke). The same operations as `ovcf user add` and
//! `ovcf token create|revoke`, audited in the registry's chain under the signed-in administrator's
//! name. Passwords, tokens and digests are never logged or shown again.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::{ADMIN, Ctx, field};
use crate::AppState;
use crate::accounts::Accounts;
use crate::auth::{Role, token_digest};
use crate::web::session::WebSession;
use crate::web::{page, respond};

const ROLES: [Role; 3] = [Role::Clinician, Role::Coordinator, Role::Admin];

/// The accounts as the signed-in administrator (so changes are audited under their name).
fn acting(state: &AppState, session: &WebSession) -> Option<std::sync::Arc<dyn Accounts>> {
    state.accounts().and_then(|a| a.acting_as(&session.user))
}

async fn admin_page(
    state: &AppState,
    ctx: &Ctx<'_>,
    problem: Option<&str>,
    notice: Option<Markup>,
) -> Response {
    let Some(accounts) = state.accounts() else {
        return ctx.fail(&"no account store");
    };
    let (users, tokens) = match (accounts.list_users().await, accounts.list_tokens().await) {
        (Ok(u), Ok(t)) => (u, t),
        (Err(e), _) | (_, Err(e)) => return ctx.fail(&e),
    };
    let content = html! {
        h1 { (ctx.t("web.admin_title")) }
        @if let Some(n) = notice { (n) }
        @if let Some(p) = problem { p.form-error role="alert" { (p) } }
        section {
            h2 { (ctx.t("web.users")) }
            table.grid.users {
                thead { tr {
                    th scope="col" { (ctx.t("web.user_name")) }
                    th scope="col" { (ctx.t("web.role_label")) }
                    th scope="col" { (ctx.t("web.created")) }
                    th scope="col" { (ctx.t("web.live_tokens")) }
                    th scope="col" { (ctx.t("web.status")) }
                } }
                tbody { @for u in &users {
                    tr data-user=(u.name) {
                        th scope="row" { (u.name) }
                        td { (ctx.t(&format!("web.role.{}", u.role))) }
                        td { (u.created_at) }
                        td { (u.live_tokens) }
                        td {
                            @match &u.disabled_at {
                                Some(at) => { (ctx.t("web.disabled")) " " (at) }
                                None if u.name == ctx.session.user => { (ctx.t("web.active")) }
                                None => {
                                    form method="post" action={ "/admin/users/" (crate::web::url_encode(&u.name)) "/disable" } {
                                        input type="hidden" name="csrf" value=(ctx.session.csrf);
                                        button type="submit" { (ctx.t("web.disable")) }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            form.card.add-user method="post" action="/admin/users" {
                h3 { (ctx.t("web.add_user")) }
                input type="hidden" name="csrf" value=(ctx.session.csrf);
                div.grid {
                    div.field { label for="u-name" { (ctx.t("web.user_name")) } input #u-name name="name" required maxlength="64" autocomplete="off"; }
                    div.field {
                        label for="u-role" { (ctx.t("web.role_label")) }
                        select #u-role name="role" required {
                            option value="" { (ctx.t("form.choose")) }
                            @for r in ROLES { option value=(r.as_str()) { (ctx.t(&format!("web.role.{}", r.as_str()))) } }
                        }
                    }
                    div.field { label for="u-pw" { (ctx.t("web.password_new")) } input #u-pw type="password" name="password" required minlength="12" autocomplete="new-password"; }
                    div.field { label for="u-pw2" { (ctx.t("web.password_again")) } input #u-pw2 type="password" name="password_again" required minlength="12" autocomplete="new-password"; }
                }
                button.primary type="submit" { (ctx.t("web.add_user")) }
            }
        }
        section {
            h2 { (ctx.t("web.tokens")) }
            p.hint { (ctx.t("web.tokens_help")) }
            form.filters method="post" action="/admin/tokens" {
                input type="hidden" name="csrf" value=(ctx.session.csrf);
                label for="t-user" { (ctx.t("web.user_name")) }
                select #t-user name="user" required {
                    option value="" { (ctx.t("form.choose")) }
                    @for u in &users { option value=(u.name) { (u.name) } }
                }
                button type="submit" { (ctx.t("web.issue_token")) }
            }
            @if tokens.is_empty() { p.empty { (ctx.t("web.no_data")) } }
            @else {
                table.grid.tokens {
                    thead { tr {
                        th scope="col" { "#" }
                        th scope="col" { (ctx.t("web.user_name")) }
                        th scope="col" { (ctx.t("web.created")) }
                        th scope="col" { (ctx.t("web.status")) }
                    } }
                    tbody { @for t in &tokens {
                        tr data-token=(t.id) {
                            th scope="row" { (t.id) }
                            td { (t.user) }
                            td { (t.created_at) }
                            td {
                                @match &t.revoked_at {
                                    Some(at) => { (ctx.t("web.revoked")) " " (at) }
                                    None => {
                                        form method="post" action={ "/admin/tokens/" (t.id) "/revoke" } {
                                            input type="hidden" name="csrf" value=(ctx.session.csrf);
                                            button type="submit" { (ctx.t("web.revoke")) }
                                        }
                                    }
                                }
                            }
                        }
                    } }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        page(&ctx.frame(), ctx.t("web.admin_title"), content),
    )
}

/// `GET /admin`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/admin", "admin");
    ctx.require(ADMIN)?;
    Ok(admin_page(&state, &ctx, None, None).await)
}

/// `POST /admin/users`: adds a user.
pub async fn add_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/admin", "admin");
    ctx.require_form(ADMIN, &pairs)?;
    let name = field(&pairs, "name").unwrap_or("").to_owned();
    let role = field(&pairs, "role").and_then(|r| r.parse::<Role>().ok());
    // Passwords are taken as typed (spaces are part of a passphrase).
    let raw = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (password, again) = (raw("password"), raw("password_again"));
    let problem = if let Err(e) = crate::accounts::check_user_name(&name) {
        Some(e.to_string())
    } else if role.is_none() {
        Some(ctx.t("web.choose_role").to_owned())
    } else if password.chars().count() < crate::secrets::MIN_PASSWORD_CHARS {
        Some(ctx.t("web.password_short").to_owned())
    } else if password != again {
        Some(ctx.t("web.password_differs").to_owned())
    } else {
        None
    };
    let (Some(role), None) = (role, &problem) else {
        return Ok(admin_page(&state, &ctx, problem.as_deref(), None).await);
    };
    let Some(accounts) = acting(&state, &session).or_else(|| state.accounts_arc()) else {
        return Err(ctx.fail(&"no account store"));
    };
    let phc =
        match tokio::task::spawn_blocking(move || crate::secrets::hash_password(&password)).await {
            Ok(Ok(phc)) => phc,
            Ok(Err(e)) => return Ok(admin_page(&state, &ctx, Some(&e.to_string()), None).await),
            Err(e) => return Err(ctx.fail(&e)),
        };
    match accounts.add_user(&name, role, &phc).await {
        Ok(_) => {
            tracing::info!(by = %session.user, role = %role, "user added from the web");
            Ok(Redirect::to("/admin").into_response())
        }
        Err(e) => Ok(admin_page(&state, &ctx, Some(&e.to_string()), None).await),
    }
}

/// `POST /admin/tokens`: issues an API token for a user and shows it once.
pub async fn issue_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/admin", "admin");
    ctx.require_form(ADMIN, &pairs)?;
    let user = field(&pairs, "user").unwrap_or("").to_owned();
    let Some(accounts) = acting(&state, &session).or_else(|| state.accounts_arc()) else {
        return Err(ctx.fail(&"no account store"));
    };
    let token = crate::secrets::new_api_token().map_err(|e| ctx.fail(&e))?;
    match accounts.add_token(&user, &token_digest(&token)).await {
        Ok(id) => {
            let notice = html! {
                div.notice.token-once role="status" {
                    p { strong { (ctx.t("web.token_once")) } }
                    p { (ctx.t("web.user_name")) ": " (user) " · #" (id) }
                    p { code #new-token { (token) } }
                }
            };
            Ok(admin_page(&state, &ctx, None, Some(notice)).await)
        }
        Err(e) => Ok(admin_page(&state, &ctx, Some(&e.to_string()), None).await),
    }
}

/// `POST /admin/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/admin", "admin");
    ctx.require_form(ADMIN, &pairs)?;
    let Some(accounts) = acting(&state, &session).or_else(|| state.accounts_arc()) else {
        return Err(ctx.fail(&"no account store"));
    };
    match accounts.revoke_token(id).await {
        Ok(_) => Ok(Redirect::to("/admin").into_response()),
        Err(e) => Err(ctx.fail(&e)),
    }
}

/// `POST /admin/users/{name}/disable`: the user can no longer sign in, their API tokens stop
/// working and their open browser sessions end. An administrator cannot disable themselves here
/// (the last administrator would lock everyone out).
pub async fn disable_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: WebSession,
    Path(name): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, Response> {
    let ctx = Ctx::new(&headers, &session, "/admin", "admin");
    ctx.require_form(ADMIN, &pairs)?;
    if name == session.user {
        return Ok(admin_page(&state, &ctx, Some(ctx.t("web.cannot_disable_self")), None).await);
    }
    let Some(accounts) = acting(&state, &session).or_else(|| state.accounts_arc()) else {
        return Err(ctx.fail(&"no account store"));
    };
    accounts
        .disable_user(&name)
        .await
        .map_err(|e| ctx.fail(&e))?;
    state.web().sessions.remove_user(&name);
    tracing::info!(by = %session.user, "user disabled from the web");
    Ok(Redirect::to("/admin").into_response())
}
