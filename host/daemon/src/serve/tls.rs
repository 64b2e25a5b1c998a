//! The rustls server configuration of `vigil serve --tls-cert C --tls-key K
//! [--tls-client-ca CA]`, built with errors an operator can act on.
//!
//! Why this exists rather than tonic's `ServerTlsConfig`:
//!
//! * **Errors name the file and the problem.** Handing PEM bytes to tonic turns a key
//!   file that holds a certificate, a truncated certificate or a key of another pair into
//!   messages such as "peer sent no certificates", naming neither the file nor what is
//!   wrong with it. Here every file is read and checked on its own, in order (the
//!   certificate chain, the key, that they belong together, the client CA), and the
//!   first problem found is a [`TlsError`] that names the file's path and what is wrong.
//! * **The handshake is ours**, done with `tokio-rustls` on the accepted connection, so
//!   it can be given a time limit: a client that opens a connection and never finishes
//!   the handshake must not hold it open for ever.
//!
//! The configuration uses the ring provider explicitly (never the process-wide default,
//! which panics when none or two are installed), rustls's safe default protocol versions
//! (TLS 1.3 and 1.2), and ALPN `h2` only: gRPC is HTTP/2. With a client CA, every client
//! must present a certificate that chains to it (mutual TLS).

use std::fmt;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject as _, SectionKind};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ParsedCertificate, WebPkiClientVerifier};
use tokio_rustls::rustls::sign::{CertifiedKey, SingleCertAndKey};
use tokio_rustls::rustls::{self, CertificateError, InconsistentKeys, RootCertStore, ServerConfig};

use super::config::TlsFiles;

/// Largest TLS file read, in bytes: far above any certificate chain or CA bundle (the
/// Mozilla bundle is about 250 KB), and small enough that pointing a flag at a device or
/// a disk image fails at once instead of filling memory.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// The ALPN protocol offered: gRPC runs over HTTP/2 only.
pub const ALPN_H2: &[u8] = b"h2";

/// Which of the TLS files a [`TlsError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `--tls-cert` / `tls.cert`: the server's certificate chain.
    Certificate,
    /// `--tls-key` / `tls.key`: the server's private key.
    Key,
    /// `--tls-client-ca` / `tls.client_ca`: the CA client certificates must chain to.
    ClientCa,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Certificate => "certificate (--tls-cert)",
            Role::Key => "private key (--tls-key)",
            Role::ClientCa => "client CA (--tls-client-ca)",
        })
    }
}

