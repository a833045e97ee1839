//! API errors: a status and a JSON body saying what is wrong.
//!
//! Bad input always gets a 4xx naming the problem; a 500 means the store failed, never
//! that the request was malformed.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// Every error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// A stable, machine-readable code such as `invalid_job` or `not_found`.
    code: String,
    /// What is wrong, for people.
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// The same error located at `at` (`jobs[3]`) in the request.
    pub(crate) fn within(mut self, at: &str) -> Self {
        if !at.is_empty() {
            self.message = format!("{at}: {}", self.message);
        }
        self
    }
}

impl From<tenax_core::Error> for ApiError {
    fn from(err: tenax_core::Error) -> Self {
        use tenax_core::Error as E;
        match &err {
            E::InvalidJob(_) => Self::unprocessable("invalid_job", err.to_string()),
            E::NotFound { .. } => Self::not_found(err.to_string()),
            E::DiskFull { .. } => Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "disk_full",
                err.to_string(),
            ),
            E::Unavailable(_) => {
                tracing::warn!(%err, "the store's server is unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the store's server is unavailable; retry later",
                )
            }
            _ => {
                tracing::error!(%err, "store error while answering an API request");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "store", err.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
