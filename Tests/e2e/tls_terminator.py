"""An HTTPS front for the rig: a throwaway certificate authority, and a loopback server that
completes TLS with a certificate of that authority and relays the bytes, unchanged, to a plain
HTTP upstream (moto). The Host header a client signed reaches moto as sent, so SigV4 still holds.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_authority(directory: Path) -> tuple[Path, Path, Path]:
    """(authority certificate, server certificate, server key) as PEM files in `directory`; the
    server certificate names localhost and 127.0.0.1."""
    now = dt.datetime.now(dt.timezone.utc)
    authority_key = ec.generate_private_key(ec.SECP256R1())
    authority = (x509.CertificateBuilder()
                 .subject_name(_name("rig test authority")).issuer_name(_name("rig test authority"))
                 .public_key(authority_key.public_key()).serial_number(x509.random_serial_number())
                 .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                 .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                 .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                              content_commitment=False, key_encipherment=False, data_encipherment=False,
                                              key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
                 .sign(authority_key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder()
              .subject_name(_name("localhost")).issuer_name(authority.subject)
              .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
              .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .sign(authority_key, hashes.SHA256()))
    paths = directory / "authority.pem", directory / "server.pem", directory / "server-key.pem"
    paths[0].write_bytes(authority.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return paths


class TLSTerminator:
    """Serves TLS on 127.0.0.1 and relays each connection to `upstream` ("http://host:port").
    Counts the handshakes that completed and those that failed."""

    def __init__(self, upstream: str, certificate: Path, key: Path):
        host, _, port = upstream.removeprefix("http://").rstrip("/").partition(":")
        self.upstream = (host, int(port))
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certificate, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        self.handshakes = 0
        self.failed_handshakes = 0
        self.lock = threading.Lock()
        self.accepting = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> "TLSTerminator":
        self.accepting.start()
        return self

    def __exit__(self, *exc) -> None:
        self.listener.close()
        self.accepting.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            secure = self.context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            with self.lock:
                self.failed_handshakes += 1
            client.close()
            return
        with self.lock:
            self.handshakes += 1
        upstream = socket.create_connection(self.upstream)
        back = threading.Thread(target=self._pump, args=(upstream, secure), daemon=True)
        back.start()
        self._pump(secure, upstream)
        back.join(timeout=5)
        for end in (secure, upstream):
            end.close()

    @staticmethod
    def _pump(source: socket.socket, destination: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                destination.sendall(data)
        except OSError:
            pass
        try:
            destination.shutdown(socket.SHUT_WR)
        except OSError:
            pass