/// Why the TLS configuration could not be built. Every variant about a file names its
/// path and its role; the first problem found is reported.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// TLS was asked for without both a certificate and a key.
    #[error("TLS needs both a certificate (--tls-cert) and a private key (--tls-key)")]
    MissingFiles,
    /// The file could not be opened or read.
    #[error("TLS {role} file {path} is unreadable: {source}")]
    Unreadable {
        /// Which file.
        role: Role,
        /// Its path.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("TLS {role} file {path} is too large for a PEM file (over {limit} bytes)")]
    TooLarge {
        /// Which file.
        role: Role,
        /// Its path.
        path: PathBuf,
        /// [`MAX_FILE_BYTES`].
        limit: u64,
    },
    /// The file is empty (or only white space).
    #[error("TLS {role} file {path} is empty")]
    Empty {
        /// Which file.
        role: Role,
        /// Its path.
        path: PathBuf,
    },
    /// The file holds no PEM block at all (DER, random bytes, some other format).
    #[error("TLS {role} file {path} is not PEM: it has no \"-----BEGIN ...-----\" block")]
    NotPem {
        /// Which file.
        role: Role,
        /// Its path.
        path: PathBuf,
    },
    /// A PEM block is malformed: no END line, a bad BEGIN line, bad base64.
    #[error("TLS {role} file {path} is malformed PEM: {reason}")]
    BadPem {
        /// Which file.
        role: Role,
        /// Its path.
        path: PathBuf,
        /// What is malformed.
        reason: String,
    },
    /// The file is PEM but holds no block of the kind needed (a key file with only
    /// certificates, a certificate file with only a key).
    #[error("TLS {role} file {path} holds no {expected}: it holds only {found}")]
    WrongKind {
        /// Which file.
        role: Role,
        /// Its path.
        path: PathBuf,
        /// What was needed, in words.
        expected: &'static str,
        /// The PEM labels found, comma-separated.
        found: String,
    },
    /// The key file holds an encrypted private key, which needs a passphrase.
    #[error(
        "TLS {role} file {path} holds an encrypted private key: give the key unencrypted \
         (e.g. `openssl pkey -in KEY -out KEY.plain`)"
    )]
    EncryptedKey {
        /// Which file.
        role: Role,
        /// Its path.
        path: PathBuf,
    },
    /// The key file holds more than one private key, so which one is meant is unclear.
    #[error("TLS {role} file {path} holds {count} private keys; it must hold exactly one")]
    SeveralKeys {
        /// Which file.
        role: Role,
        /// Its path.
        path: PathBuf,
        /// How many.
        count: usize,
    },
    /// A CERTIFICATE block does not parse as an X.509 certificate.
    #[error(
        "TLS {role} file {path}: certificate {index} is not a valid X.509 certificate \
         ({reason})"
    )]
    BadCertificate {
        /// Which file.
        role: Role,
        /// Its path.
        path: PathBuf,
        /// Its position in the file, from 1.
        index: usize,
        /// What the parser said.
        reason: String,
    },
    /// The private key is corrupt or of a type the ring provider does not support.
    #[error(
        "TLS {role} file {path} holds a private key that is corrupt or of an unsupported \
         type (supported: RSA, ECDSA P-256/P-384, Ed25519): {reason}"
    )]
    UnsupportedKey {
        /// Which file.
        role: Role,
        /// Its path.
        path: PathBuf,
        /// What the provider said.
        reason: String,
    },
    /// The private key is not the one the certificate was issued for.
    #[error(
        "TLS private key (--tls-key) file {key} does not match the certificate in {cert}: \
         their public keys differ"
    )]
    KeyMismatch {
        /// The certificate chain's path.
        cert: PathBuf,
        /// The key's path.
        key: PathBuf,
    },
    /// rustls refused the client CA bundle as a set of trust anchors.
    #[error("TLS {role} file {path} was refused as a set of trust anchors: {reason}")]
    CaRejected {
        /// Which file.
        role: Role,
        /// Its path.
        path: PathBuf,
        /// What rustls said.
        reason: String,
    },
    /// The ring provider offers no safe protocol version: a build problem, not a file's.
    #[error("the TLS provider (ring) cannot be configured: {0}")]
    Provider(rustls::Error),
}

/// The server configuration for `files`: the certificate chain and key (both required),
/// and with `client_ca`, mandatory client certificates verified against it. ALPN is
/// `h2`.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let (Some(cert_path), Some(key_path)) = (&files.cert, &files.key) else {
        return Err(TlsError::MissingFiles);
    };
    let provider = Arc::new(ring::default_provider());
    let chain = load_chain(cert_path)?;
    let key = load_key(key_path)?;
    let signing_key =
        provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| TlsError::UnsupportedKey {
                role: Role::Key,
                path: key_path.clone(),
                reason: match e {
                    rustls::Error::General(reason) => reason,
                    other => other.to_string(),
                },
            })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // A key that cannot give its public key cannot be compared; rustls accepts it.
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(_)) => {
            return Err(TlsError::KeyMismatch {
                cert: cert_path.clone(),
                key: key_path.clone(),
            })
        }
        Err(e) => {
            return Err(TlsError::BadCertificate {
                role: Role::Certificate,
                path: cert_path.clone(),
                index: 1,
                reason: certificate_problem(&e),
            })
        }
    }

    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Provider)?;
    let builder = match &files.client_ca {
        Some(ca_path) => {
            let roots = load_roots(ca_path)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::CaRejected {
                    role: Role::ClientCa,
                    path: ca_path.clone(),
                    reason: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    Ok(Arc::new(config))
}

/// Every CERTIFICATE block of the file, each parsed as X.509; at least one.
fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let role = Role::Certificate;
    let pem = read_pem(role, path)?;
    let chain = certificates(role, path, &pem)?;
    for (i, cert) in chain.iter().enumerate() {
        ParsedCertificate::try_from(cert).map_err(|e| TlsError::BadCertificate {
            role,
            path: path.to_path_buf(),
            index: i + 1,
            reason: certificate_problem(&e),
        })?;
    }
    Ok(chain)
}

/// The one private key of the file (PKCS#8, PKCS#1 or SEC1); other blocks are ignored,
/// so a file holding the key and its certificate works.
fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let role = Role::Key;
    let pem = read_pem(role, path)?;
    let mut keys: Vec<PrivateKeyDer<'static>> = pem
        .sections
        .into_iter()
        .filter_map(|(kind, der)| PrivateKeyDer::from_pem(kind, der))
        .collect();
    match keys.len() {
        1 => Ok(keys.remove(0)),
        0 if pem.labels.iter().any(|l| l == "ENCRYPTED PRIVATE KEY") => {
            Err(TlsError::EncryptedKey {
                role,
                path: path.to_path_buf(),
            })
        }
        0 => Err(TlsError::WrongKind {
            role,
            path: path.to_path_buf(),
            expected: "private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block)",
            found: pem.labels.join(", "),
        }),
        count => Err(TlsError::SeveralKeys {
            role,
            path: path.to_path_buf(),
            count,
        }),
    }
}

