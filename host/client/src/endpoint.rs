//! Endpoint strings, and the channels built from them.
//!
//! Three forms, each `scheme://host:port` with no path, query or user part:
//!
//! * `http://host:port`: one appliance, plaintext;
//! * `https://host:port`: one appliance over TLS (the certificate is checked against
//!   `host` unless a domain override is configured);
//! * `dns://host:port` (also gRPC's `dns:///host:port`): every A/AAAA address `host`
//!   resolves to, one channel each, re-resolved periodically: what a headless
//!   Kubernetes Service gives. TLS is used for these exactly when the client has a TLS
//!   configuration, and each address's certificate is checked against `host`.
//!
//! The port is required: appliances have no conventional one, and a silent default
//! would connect to the wrong service. Mixing plaintext and TLS is refused rather than
//! quietly downgraded: an `http://` endpoint with TLS configured, or an `https://` one
//! without, is a configuration error.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::config::TlsConfig;
use crate::error::ClientError;

/// One configured endpoint, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointSpec {
    /// One appliance at a fixed name or address (`http://` or `https://`).
    Static {
        /// Whether the scheme is `https`.
        tls: bool,
        /// Host name or IP address (IPv6 without brackets).
        host: String,
        /// TCP port.
        port: u16,
    },
    /// Every address a DNS name resolves to (`dns://`).
    Dns {
        /// The name to resolve (or an IP address, which resolves to itself).
        host: String,
        /// TCP port of every address.
        port: u16,
    },
}

impl EndpointSpec {
    /// Parses one endpoint string (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Result<EndpointSpec, ClientError> {
        let text = text.trim();
        let bad = |why: &str| {
            ClientError::Config(format!(
                "endpoint `{text}`: {why} (write http://host:port, https://host:port or \
                 dns://host:port)"
            ))
        };
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(bad("no scheme"));
        };
        let scheme = scheme.to_ascii_lowercase();
        let rest = match scheme.as_str() {
            // gRPC's name syntax puts an empty authority before the name: dns:///host:port.
            "dns" => rest.strip_prefix('/').unwrap_or(rest),
            "http" | "https" => rest,
            _ => return Err(bad(&format!("unknown scheme `{scheme}`"))),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return Err(bad("only host and port may follow the scheme"));
        }
        let (host, port) = split_host_port(authority).map_err(|why| bad(&why))?;
        Ok(match scheme.as_str() {
            "dns" => EndpointSpec::Dns { host, port },
            _ => EndpointSpec::Static {
                tls: scheme == "https",
                host,
                port,
            },
        })
    }
}

impl fmt::Display for EndpointSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointSpec::Static { tls, host, port } => {
                let scheme = if *tls { "https" } else { "http" };
                write!(f, "{scheme}://{}:{port}", bracketed(host))
            }
            EndpointSpec::Dns { host, port } => write!(f, "dns://{}:{port}", bracketed(host)),
        }
    }
}

/// `host` with brackets if it is an IPv6 address, as a URI authority needs.
fn bracketed(host: &str) -> String {
    if host.parse::<Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn split_host_port(authority: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| "unclosed `[` in the host".to_string())?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!("`{host}` is not an IPv6 address"));
        }
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| "no port: the port is required".to_string())?;
        (host, port)
    } else {
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or_else(|| "no port: the port is required".to_string())?;
        if host.contains(':') {
            return Err("an IPv6 address must be written in brackets, [addr]:port".into());
        }
        if host.is_empty() {
            return Err("no host".into());
        }
        let name_chars = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if !name_chars || host.starts_with(['-', '.']) {
            return Err(format!("`{host}` is not a host name or address"));
        }
        (host, port)
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port number"))?;
    if port == 0 {
        return Err("port 0 cannot be connected to".into());
    }
    Ok((host.to_string(), port))
}

/// Builds lazily connecting channels with the client's transport settings.
#[derive(Debug, Clone)]
pub(crate) struct ChannelFactory {
    tls: Option<(ClientTlsConfig, Option<String>)>,
    connect_timeout: Duration,
}

