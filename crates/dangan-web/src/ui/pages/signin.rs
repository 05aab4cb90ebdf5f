//! 登录 — staff sign-in and sign-out, and the forced password change.

use super::{csrf_refused, html, landing, sign_in_failed};
use crate::extract::AppState;
use crate::ui::session::{Visitor, set_cookie};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use dangan_app::Role;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct LoginPage {
    username: String,
    error: String,
}

/// `GET /`: the sign-in page, or the page the role lands on when signed in.
pub async fn home(v: Visitor) -> Response {
    match &v.actor {
        Some(a) if matches!(a.role, Role::Insured) => Redirect::to("/my").into_response(),
        Some(a) if a.must_change_password => Redirect::to("/account/password").into_response(),
        Some(a) => Redirect::to(landing(a.role)).into_response(),
        None => html(&LoginPage {
            username: String::new(),
            error: String::new(),
        }),
    }
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

/// `POST /login`
pub async fn login(State(app): State<AppState>, v: Visitor, Form(f): Form<LoginForm>) -> Response {
    match app.login(f.username.trim(), &f.password, &v.source).await {
        Ok(l) => {
            let to = if l.must_change_password {
                "/account/password"
            } else {
                landing(l.user.role)
            };
            let mut r = Redirect::to(to).into_response();
            r.headers_mut()
                .insert(header::SET_COOKIE, set_cookie(Some(&l.token), v.secure));
            r
        }
        Err(e) => sign_in_failed(
            html(&LoginPage {
                username: f.username,
                error: e.to_string(),
            }),
            &e,
        ),
    }
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    pub(super) csrf: String,
}

/// `POST /logout`
pub async fn logout(State(app): State<AppState>, v: Visitor, Form(f): Form<CsrfForm>) -> Response {
    if let (Some(a), Some(t)) = (&v.actor, &v.token) {
        if !v.csrf_ok(&f.csrf) {
            return csrf_refused();
        }
        let _ = app.logout(a, t, false).await;
    }
    let mut r = Redirect::to("/").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(None, v.secure));
    r
}

#[derive(Template)]
#[template(path = "password.html")]
pub(super) struct PasswordPage {
    csrf: String,
    user: String,
    error: String,
    field: String,
}

/// `GET /account/password`
pub async fn password_form(v: Visitor) -> Response {
    let Some(a) = &v.actor else {
        return Redirect::to("/").into_response();
    };
    html(&PasswordPage {
        csrf: v.csrf(),
        user: a.display_name.clone(),
        error: String::new(),
        field: String::new(),
    })
}

/// The password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    current_password: String,
    new_password: String,
}

/// `POST /account/password`
pub async fn password_change(
    State(app): State<AppState>,
    v: Visitor,
    Form(f): Form<PasswordForm>,
) -> Response {
    let (Some(a), Some(t)) = (&v.actor, &v.token) else {
        return Redirect::to("/").into_response();
    };
    if !v.csrf_ok(&f.csrf) {
        return csrf_refused();
    }
    match app
        .change_password(a, t, &f.current_password, &f.new_password)
        .await
    {
        // Signed in still (the session that changed the password stays): on to the pages of
        // the account — an insured person's own archive, or a staff member's first page.
        Ok(_) if a.role == Role::Insured => Redirect::to("/my").into_response(),
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => {
            let mut r = html(&PasswordPage {
                csrf: v.csrf(),
                user: a.display_name.clone(),
                error: e.to_string(),
                field: e.field().unwrap_or_default().to_owned(),
            });
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
    }
}