/// The client CA bundle as trust anchors; at least one.
fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let role = Role::ClientCa;
    let pem = read_pem(role, path)?;
    let mut roots = RootCertStore::empty();
    for (i, cert) in certificates(role, path, &pem)?.into_iter().enumerate() {
        roots.add(cert).map_err(|e| TlsError::BadCertificate {
            role,
            path: path.to_path_buf(),
            index: i + 1,
            reason: certificate_problem(&e),
        })?;
    }
    Ok(roots)
}

/// The CERTIFICATE blocks of `pem`, or an error saying what the file holds instead.
fn certificates(
    role: Role,
    path: &Path,
    pem: &Pem,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = pem
        .sections
        .iter()
        .filter(|(kind, _)| *kind == SectionKind::Certificate)
        .map(|(_, der)| CertificateDer::from(der.clone()))
        .collect();
    if certs.is_empty() {
        return Err(TlsError::WrongKind {
            role,
            path: path.to_path_buf(),
            expected: "certificate (CERTIFICATE block)",
            found: pem.labels.join(", "),
        });
    }
    Ok(certs)
}

/// A PEM file, decoded.
struct Pem {
    /// The blocks of kinds rustls knows, in file order.
    sections: Vec<(SectionKind, Vec<u8>)>,
    /// Every BEGIN label in the file, known or not, for error messages.
    labels: Vec<String>,
}

/// Reads at most [`MAX_FILE_BYTES`] of `path` and decodes its PEM blocks: at least one
/// BEGIN line, and every block well formed.
fn read_pem(role: Role, path: &Path) -> Result<Pem, TlsError> {
    let unreadable = |source| TlsError::Unreadable {
        role,
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(TlsError::TooLarge {
            role,
            path: path.to_path_buf(),
            limit: MAX_FILE_BYTES,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(TlsError::Empty {
            role,
            path: path.to_path_buf(),
        });
    }
    let labels = begin_labels(&bytes);
    if labels.is_empty() {
        return Err(TlsError::NotPem {
            role,
            path: path.to_path_buf(),
        });
    }
    let sections = <(SectionKind, Vec<u8>)>::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadPem {
            role,
            path: path.to_path_buf(),
            reason: pem_problem(&e),
        })?;
    Ok(Pem { sections, labels })
}

/// The label of every `-----BEGIN <label>-----` line, in order.
fn begin_labels(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == b'\n' || *b == b'\r')
        .filter_map(|line| line.strip_prefix(b"-----BEGIN "))
        .map(|rest| {
            let label = rest.split(|b| *b == b'-').next().unwrap_or_default();
            String::from_utf8_lossy(label).trim().to_string()
        })
        .collect()
}

/// What is wrong with a PEM file, in words.
fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "the {} block has no END line (is the file cut short?)",
            String::from_utf8_lossy(end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => format!(
            "malformed BEGIN line {:?}",
            String::from_utf8_lossy(line).trim_end()
        ),
        pem::Error::Base64Decode(detail) => {
            format!("a block's body is not valid base64 (garbled or cut short: {detail})")
        }
        other => other.to_string(),
    }
}

