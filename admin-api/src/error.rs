//! API errors: one enum, one mapping to status and `{error, message}` JSON.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_registry::StoreError;
use serde::Serialize;

/// Everything a handler can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, an unknown field, a wrong type, a missing or invalid field.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// A stale version or an illegal lifecycle transition.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A well-formed document that is not acceptable (an invalid JSON Schema).
    #[error("{0}")]
    Unprocessable(String),
    /// Logged with its detail; the client sees a generic message.
    #[error("internal error")]
    Internal(String),
    #[error("the store is unavailable")]
    Unavailable(String),
    /// The vault cannot serve (no usable master key); the message says what is missing.
    #[error("{0}")]
    VaultUnavailable(String),
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// A stable machine-readable code (`bad_request`, `not_found`, ...).
    pub error: &'static str,
    /// What is wrong, for a human.
    pub message: String,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable_entity"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::VaultUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "vault_unavailable"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error) = self.parts();
        let message = match &self {
            Self::Internal(detail) | Self::Unavailable(detail) => {
                tracing::error!(%status, "{detail}");
                self.to_string()
            }
            other => other.to_string(),
        };
        let mut response = (status, Json(ErrorBody { error, message })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"portcullis\""),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            StoreError::Conflict { expected, actual } => Self::Conflict(format!(
                "version conflict: the request was based on version {expected}, the current version is {actual}"
            )),
            StoreError::AlreadyExists(what) => Self::Conflict(format!("{what} already exists")),
            StoreError::Limit(why) => Self::Conflict(why),
            StoreError::Invalid(why) => Self::BadRequest(why),
            StoreError::Backend(detail) => Self::Unavailable(detail),
        }
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;
