//! What can go wrong on a call, as one typed error with a gRPC code where one applies.

use tonic::Code;

/// Why a call did not produce a response.
///
/// [`ClientError::code`] maps each case onto the gRPC code a caller would act on, so a
/// node can treat "the appliance said no" and "the client gave up" the same way.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// An appliance's answer (after retries, where the code is retryable), or the
    /// transport's when none could be reached (`UNAVAILABLE`, with the reason). A
    /// request an appliance refuses as malformed (`INVALID_ARGUMENT`) arrives here
    /// unretried.
    #[error("status {:?}: {}", .0.code(), .0.message())]
    Status(tonic::Status),
    /// The request breaks a request-level rule (no profile, both transaction forms, too
    /// large for one batch); found locally, by the fallback's checks.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No appliance address is known: every DNS name resolved to nothing so far, or
    /// the configuration names none (local verification only).
    #[error("no appliance endpoint is known")]
    NoEndpoints,
    /// The configuration cannot work: a bad endpoint, TLS material that does not parse,
    /// a zero where a count is needed.
    #[error("client configuration: {0}")]
    Config(String),
    /// The local CPU fallback could not run (its worker threads would not start, or it
    /// dropped the work).
    #[error("local fallback failed: {0}")]
    Fallback(String),
    /// The call's deadline passed before any appliance answered.
    #[error("deadline exceeded before an appliance answered")]
    Timeout,
    /// The pipeline's stream ended (or the pipeline was dropped) before this request's
    /// response arrived.
    #[error("the verification stream closed before the response arrived")]
    StreamClosed,
}

impl ClientError {
    /// The gRPC code this outcome corresponds to; `None` for configuration errors,
    /// which are not call outcomes.
    pub fn code(&self) -> Option<Code> {
        match self {
            ClientError::Status(status) => Some(status.code()),
            ClientError::InvalidRequest(_) => Some(Code::InvalidArgument),
            ClientError::NoEndpoints | ClientError::StreamClosed => Some(Code::Unavailable),
            ClientError::Config(_) => None,
            ClientError::Fallback(_) => Some(Code::Internal),
            ClientError::Timeout => Some(Code::DeadlineExceeded),
        }
    }

    /// Whether the failure says nothing about the request itself, only that no
    /// appliance served it: another appliance, or the local fallback, may.
    pub(crate) fn unserved(&self) -> bool {
        matches!(
            self.code(),
            Some(Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let shed = ClientError::Status(tonic::Status::resource_exhausted("busy"));
        assert_eq!(shed.code(), Some(Code::ResourceExhausted));
        assert!(shed.unserved());
        let bad = ClientError::Status(tonic::Status::invalid_argument("no profile"));
        assert_eq!(bad.code(), Some(Code::InvalidArgument));
        assert!(!bad.unserved());
        assert!(ClientError::Timeout.unserved());
        assert!(ClientError::StreamClosed.unserved());
        assert!(!ClientError::InvalidRequest("x".into()).unserved());
        assert!(!ClientError::Fallback("x".into()).unserved());
        assert_eq!(ClientError::Config("x".into()).code(), None);
        assert!(shed.to_string().contains("busy"));
    }
}
