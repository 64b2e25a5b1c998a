//! TLS and mutual TLS, end to end: certificates made for the test, a real appliance.

// Test support functions: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::{assert_verdicts, request, Appliance};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use vigil_core::Profile;
use vigil_proto::v1::verifier_client::VerifierClient;

struct Pki {
    dir: PathBuf,
    ca_pem: String,
    client: (String, String),
    rogue_client: (String, String),
}

fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn pki(tag: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("vigil-tls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = make_ca("vigil test CA");
    let rogue = make_ca("rogue CA");
    let server = leaf(
        &ca,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), &server.0).unwrap();
    std::fs::write(dir.join("server.key"), &server.1).unwrap();
    Pki {
        ca_pem: ca.pem(),
        client: leaf(&ca, &["node-1"], ExtendedKeyUsagePurpose::ClientAuth),
        rogue_client: leaf(&rogue, &["node-x"], ExtendedKeyUsagePurpose::ClientAuth),
        dir,
    }
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

async fn tls_client(
    app: &Appliance,
    ca_pem: &str,
    identity: Option<&(String, String)>,
) -> Result<VerifierClient<Channel>, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = Channel::from_shared(format!("https://{}", app.grpc))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(VerifierClient::new(channel))
}

/// Health over TLS is not what common::wait_serving speaks, so wait by trying.
async fn wait_tls_ready(app: &Appliance, ca_pem: &str, identity: Option<&(String, String)>) {
    for _ in 0..600 {
        if let Ok(mut c) = tls_client(app, ca_pem, identity).await {
            if c.devices(vigil_proto::v1::DevicesRequest {}).await.is_ok()
                && c.verify(request(0, Profile::Strict, 1, 1, false, 0))
                    .await
                    .is_ok()
            {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("TLS appliance never became ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_and_plaintext_clients_are_refused() {
    let pki = pki("tls");
    let app = Appliance::spawn(&[
        "--tls-cert",
        &path(&pki.dir, "server.pem"),
        "--tls-key",
        &path(&pki.dir, "server.key"),
    ]);
    wait_tls_ready(&app, &pki.ca_pem, None).await;
    let mut client = tls_client(&app, &pki.ca_pem, None).await.unwrap();
    let req = request(1, Profile::Rfc8032, 10, 2, false, 1);
    let resp = client.verify(req.clone()).await.unwrap().into_inner();
    assert_verdicts(&req, &resp);
    // A plaintext client gets no service.
    let plain = Channel::from_shared(app.url()).unwrap().connect().await;
    if let Ok(channel) = plain {
        let mut c = VerifierClient::new(channel);
        assert!(c.verify(req).await.is_err());
    }
    std::fs::remove_dir_all(&pki.dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_clients_without_an_accepted_certificate() {
    let pki = pki("mtls");
    let app = Appliance::spawn(&[
        "--tls-cert",
        &path(&pki.dir, "server.pem"),
        "--tls-key",
        &path(&pki.dir, "server.key"),
        "--tls-client-ca",
        &path(&pki.dir, "ca.pem"),
    ]);
    wait_tls_ready(&app, &pki.ca_pem, Some(&pki.client)).await;
    let req = request(1, Profile::Strict, 5, 1, true, 1);

    // A client with a certificate from the accepted CA is served.
    let mut good = tls_client(&app, &pki.ca_pem, Some(&pki.client))
        .await
        .unwrap();
    let resp = good.verify(req.clone()).await.unwrap().into_inner();
    assert_verdicts(&req, &resp);

    // No client certificate: refused (at the handshake or on the first call).
    match tls_client(&app, &pki.ca_pem, None).await {
        Err(_) => {}
        Ok(mut c) => assert!(
            c.verify(req.clone()).await.is_err(),
            "served without a certificate"
        ),
    }
    // A certificate from another CA: refused.
    match tls_client(&app, &pki.ca_pem, Some(&pki.rogue_client)).await {
        Err(_) => {}
        Ok(mut c) => assert!(
            c.verify(req.clone()).await.is_err(),
            "served a rogue certificate"
        ),
    }
    // The good client is still served afterwards.
    assert!(good.verify(req).await.is_ok());
    std::fs::remove_dir_all(&pki.dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_that_never_finishes_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pki = pki("handshake");
    let app = Appliance::spawn(&[
        "--tls-cert",
        &path(&pki.dir, "server.pem"),
        "--tls-key",
        &path(&pki.dir, "server.key"),
        "--handshake-timeout-ms",
        "500",
    ]);
    wait_tls_ready(&app, &pki.ca_pem, None).await;
    // One connection silent, one with the first bytes of a ClientHello only.
    let mut silent = tokio::net::TcpStream::connect(app.grpc).await.unwrap();
    let mut partial = tokio::net::TcpStream::connect(app.grpc).await.unwrap();
    partial.write_all(&[0x16, 0x03, 0x01, 0x00]).await.unwrap();
    for stream in [&mut silent, &mut partial] {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("the server should close a stalled handshake");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
    // Served as before.
    let mut client = tls_client(&app, &pki.ca_pem, None).await.unwrap();
    let req = request(1, Profile::Strict, 4, 1, false, 1);
    assert_verdicts(
        &req,
        &client.verify(req.clone()).await.unwrap().into_inner(),
    );
    std::fs::remove_dir_all(&pki.dir).unwrap();
}
