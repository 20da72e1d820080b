//! Uploaded images and handouts: the upload form of a practice's edit page, and the files
//! served from the hub itself at `/files/{sha256}/{name}`.
//!
//! An upload is refused unless the person is signed in, sent the session's CSRF token (the
//! `check_csrf` middleware, which reads multipart bodies too) and is on the practice's team.
//! What it holds is recognised by its bytes (`FileKind::detect`), and it is served with that
//! type only, `nosniff`, and a sandboxing Content-Security-Policy: nothing uploaded can run
//! as a page of the hub.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use super::publish;
use crate::AppState;
use crate::auth::{Csrf, SignedIn, Viewer};
use crate::domain::upload::{self, ACCEPTED, FileKind};
use crate::error::{AppError, AppResult};
use crate::store::files::FileRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/files/{sha256}/{name}", get(serve))
        .route(
            "/practices/{slug}/files",
            // `check_csrf` has read the body already, bounded by `max_upload_bytes`: the
            // hub-wide limit for forms must not refuse it again, with a plainer message.
            post(upload).layer(DefaultBodyLimit::disable()),
        )
}

/// A size for people: "5 MB", "320 KB".
pub fn size_label(bytes: i64) -> String {
    const MB: i64 = 1024 * 1024;
    if bytes >= MB {
        let tenths = (bytes * 10 + MB / 2) / MB;
        if tenths % 10 == 0 {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

/// A file as the edit page lists it, with the Markdown that shows it.
pub struct FileView {
    pub name: String,
    pub url: String,
    pub is_image: bool,
    pub size: String,
    pub markdown: String,
}

impl FileView {
    pub fn of(row: &FileRow, description: Option<&str>) -> FileView {
        let is_image = row.kind().is_some_and(FileKind::is_image);
        let url = row.url();
        let stem = row.name.rsplit_once('.').map_or(&*row.name, |(s, _)| s);
        let text = description
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(markdown_text)
            .unwrap_or_else(|| stem.replace(['-', '_'], " "));
        FileView {
            name: row.name.clone(),
            is_image,
            size: size_label(row.size),
            markdown: if is_image {
                format!("![{text}]({url})")
            } else {
                format!("[{text}]({url})")
            },
            url,
        }
    }
}

/// Text that stays plain inside `[…]` of a Markdown link or image.
fn markdown_text(s: &str) -> String {
    let mut out = String::new();
    for c in s.split_whitespace().collect::<Vec<_>>().join(" ").chars() {
        if matches!(c, '[' | ']' | '\\' | '*' | '_' | '`' | '<' | '>' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Serves a file by its content's hash; the name in the URL is for people and for the
/// downloaded file, and does not select anything.
async fn serve(
    State(state): State<AppState>,
    Path((sha256, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Response> {
    if !upload::is_sha256(&sha256) {
        return Err(AppError::NotFound);
    }
    let etag = format!("\"{sha256}\"");
    let file = state.db.file(&sha256).await?.ok_or(AppError::NotFound)?;
    let kind = FileKind::from_content_type(&file.content_type).ok_or(AppError::NotFound)?;
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        file.content.into_response()
    };
    let h = response.headers_mut();
    let name = upload::file_name(&name, kind);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.content_type()),
    );
    // Images are shown where they are linked; a handout is saved, never opened as a page
    // of the hub.
    let disposition = if kind.is_image() {
        "inline"
    } else {
        "attachment"
    };
    // `file_name` keeps letters, digits, `.`, `_` and `-`: safe inside the quotes.
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // The address is the content's hash: what is there never changes.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex"));
    // Should a browser ever treat the file as a document, it gets no script, no plugin, no
    // same-origin access and nothing to load.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox; frame-ancestors 'none'"),
    );
    // `nosniff` comes from `security_headers`, on every response of the hub.
    Ok(response)
}

/// Takes one file for a practice, from a member of its team, and shows the edit page with
/// the Markdown to paste (or the problem, with nothing stored).
async fn upload(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    csrf: Option<Extension<Csrf>>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    // `check_csrf` refused a bad token already; this is the handler's own guard.
    if csrf.map(|Extension(c)| c) != Some(Csrf::Valid) {
        return Err(AppError::Forbidden(
            "The upload could not be checked as coming from this hub's page. Reload the edit page and upload the file again.".into(),
        ));
    }
    let target = publish::editable(&state, &user, &slug).await?;
    let refuse = |status: StatusCode, message: String| {
        let (state, viewer, user, slug) = (&state, &viewer, &user, &slug);
        async move {
            publish::edit_page(
                state,
                viewer,
                user,
                slug,
                publish::FilesNote::Problem(message),
                Some(status),
            )
            .await
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let parts =
        super::multipart::boundary(content_type).and_then(|b| super::multipart::parse(&body, &b));
    let Some(parts) = parts else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The upload could not be read. Choose the file again and press Upload.".into(),
        )
        .await;
    };
    let file = parts
        .iter()
        .find(|p| p.name == "file" && p.filename.is_some());
    let Some(file) = file.filter(|f| !f.data.is_empty()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "No file was chosen (or it was empty). Choose a file, then press Upload.".into(),
        )
        .await;
    };
    let max = state.settings.max_upload_bytes;
    if file.data.len() > max {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "“{}” is {}, larger than this hub's limit of {}, so it was not uploaded. Make it smaller (resize the photo, or save the handout as a smaller PDF) and upload it again.",
                file.filename.as_deref().unwrap_or_default(),
                size_label(file.data.len() as i64),
                size_label(max as i64)
            ),
        )
        .await;
    }
    let Some(kind) = FileKind::detect(file.data) else {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "“{}” was not uploaded: its content is not one of the kinds the hub accepts ({ACCEPTED}), whatever its name says. SVG images are not accepted because they can carry scripts; save the image as PNG instead.",
                file.filename.as_deref().unwrap_or_default()
            ),
        )
        .await;
    };
    let name = upload::file_name(file.filename.as_deref().unwrap_or_default(), kind);
    let description: String = parts
        .iter()
        .find(|p| p.name == "description" && p.filename.is_none())
        .map(|p| String::from_utf8_lossy(p.data).trim().to_string())
        .unwrap_or_default();
    let sha = state
        .db
        .add_practice_file(target.id, user.id, &name, kind, file.data)
        .await?;
    tracing::info!(practice.slug = %slug, file.sha256 = %sha, file.size = file.data.len(), "file uploaded");
    let mut to = format!("/practices/{slug}/edit?file={sha}");
    if !description.is_empty() {
        to.push_str("&text=");
        to.push_str(&form_urlencoded::byte_serialize(description.as_bytes()).collect::<String>());
    }
    to.push_str("#files");
    Ok(Redirect::to(&to).into_response())
}