/// What is wrong with a certificate, in words (rustls's own Display speaks of a peer's
/// certificate, which this is not).
fn certificate_problem(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::BadEncoding) => {
            "its DER encoding is malformed".into()
        }
        rustls::Error::InvalidCertificate(other) => format!("{other:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio_rustls::rustls::pki_types::ServerName;
    use tokio_rustls::rustls::ClientConfig;
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    use super::*;

    /// A scratch directory with a CA, a server certificate and key it signed, a client
    /// certificate and key it signed, and a second, unrelated key.
    struct Pki {
        dir: PathBuf,
    }

    impl Pki {
        fn new(tag: &str) -> Pki {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "vigil-tls-unit-{tag}-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let ca = ca();
            let (server, server_key) = leaf(&ca, "localhost", ExtendedKeyUsagePurpose::ServerAuth);
            let (client, client_key) = leaf(&ca, "node-1", ExtendedKeyUsagePurpose::ClientAuth);
            let pki = Pki { dir };
            pki.write("ca.pem", ca.pem().as_bytes());
            pki.write("server.pem", server.as_bytes());
            pki.write("server.key", server_key.as_bytes());
            pki.write("client.pem", client.as_bytes());
            pki.write("client.key", client_key.as_bytes());
            let other = KeyPair::generate().unwrap().serialize_pem();
            pki.write("other.key", other.as_bytes());
            pki
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.join(name)
        }

        fn read(&self, name: &str) -> String {
            std::fs::read_to_string(self.path(name)).unwrap()
        }

        fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let path = self.path(name);
            std::fs::write(&path, bytes).unwrap();
            path
        }

        fn files(&self, cert: &str, key: &str, ca: Option<&str>) -> TlsFiles {
            TlsFiles {
                cert: Some(self.path(cert)),
                key: Some(self.path(key)),
                client_ca: ca.map(|c| self.path(c)),
                ..TlsFiles::default()
            }
        }
    }

    impl Drop for Pki {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn ca() -> CertifiedIssuer<'static, KeyPair> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "vigil unit CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
    }

    fn leaf(
        issuer: &CertifiedIssuer<'static, KeyPair>,
        name: &str,
        usage: ExtendedKeyUsagePurpose,
    ) -> (String, String) {
        let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// The error for `files`, whose message must name `path` and contain `word`.
    fn fails_naming(files: &TlsFiles, path: &Path, word: &str) -> TlsError {
        let err = match server_config(files) {
            Ok(_) => panic!("{files:?} should be refused"),
            Err(e) => e,
        };
        let text = err.to_string();
        assert!(
            text.contains(&path.display().to_string()),
            "{text:?} does not name {}",
            path.display()
        );
        assert!(text.contains(word), "{text:?} does not say {word:?}");
        err
    }

    #[test]
    fn a_good_pair_loads_with_and_without_a_client_ca() {
        let pki = Pki::new("good");
        let config = server_config(&pki.files("server.pem", "server.key", None)).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
        let mtls = server_config(&pki.files("server.pem", "server.key", Some("ca.pem"))).unwrap();
        assert_eq!(mtls.alpn_protocols, vec![b"h2".to_vec()]);
        // The chain may carry its issuer, and the key file its certificate.
        pki.write(
            "chain.pem",
            format!("{}{}", pki.read("server.pem"), pki.read("ca.pem")).as_bytes(),
        );
        pki.write(
            "both.key",
            format!("{}{}", pki.read("server.pem"), pki.read("server.key")).as_bytes(),
        );
        server_config(&pki.files("chain.pem", "both.key", Some("ca.pem"))).unwrap();
    }

    #[test]
    fn tls_needs_both_files() {
        let pki = Pki::new("missing-flags");
        let mut files = pki.files("server.pem", "server.key", None);
        files.key = None;
        assert!(matches!(server_config(&files), Err(TlsError::MissingFiles)));
        let files = TlsFiles {
            cert: None,
            ..pki.files("server.pem", "server.key", None)
        };
        assert!(matches!(server_config(&files), Err(TlsError::MissingFiles)));
    }

    #[test]
    fn unreadable_empty_and_non_pem_files_are_named() {
        let pki = Pki::new("unreadable");
        let missing = pki.path("nowhere.pem");
        let mut files = pki.files("nowhere.pem", "server.key", None);
        let e = fails_naming(&files, &missing, "unreadable");
        assert!(matches!(
            e,
            TlsError::Unreadable {
                role: Role::Certificate,
                ..
            }
        ));

        files.cert = Some(pki.write("empty.pem", b""));
        fails_naming(&files, &pki.path("empty.pem"), "empty");
        files.cert = Some(pki.write("blank.pem", b"\n \r\n"));
        fails_naming(&files, &pki.path("blank.pem"), "empty");

        let random: Vec<u8> = (0u32..4096)
            .map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()[2])
            .collect();
        files.cert = Some(pki.write("random.pem", &random));
        fails_naming(&files, &pki.path("random.pem"), "not PEM");

        let mut files = pki.files("server.pem", "random.pem", None);
        fails_naming(&files, &pki.path("random.pem"), "not PEM");
        files.key = Some(pki.path("empty.pem"));
        let e = fails_naming(&files, &pki.path("empty.pem"), "empty");
        assert!(matches!(
            e,
            TlsError::Empty {
                role: Role::Key,
                ..
            }
        ));
        files.key = Some(pki.path("nowhere.key"));
        fails_naming(&files, &pki.path("nowhere.key"), "unreadable");
        // A directory opens on Linux but cannot be read.
        files.key = Some(pki.dir.clone());
        fails_naming(&files, &pki.dir, "unreadable");
    }

    #[test]
    fn files_of_the_wrong_kind_are_named() {
        let pki = Pki::new("kind");
        // The certificate given as the key, and the key given as the certificate.
        let e = fails_naming(
            &pki.files("server.pem", "server.pem", None),
            &pki.path("server.pem"),
            "holds no private key",
        );
        assert!(e.to_string().contains("CERTIFICATE"), "{e}");
        assert!(e.to_string().contains("--tls-key"), "{e}");
        let e = fails_naming(
            &pki.files("server.key", "server.key", None),
            &pki.path("server.key"),
            "holds no certificate",
        );
        assert!(e.to_string().contains("PRIVATE KEY"), "{e}");
        assert!(e.to_string().contains("--tls-cert"), "{e}");

        // Two keys in one file, and an encrypted key.
        pki.write(
            "two.key",
            format!("{}{}", pki.read("server.key"), pki.read("other.key")).as_bytes(),
        );
        fails_naming(
            &pki.files("server.pem", "two.key", None),
            &pki.path("two.key"),
            "2 private keys",
        );
        pki.write(
            "encrypted.key",
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        );
        fails_naming(
            &pki.files("server.pem", "encrypted.key", None),
            &pki.path("encrypted.key"),
            "encrypted",
        );
        // A well-formed PKCS#8 block that is no key ring can load.
        pki.write(
            "junk.key",
            b"-----BEGIN PRIVATE KEY-----\nAAECAwQFBgcICQ==\n-----END PRIVATE KEY-----\n",
        );
        let e = fails_naming(
            &pki.files("server.pem", "junk.key", None),
            &pki.path("junk.key"),
            "unsupported",
        );
        assert!(matches!(e, TlsError::UnsupportedKey { .. }));
    }

    #[test]
    fn damaged_certificates_are_named() {
        let pki = Pki::new("damaged");
        let good = pki.read("server.pem");
        let lines: Vec<&str> = good.lines().collect();
        let (first, last) = (lines[0], lines[lines.len() - 1]);
        let body = &lines[1..lines.len() - 1];
        assert!(body.len() >= 4, "{good}");

        // Whole base64 lines dropped: valid base64, broken DER.
        let truncated = format!("{first}\n{}\n{}\n{last}\n", body[0], body[1]);
        pki.write("truncated.pem", truncated.as_bytes());
        let e = fails_naming(
            &pki.files("truncated.pem", "server.key", None),
            &pki.path("truncated.pem"),
            "not a valid X.509 certificate",
        );
        assert!(
            matches!(e, TlsError::BadCertificate { index: 1, .. }),
            "{e}"
        );

        // A character that is not base64 in the body.
        let mut garbled: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        garbled[2].replace_range(5..6, "!");
        pki.write("garbled.pem", (garbled.join("\n") + "\n").as_bytes());
        fails_naming(
            &pki.files("garbled.pem", "server.key", None),
            &pki.path("garbled.pem"),
            "base64",
        );

        // Cut off before the END line.
        pki.write("cut.pem", format!("{first}\n{}\n", body[0]).as_bytes());
        fails_naming(
            &pki.files("cut.pem", "server.key", None),
            &pki.path("cut.pem"),
            "no END line",
        );
    }

    #[test]
    fn a_key_of_another_pair_is_refused() {
        let pki = Pki::new("mismatch");
        let e = fails_naming(
            &pki.files("server.pem", "other.key", None),
            &pki.path("other.key"),
            "does not match",
        );
        assert!(e
            .to_string()
            .contains(&pki.path("server.pem").display().to_string()));
        assert!(matches!(e, TlsError::KeyMismatch { .. }));
    }

    #[test]
    fn bad_client_ca_files_are_named() {
        let pki = Pki::new("ca");
        pki.write("empty-ca.pem", b"");
        let e = fails_naming(
            &pki.files("server.pem", "server.key", Some("empty-ca.pem")),
            &pki.path("empty-ca.pem"),
            "empty",
        );
        assert!(matches!(
            e,
            TlsError::Empty {
                role: Role::ClientCa,
                ..
            }
        ));
        assert!(e.to_string().contains("--tls-client-ca"), "{e}");

        pki.write("garbage-ca.pem", b"this is not a certificate\n\x00\xff\x10");
        fails_naming(
            &pki.files("server.pem", "server.key", Some("garbage-ca.pem")),
            &pki.path("garbage-ca.pem"),
            "not PEM",
        );
        fails_naming(
            &pki.files("server.pem", "server.key", Some("server.key")),
            &pki.path("server.key"),
            "holds no certificate",
        );
        pki.write(
            "bad-der-ca.pem",
            b"-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n",
        );
        let e = fails_naming(
            &pki.files("server.pem", "server.key", Some("bad-der-ca.pem")),
            &pki.path("bad-der-ca.pem"),
            "not a valid X.509 certificate",
        );
        assert!(matches!(
            e,
            TlsError::BadCertificate {
                role: Role::ClientCa,
                ..
            }
        ));
        fails_naming(
            &pki.files("server.pem", "server.key", Some("missing-ca.pem")),
            &pki.path("missing-ca.pem"),
            "unreadable",
        );
    }

    /// A client config trusting `ca.pem`, offering h2, with the client certificate when
    /// `identity` is set.
    fn client(pki: &Pki, identity: bool) -> ClientConfig {
        let provider = Arc::new(ring::default_provider());
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(pki.path("ca.pem")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let mut config = if identity {
            let chain = CertificateDer::pem_file_iter(pki.path("client.pem"))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_file(pki.path("client.key")).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        config
    }

    /// One handshake over loopback TCP: the server's result, and the negotiated ALPN
    /// as the client saw it (`None` where the client's side failed).
    async fn handshake(
        server: Arc<ServerConfig>,
        client: ClientConfig,
    ) -> (Result<(), io::Error>, Option<Vec<u8>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut tls = TlsAcceptor::from(server).accept(tcp).await?;
            let mut buf = [0u8; 4];
            tls.read_exact(&mut buf).await?;
            tls.write_all(&buf).await?;
            tls.shutdown().await
        });
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let connected = TlsConnector::from(Arc::new(client))
            .connect(name, tcp)
            .await;
        let alpn = match connected {
            Ok(mut tls) => {
                let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                // With TLS 1.3 a refused client certificate shows on first use.
                let echoed = async {
                    tls.write_all(b"ping").await?;
                    let mut buf = [0u8; 4];
                    tls.read_exact(&mut buf).await?;
                    Ok::<_, io::Error>(buf)
                }
                .await;
                echoed.ok().filter(|b| b == b"ping").and(alpn)
            }
            Err(_) => None,
        };
        (accept.await.unwrap(), alpn)
    }

    #[tokio::test]
    async fn handshakes_negotiate_h2_and_mutual_tls_requires_a_client_certificate() {
        let pki = Pki::new("handshake");
        let plain = server_config(&pki.files("server.pem", "server.key", None)).unwrap();
        let (server, alpn) = handshake(plain, client(&pki, false)).await;
        server.unwrap();
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));

        let mtls = server_config(&pki.files("server.pem", "server.key", Some("ca.pem"))).unwrap();
        let (server, alpn) = handshake(mtls.clone(), client(&pki, true)).await;
        server.unwrap();
        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));

        let (server, alpn) = handshake(mtls, client(&pki, false)).await;
        assert!(
            server.is_err(),
            "a client without a certificate was accepted"
        );
        assert_eq!(alpn, None);
    }
}
