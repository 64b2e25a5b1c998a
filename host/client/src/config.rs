//! The client's settings.

use std::path::Path;
use std::time::Duration;

use crate::error::ClientError;

/// How a [`crate::Client`] reaches its appliances and what it does when they fail.
///
/// Start from [`ClientConfig::new`] (or `Default`) and set what differs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Appliances: `http://host:port`, `https://host:port` or `dns://host:port` (see
    /// [`crate::EndpointSpec`]). Calls are balanced round-robin over all of them.
    pub endpoints: Vec<String>,
    /// TLS settings; `None` means plaintext. With TLS, every endpoint must be `https://`
    /// or `dns://`.
    pub tls: Option<TlsConfig>,
    /// Deadline of a call when none is given: it bounds every attempt and the backoff
    /// between them, and is sent to the appliance as `grpc-timeout`. Default 5 s.
    pub deadline: Duration,
    /// Most appliances (or tries of one) a call makes before giving up. Default 3.
    pub attempts: usize,
    /// Verify on this machine's CPU when no appliance could serve a request (every
    /// attempt failed as unavailable, overloaded or out of time, or no appliance is
    /// known). Off by default: a node must choose knowingly to spend its own CPU, and a
    /// node that turns it on never sees those failures, only slower answers whose
    /// `backend` is `local-cpu`. The fallback gives exactly the appliance's verdicts: it
    /// runs the same request conversion and the reference-exact CPU backend.
    pub local_fallback: bool,
    /// Worker threads of the local fallback (`None`: one per core). The pool is started
    /// on the first fallback, not before.
    pub fallback_threads: Option<usize>,
    /// How often `dns://` names are resolved again. Default 30 s.
    pub resolve_interval: Duration,
    /// How long connecting to one appliance may take. Default 1 s (appliances sit on
    /// the node's network; a slower connect is a failure worth moving on from).
    pub connect_timeout: Duration,
    /// How long an appliance that failed to connect or answered `UNAVAILABLE` is skipped
    /// by the round-robin (unless every appliance is). Default 2 s.
    pub down_backoff: Duration,
    /// Pause before the second attempt of a call, doubled before each further one and
    /// cut short by the deadline. Default 10 ms.
    pub retry_backoff: Duration,
    /// Largest message sent or received, in bytes. Default 64 MiB.
    pub max_message_bytes: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            endpoints: Vec::new(),
            tls: None,
            deadline: Duration::from_secs(5),
            attempts: 3,
            local_fallback: false,
            fallback_threads: None,
            resolve_interval: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(1),
            down_backoff: Duration::from_secs(2),
            retry_backoff: Duration::from_millis(10),
            max_message_bytes: 64 << 20,
        }
    }
}

impl ClientConfig {
    /// The defaults, with these endpoints.
    pub fn new<S: Into<String>>(endpoints: impl IntoIterator<Item = S>) -> ClientConfig {
        ClientConfig {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            ..ClientConfig::default()
        }
    }

    /// Refuses settings that cannot work.
    pub(crate) fn validate(&self) -> Result<(), ClientError> {
        let bad = |why: &str| Err(ClientError::Config(why.to_string()));
        if self.endpoints.is_empty() && !self.local_fallback {
            return bad("no endpoints given");
        }
        if self.attempts == 0 {
            return bad("attempts must be at least 1");
        }
        if self.deadline.is_zero() {
            return bad("the default deadline must be longer than zero");
        }
        if self.connect_timeout.is_zero() {
            return bad("the connect timeout must be longer than zero");
        }
        if self.resolve_interval.is_zero() {
            return bad("the DNS re-resolve interval must be longer than zero");
        }
        if self.fallback_threads == Some(0) {
            return bad("fallback threads must be at least 1");
        }
        if self.max_message_bytes == 0 {
            return bad("the message size limit must be at least 1 byte");
        }
        Ok(())
    }
}

/// TLS towards the appliances.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// PEM of the CA certificate(s) the appliances' certificates must chain to.
    /// Required: this build has no built-in root store.
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate and key for mutual TLS.
    pub identity: Option<ClientIdentity>,
    /// The name the appliances' certificates must carry, when it is not the endpoint's
    /// host (for example when endpoints are IP addresses).
    pub domain: Option<String>,
}

/// A client certificate chain and its private key, both PEM.
#[derive(Clone)]
pub struct ClientIdentity {
    /// Certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// Private key, PEM.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("ClientIdentity")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl TlsConfig {
    /// Reads the PEM files named (as command-line tools take them). A certificate
    /// without its key, or a key without its certificate, is an error.
    pub fn from_files(
        ca: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
        domain: Option<String>,
    ) -> Result<TlsConfig, ClientError> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|e| ClientError::Config(format!("cannot read {}: {e}", path.display())))
        };
        let identity = match (cert, key) {
            (Some(cert), Some(key)) => Some(ClientIdentity {
                cert_pem: read(cert)?,
                key_pem: read(key)?,
            }),
            (None, None) => None,
            _ => {
                return Err(ClientError::Config(
                    "a client certificate and its key go together: give both or neither".into(),
                ))
            }
        };
        Ok(TlsConfig {
            ca_pem: ca.map(read).transpose()?,
            identity,
            domain,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(ClientConfig::new(["http://a:1"]).validate().is_ok());
        assert!(ClientConfig::new(Vec::<String>::new()).validate().is_err());
        let local_only = ClientConfig {
            local_fallback: true,
            ..ClientConfig::default()
        };
        assert!(local_only.validate().is_ok());
        for broken in [
            ClientConfig {
                attempts: 0,
                ..ClientConfig::new(["http://a:1"])
            },
            ClientConfig {
                deadline: Duration::ZERO,
                ..ClientConfig::new(["http://a:1"])
            },
            ClientConfig {
                fallback_threads: Some(0),
                ..ClientConfig::new(["http://a:1"])
            },
        ] {
            assert!(matches!(broken.validate(), Err(ClientError::Config(_))));
        }
        assert!(TlsConfig::from_files(None, Some(Path::new("c.pem")), None, None).is_err());
        let key = ClientIdentity {
            cert_pem: vec![1],
            key_pem: b"SECRET".to_vec(),
        };
        assert!(!format!("{key:?}").contains("SECRET"));
    }
}