impl ChannelFactory {
    /// Checks the TLS material once, so a bad certificate is a configuration error at
    /// start-up, not a connection failure on every call.
    pub(crate) fn new(
        tls: Option<&TlsConfig>,
        connect_timeout: Duration,
    ) -> Result<ChannelFactory, ClientError> {
        let tls = match tls {
            None => None,
            Some(t) => {
                let mut config = ClientTlsConfig::new();
                if let Some(ca) = &t.ca_pem {
                    // A PEM file with no certificate in it parses as an empty root set,
                    // which would fail every handshake later with a vaguer message.
                    if !contains(ca, b"-----BEGIN CERTIFICATE-----") {
                        return Err(ClientError::Config(
                            "TLS material: the CA file holds no PEM certificate".into(),
                        ));
                    }
                    config = config.ca_certificate(Certificate::from_pem(ca));
                }
                if let Some(id) = &t.identity {
                    config = config.identity(Identity::from_pem(&id.cert_pem, &id.key_pem));
                }
                if t.ca_pem.is_none() {
                    // This build carries no public root store (no webpki or native roots).
                    return Err(ClientError::Config(
                        "TLS needs a CA certificate (ca_pem) to check the appliances' \
                         certificates: this build has no built-in root store"
                            .into(),
                    ));
                }
                // Building a connector parses the certificates and the key.
                Endpoint::from_static("https://localhost:1")
                    .tls_config(config.clone())
                    .map_err(|e| {
                        ClientError::Config(format!("TLS material: {}", source_chain(&e)))
                    })?;
                Some((config, t.domain.clone()))
            }
        };
        Ok(ChannelFactory {
            tls,
            connect_timeout,
        })
    }

    /// Whether channels use TLS.
    pub(crate) fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Refuses a static endpoint whose scheme disagrees with the TLS configuration.
    pub(crate) fn check(&self, spec: &EndpointSpec) -> Result<(), ClientError> {
        match spec {
            EndpointSpec::Static { tls: true, .. } if !self.tls() => {
                Err(ClientError::Config(format!(
                    "endpoint {spec} uses TLS but no TLS configuration (CA certificate) is given"
                )))
            }
            EndpointSpec::Static { tls: false, .. } if self.tls() => Err(ClientError::Config(
                format!("endpoint {spec} is plaintext but TLS is configured: write https://"),
            )),
            _ => Ok(()),
        }
    }

    /// The URI of one appliance: a static endpoint's own, or one resolved address.
    pub(crate) fn uri(&self, spec: &EndpointSpec, addr: Option<SocketAddr>) -> String {
        match (spec, addr) {
            (_, Some(addr)) => {
                let scheme = if self.tls() { "https" } else { "http" };
                format!("{scheme}://{}", display_addr(addr))
            }
            (spec, None) => spec.to_string(),
        }
    }

    /// A lazily connecting channel to `uri`; `name` is the name its certificate must
    /// carry when it differs from the URI's host (a resolved address).
    pub(crate) fn channel(&self, uri: &str, name: Option<&str>) -> Result<Channel, ClientError> {
        let mut endpoint = Endpoint::from_shared(uri.to_string())
            .map_err(|e| ClientError::Config(format!("endpoint {uri}: {e}")))?
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            // Finds a dead connection (an appliance that vanished without closing it)
            // between calls, instead of on a call's deadline.
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(10));
        if let Some((config, domain)) = &self.tls {
            let mut config = config.clone();
            if let Some(domain) = domain.as_deref().or(name) {
                config = config.domain_name(domain);
            }
            endpoint = endpoint.tls_config(config).map_err(|e| {
                ClientError::Config(format!("endpoint {uri}: {}", source_chain(&e)))
            })?;
        }
        Ok(endpoint.connect_lazy())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// An address as a URI authority (`[v6]:port` for IPv6, an IPv4-mapped address unmapped).
fn display_addr(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("{v4}:{}", addr.port()),
            None => format!("[{v6}]:{}", addr.port()),
        },
        IpAddr::V4(v4) => format!("{v4}:{}", addr.port()),
    }
}

/// An error and its sources on one line (tonic's transport errors say little on top).
pub(crate) fn source_chain(err: &dyn std::error::Error) -> String {
    chain(err.to_string(), err.source())
}

