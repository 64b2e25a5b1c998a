//! The one table from what went wrong to the gRPC status a client sees.
//!
//! Clients act on the code, not the message: INVALID_ARGUMENT means "fix the request,
//! do not retry"; RESOURCE_EXHAUSTED and UNAVAILABLE mean "try another appliance or
//! later"; DEADLINE_EXCEEDED means the work was not done in time. Every failure the
//! service can report passes through [`ServeError`] so the mapping lives here only.

use tonic::{Code, Status};

/// A request-level failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServeError {
    /// The request breaks the protocol's rules (no profile, both forms, bad index...).
    #[error("{0}")]
    InvalidArgument(String),
    /// Admission control refused the request to keep memory bounded and share fairly.
    #[error("appliance is shedding load: {0}")]
    Shed(String),
    /// No healthy backend can serve (still starting, or every backend failed).
    #[error("no backend can serve: {0}")]
    Unavailable(String),
    /// The request's deadline passed before its verdicts were ready.
    #[error("deadline exceeded before the verdicts were ready")]
    DeadlineExceeded,
    /// The appliance is shutting down and accepts no new work.
    #[error("appliance is shutting down")]
    ShuttingDown,
    /// A stream message refused from its framing alone (over the size limit, or
    /// compressed when no compression is accepted): OUT_OF_RANGE or INTERNAL, as tonic
    /// answers the same on a unary call.
    #[error("{0}")]
    Frame(super::frames::RejectReason),
    /// A stream message that does not decode as a request (INTERNAL, as tonic answers
    /// the same on a unary call).
    #[error("request does not decode: {0}")]
    Undecodable(String),
    /// A bug: the service broke its own invariants.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServeError {
    /// The gRPC code for this failure: the table.
    pub fn code(&self) -> Code {
        match self {
            ServeError::InvalidArgument(_) => Code::InvalidArgument,
            ServeError::Shed(_) => Code::ResourceExhausted,
            ServeError::Unavailable(_) | ServeError::ShuttingDown => Code::Unavailable,
            ServeError::DeadlineExceeded => Code::DeadlineExceeded,
            ServeError::Frame(reason) => reason.code(),
            ServeError::Undecodable(_) | ServeError::Internal(_) => Code::Internal,
        }
    }
}

impl From<ServeError> for Status {
    fn from(e: ServeError) -> Status {
        Status::new(e.code(), e.to_string())
    }
}

impl From<vigil_proto::convert::RequestError> for ServeError {
    fn from(e: vigil_proto::convert::RequestError) -> ServeError {
        ServeError::InvalidArgument(e.to_string())
    }
}

/// The metric label of a gRPC code (`OK`, `INVALID_ARGUMENT`, ...), as grpc names it.
pub fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            (
                ServeError::InvalidArgument("x".into()),
                Code::InvalidArgument,
            ),
            (ServeError::Shed("full".into()), Code::ResourceExhausted),
            (ServeError::Unavailable("none".into()), Code::Unavailable),
            (ServeError::ShuttingDown, Code::Unavailable),
            (ServeError::DeadlineExceeded, Code::DeadlineExceeded),
            (ServeError::Internal("bug".into()), Code::Internal),
        ];
        for (e, code) in cases {
            let status = Status::from(e.clone());
            assert_eq!(status.code(), code, "{e}");
            assert_eq!(status.message(), e.to_string());
        }
        assert_eq!(code_label(Code::ResourceExhausted), "RESOURCE_EXHAUSTED");
    }
}
