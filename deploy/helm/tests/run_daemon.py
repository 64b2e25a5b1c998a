"""Starts the real `vigil serve` on a rendered vigil.toml and checks it serves.

Usage: run_daemon.py VIGIL_BIN RENDERED.toml WORK_DIR

The file is used as the chart renders it, with two changes a pod would not need: the
addresses are overridden on the command line (--listen 127.0.0.1:0
--metrics-listen 127.0.0.1:0, so nothing listens beyond loopback and ports never
collide) and --backend cpu (no GPU here). When the file has a [tls] table, a CA, a
server certificate and a client CA are made with `cryptography` in WORK_DIR and the
/etc/vigil/tls/ paths point there. Then: the daemon must print its listening line,
GET /healthz on its metrics port must answer 200 "serving", with TLS the gRPC port
must present the certificate made for it, and after SIGTERM it must
exit 0 within its grace period.
"""

import datetime
import json
import signal
import ssl
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

START_SECONDS = 60
TLS_DIR_IN_POD = "/etc/vigil/tls/"


def certificate(subject, issuer, key, issuer_key, is_ca, names=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True))
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_tls_files(directory):
    """tls.crt, tls.key and client-ca.crt as cert-manager's Secret would give them."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("vigil test CA", "vigil test CA", ca_key, ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = certificate("vigil", "vigil test CA", key, ca_key, False, ["localhost", "vigil"])
    pem = serialization.Encoding.PEM
    (directory / "tls.crt").write_bytes(cert.public_bytes(pem))
    (directory / "tls.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (directory / "client-ca.crt").write_bytes(ca.public_bytes(pem))


def healthz(metrics_address):
    url = f"http://{metrics_address}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def main():
    vigil, toml_path, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    text = toml_path.read_text()
    config = tomllib.loads(text)
    if "tls" in config:
        make_tls_files(work / "tls")
        text = text.replace(TLS_DIR_IN_POD, str(work / "tls") + "/")
    config_file = work / toml_path.name
    config_file.write_text(text)

    command = [vigil, "serve", "--config", str(config_file), "--listen", "127.0.0.1:0",
               "--metrics-listen", "127.0.0.1:0", "--backend", "cpu"]
    with open(work / "stderr.log", "w") as log:
        daemon = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            line = daemon.stdout.readline()
            if not line:
                raise SystemExit(f"FAIL: {toml_path.name}: vigil serve exited "
                                 f"({daemon.wait()}): {(work / 'stderr.log').read_text()}")
            listening = json.loads(line)
            assert listening["event"] == "listening", line
            deadline = time.monotonic() + START_SECONDS
            status = None
            while time.monotonic() < deadline:
                status, body = healthz(listening["metrics"])
                if status == 200 and body.strip() == "serving":
                    break
                time.sleep(0.2)
            else:
                raise SystemExit(f"FAIL: {toml_path.name}: /healthz answered {status}, "
                                 f"not 200, within {START_SECONDS} s")
            if "tls" in config:
                host, port = listening["grpc"].rsplit(":", 1)
                served = ssl.get_server_certificate((host, int(port)), timeout=5)
                wanted = (work / "tls" / "tls.crt").read_text()
                if ssl.PEM_cert_to_DER_cert(served) != ssl.PEM_cert_to_DER_cert(wanted):
                    raise SystemExit(f"FAIL: {toml_path.name}: the gRPC port does not "
                                     "present the mounted certificate")
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=config["shutdown_grace_secs"] + 10)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
    if code != 0:
        raise SystemExit(f"FAIL: {toml_path.name}: exit status {code} after SIGTERM: "
                         f"{(work / 'stderr.log').read_text()}")
    print(f"ok: vigil serve accepts {toml_path.name}: served, healthy, drained on SIGTERM")


if __name__ == "__main__":
    main()