/// `text`, then each error of the chain from `source` on, skipping repeats (tonic
/// wraps errors in layers that print the same words).
pub(crate) fn chain(
    mut text: String,
    mut source: Option<&(dyn std::error::Error + 'static)>,
) -> String {
    while let Some(s) = source {
        let piece = s.to_string();
        if !text.ends_with(&piece) {
            text.push_str(": ");
            text.push_str(&piece);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn ok(text: &str) -> EndpointSpec {
        EndpointSpec::parse(text).unwrap()
    }

    fn err(text: &str) -> String {
        match EndpointSpec::parse(text) {
            Err(ClientError::Config(why)) => why,
            other => panic!("{text} parsed as {other:?}"),
        }
    }

    #[test]
    fn the_three_forms() {
        assert_eq!(
            ok("http://10.0.0.1:50051"),
            EndpointSpec::Static {
                tls: false,
                host: "10.0.0.1".into(),
                port: 50051
            }
        );
        assert_eq!(
            ok(" HTTPS://vigil-0.example.net:443/ "),
            EndpointSpec::Static {
                tls: true,
                host: "vigil-0.example.net".into(),
                port: 443
            }
        );
        assert_eq!(
            ok("dns://vigil.default.svc.cluster.local:50051"),
            EndpointSpec::Dns {
                host: "vigil.default.svc.cluster.local".into(),
                port: 50051
            }
        );
        assert_eq!(ok("dns:///vigil:7"), ok("dns://vigil:7"));
        assert_eq!(
            ok("http://[::1]:50051"),
            EndpointSpec::Static {
                tls: false,
                host: "::1".into(),
                port: 50051
            }
        );
        for text in [
            "http://10.0.0.1:50051",
            "https://[fe80::1]:1",
            "dns://vigil_a.local:9",
        ] {
            assert_eq!(ok(text).to_string(), text);
        }
    }

    #[test]
    fn bad_endpoints_say_why() {
        assert!(err("10.0.0.1:50051").contains("no scheme"));
        assert!(err("grpc://x:1").contains("unknown scheme `grpc`"));
        assert!(err("http://x").contains("port is required"));
        assert!(err("dns://x").contains("port is required"));
        assert!(err("http://x:0").contains("port 0"));
        assert!(err("http://x:70000").contains("not a port number"));
        assert!(err("http://x:http").contains("not a port number"));
        assert!(err("http://:5").contains("no host"));
        assert!(err("http://x:5/v1").contains("only host and port"));
        assert!(err("http://user@x:5").contains("only host and port"));
        assert!(err("http://x:5?a=1").contains("only host and port"));
        assert!(err("http://::1:5").contains("brackets"));
        assert!(err("http://[::1:5").contains("unclosed"));
        assert!(err("http://[nope]:5").contains("not an IPv6"));
        assert!(err("http://[::1]").contains("port is required"));
        assert!(err("http://a b:5").contains("not a host name"));
        assert!(err("dns:////x:5").contains("only host and port"));
        // Every message shows the accepted forms.
        assert!(err("x").contains("dns://host:port"));
    }

    #[test]
    fn plaintext_and_tls_are_not_mixed() {
        let plain = ChannelFactory::new(None, Duration::from_secs(1)).unwrap();
        assert!(plain.check(&ok("http://a:1")).is_ok());
        assert!(plain.check(&ok("dns://a:1")).is_ok());
        assert!(matches!(
            plain.check(&ok("https://a:1")),
            Err(ClientError::Config(_))
        ));
        let no_ca = TlsConfig::default();
        assert!(matches!(
            ChannelFactory::new(Some(&no_ca), Duration::from_secs(1)),
            Err(ClientError::Config(why)) if why.contains("CA certificate")
        ));
        let garbage = TlsConfig {
            ca_pem: Some(b"not a certificate".to_vec()),
            ..TlsConfig::default()
        };
        assert!(matches!(
            ChannelFactory::new(Some(&garbage), Duration::from_secs(1)),
            Err(ClientError::Config(why)) if why.contains("no PEM certificate")
        ));
    }

    #[test]
    fn resolved_addresses_become_uris() {
        let plain = ChannelFactory::new(None, Duration::from_secs(1)).unwrap();
        let spec = ok("dns://vigil:50051");
        let v4: SocketAddr = "10.1.2.3:50051".parse().unwrap();
        let v6: SocketAddr = "[fd00::7]:50051".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:10.1.2.3]:50051".parse().unwrap();
        assert_eq!(plain.uri(&spec, Some(v4)), "http://10.1.2.3:50051");
        assert_eq!(plain.uri(&spec, Some(v6)), "http://[fd00::7]:50051");
        assert_eq!(plain.uri(&spec, Some(mapped)), "http://10.1.2.3:50051");
        assert_eq!(plain.uri(&ok("http://a:1/"), None), "http://a:1");
    }
}
