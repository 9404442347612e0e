"""The sender's HTTP/1.1 against a TLS receiver that answers in the ways HTTP allows: the
certificate is verified for the URL's host (an untrusted one is a failed attempt), 1xx answers
are skipped, chunked and length-framed bodies are read (4 KiB kept), a kept connection serves
the next delivery, and one the receiver closes is replaced."""

import asyncio
import datetime
import ssl
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from relasi.resolvers.webhooks import sender
from relasi.resolvers.webhooks.delivery import Config

# the answers, in turn, on one connection; the last closes it
ANSWERS = [
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: a\r\n\r\n",
    b"HTTP/1.1 410 Gone\r\nContent-Length: 4\r\n\r\ngone",
    b"HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\n" + b"x" * 5_000,
]


class _Box:
    def open(self, endpoint_id, sealed) -> str:
        return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _certificate(name: str, issuer=None):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    built = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[1].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer:
        built = built.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        )
    return key, built.sign(issuer[0] if issuer else key, hashes.SHA256())


def _pem(tmp_path, name: str, data: bytes) -> str:
    (tmp_path / name).write_bytes(data)
    return str(tmp_path / name)


async def test_tls_framing_and_kept_connections(tmp_path, monkeypatch):
    ca = _certificate("Test CA")
    key, leaf = _certificate("localhost", ca)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(
        _pem(tmp_path, "leaf.pem", leaf.public_bytes(serialization.Encoding.PEM)),
        _pem(
            tmp_path,
            "key.pem",
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        ),
    )
    ca_file = _pem(tmp_path, "ca.pem", ca[1].public_bytes(serialization.Encoding.PEM))
    heads: list[bytes] = []

    async def answer(reader, writer):
        for reply in ANSWERS:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            heads.append(head)
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            writer.write(reply)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    config = Config(
        box=_Box(),
        allowed_hosts=frozenset({"localhost"}),
        timeout=5,
        retry_scale=1,
        endpoint_concurrency=4,
    )
    claimed = {
        "url": f"https://localhost:{port}/hook?to=us",
        "endpoint_id": uuid.uuid4(),
        "secret": "sealed",
        "previous_secret": None,
        "previous_secret_until": None,
        "id": uuid.uuid4(),
        "body": '{"type": "contact.created"}',
    }
    try:
        async with sender.Sender(config) as untrusting:  # the public CA bundle: refused
            refused = await untrusting.post(claimed)
        assert refused.status_code is None and "CERTIFICATE_VERIFY_FAILED" in refused.error

        monkeypatch.setattr(sender, "_tls", lambda: ssl.create_default_context(cafile=ca_file))
        async with sender.Sender(config) as trusting:
            outcomes = [await trusting.post(claimed) for _ in range(4)]
    finally:
        server.close()
    assert [(o.status_code, o.excerpt) for o in outcomes] == [
        (200, "hello world"),
        (410, "gone"),
        (500, "x" * 4_096),
        (200, "hello world"),  # on a new connection: the last was closed
    ]
    assert all(o.error is None for o in outcomes)
    assert heads[-1].startswith(b"POST /hook?to=us HTTP/1.1\r\n")
    assert f"Host: localhost:{port}\r\n".encode() in heads[-1]
    assert b"webhook-signature: v1," in heads[-1]
